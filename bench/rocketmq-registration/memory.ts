/**
 * Memory per topic-on-broker entry of the compiled NameServer holding the fleet of part
 * rocketmq-registration (b), without the rest of that part: `BROKERS` brokers (replica sets of 2) ×
 * `TOPICS` topics, every topic on 8 replica sets, topic names of 35 characters, registered one broker
 * after the other, each on its own connection, either over REGISTER_BROKER (remoting, bodies as a 5.5.0
 * broker writes them) or over gRPC RegisterBroker (the same brokers, topics and queues). Bytes per entry
 * = (V8 heapUsed + external) after − before, after full GCs (bench/lib/probe.mjs), as main.ts measures.
 *
 *   node --import tsx bench/rocketmq-registration/memory.ts [remoting|grpc] [BROKERS] [TOPICS] [--snapshot DIR]
 *
 * With --snapshot, heap snapshots before and after are written to DIR and summarised (self size by
 * object kind, after − before). Prints one JSON line.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { Permission, MessageType } from '../../generated/nameserver/v1/common';
import { brokerClient, registerAll } from '../lib/cluster';
import { cpuSecondsOf, fmt, mib, note, probe, PROBE_FLAGS, rssOf, runMain, spawnNameServer, stopChild, type NsProcess } from '../lib/common';
import { diffSnapshots } from '../lib/heap';
import { registerBody, registerBroker, RemotingConn, type RmqBrokerId } from '../lib/remoting';

const [modeArg = 'remoting', brokersArg = '1000', topicsArg = '1000', flag, dirArg] = process.argv.slice(2);
const MODE = modeArg as 'remoting' | 'grpc';
const BROKERS = Number(brokersArg);
const TOPICS = Number(topicsArg);
const SETS_PER_TOPIC = 8;
const LEASE_MS = 300_000;

/** The names of main.ts (35 characters). */
const topicName = (group: number, i: number) => `tenant-${String(group).padStart(3, '0')}_orders_settlement-${String(i).padStart(6, '0')}`;

function brokers(): { b: RmqBrokerId; group: number }[] {
  const out: { b: RmqBrokerId; group: number }[] = [];
  const sets = Math.ceil(BROKERS / 2);
  for (let s = 0; s < sets; s++) {
    for (let id = 0; id < 2 && out.length < BROKERS; id++) {
      out.push({
        b: { cluster: 'fleet', brokerName: `broker-${String(s).padStart(3, '0')}`, brokerId: id, addr: `127.1.${s % 250}.${id + 1}:${10911 + Math.floor(s / 250)}` },
        group: Math.floor(s / SETS_PER_TOPIC),
      });
    }
  }
  return out;
}

async function registerRemoting(ns: NsProcess, fleet: { b: RmqBrokerId; group: number }[]): Promise<RemotingConn[]> {
  const bodies = new Map<number, Buffer>();
  const conns: RemotingConn[] = [];
  for (const { b, group } of fleet) {
    let body = bodies.get(group);
    if (!body) {
      body = registerBody(Array.from({ length: TOPICS }, (_, i) => topicName(group, i)), { counter: 1, timestamp: 1_700_000_000_000 + group });
      bodies.set(group, body);
    }
    const c = new RemotingConn(ns.port);
    await c.connected;
    conns.push(c);
    await registerBroker(c, b, body, LEASE_MS);
  }
  return conns;
}

async function registerGrpc(ns: NsProcess, fleet: { b: RmqBrokerId; group: number }[]): Promise<{ close(): void }[]> {
  const clients = [];
  for (const { b, group } of fleet) {
    const req: RegisterBrokerRequest = {
      cluster: b.cluster,
      brokerName: b.brokerName,
      brokerId: b.brokerId,
      addresses: [b.addr],
      zone: '',
      softwareVersion: 'bench',
      dataVersion: { epoch: `boot-${b.brokerName}-${b.brokerId}`, counter: 1 },
      topics: Array.from({ length: TOPICS }, (_, i) => ({
        name: topicName(group, i),
        readQueueNums: 8,
        writeQueueNums: 8,
        permission: Permission.PERMISSION_READ_WRITE,
        messageType: MessageType.MESSAGE_TYPE_NORMAL,
        attributes: {},
      })),
      groups: [],
      permission: Permission.PERMISSION_UNSPECIFIED,
      chunkIndex: 0,
      chunkCount: 0,
      leaseTtlMs: LEASE_MS,
    };
    const client = brokerClient(ns.address);
    clients.push(client);
    await registerAll(client, [req]);
  }
  return clients;
}

async function main(): Promise<void> {
  const fleet = brokers();
  const entries = fleet.length * TOPICS;
  const ns = await spawnNameServer([], PROBE_FLAGS, true);
  const held: { close(): void }[] = [];
  try {
    const mem = async () => (await probe<{ usage: NodeJS.MemoryUsage }>(ns, { type: 'mem' })).usage;
    const dir = flag === '--snapshot' ? path.resolve(dirArg ?? 'snapshots') : undefined;
    if (dir) mkdirSync(dir, { recursive: true });
    const before = await mem();
    const rssBefore = rssOf(ns.pid);
    if (dir) await probe(ns, { type: 'snapshot', file: path.join(dir, `${MODE}-before.heapsnapshot`) });
    const cpu0 = cpuSecondsOf(ns.pid);
    const t0 = performance.now();
    held.push(...(MODE === 'grpc' ? await registerGrpc(ns, fleet) : await registerRemoting(ns, fleet)));
    const registerMs = performance.now() - t0;
    const registerCpuS = cpuSecondsOf(ns.pid) - cpu0;
    const after = await mem();
    const rssAfter = rssOf(ns.pid);
    const heap = after.heapUsed - before.heapUsed;
    const external = after.external - before.external;
    note(`${MODE}: ${fmt(fleet.length)} brokers × ${fmt(TOPICS)} topics in ${fmt(registerMs)} ms; heapUsed +${mib(heap)} MiB, external +${mib(external)} MiB`);
    const out: Record<string, unknown> = {
      mode: MODE,
      brokers: fleet.length,
      topics: TOPICS,
      entries,
      registerMs: Math.round(registerMs),
      registerCpuS: +registerCpuS.toFixed(2),
      heapPerEntry: Math.round(heap / entries),
      externalPerEntry: Math.round(external / entries),
      bytesPerEntry: Math.round((heap + external) / entries),
      rssPerEntry: Math.round((rssAfter - rssBefore) / entries),
    };
    if (dir) {
      await probe(ns, { type: 'snapshot', file: path.join(dir, `${MODE}-after.heapsnapshot`) });
      const d = diffSnapshots(path.join(dir, `${MODE}-before.heapsnapshot`), path.join(dir, `${MODE}-after.heapsnapshot`), 20);
      out.snapshot = { bytesPerEntry: Math.round(d.total / entries), kinds: d.kinds.map((k) => ({ ...k, perEntry: +(k.size / entries).toFixed(1) })) };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    for (const h of held) h.close();
    await stopChild(ns.child);
  }
}

runMain(main);
