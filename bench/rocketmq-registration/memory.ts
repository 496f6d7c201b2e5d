/**
 * Memory per topic-on-broker entry with the fleet of part rocketmq-registration (b), without the rest of
 * that part: `BROKERS` brokers (replica sets of 2) × `TOPICS` topics, every topic on 8 replica sets,
 * topic names of 35 characters, registered one broker after the other, each on its own connection:
 * over REGISTER_BROKER (bodies as a 5.5.0 broker writes them) to the RocketMQ NameServer or to the
 * compiled NameServer, or over gRPC RegisterBroker to the NameServer (the same brokers, topics and
 * queues). Bytes per entry = heap after − before, after full GCs, as main.ts measures it (ours: V8
 * heapUsed + external through bench/lib/probe.mjs; RocketMQ: Java heap used after `jcmd GC.run`).
 *
 *   npm run bench:rocketmq-registration-memory      (all three, 1,000 × 1,000; writes the results file)
 *   node --import tsx bench/rocketmq-registration/memory.ts remoting|grpc|rocketmq [BROKERS] [TOPICS] [--snapshot DIR]
 *
 * With --snapshot (ours only), heap snapshots before and after are written to DIR and summarised (self
 * size by object kind, after − before). A single mode prints one JSON line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { Permission, MessageType } from '../../generated/nameserver/v1/common';
import { brokerClient, registerAll } from '../lib/cluster';
import { cpuSecondsOf, fmt, machine, mib, note, probe, PROBE_FLAGS, RAW_DIR, rssOf, runMain, spawnNameServer, stopChild, table, verdict, writeResult, type VerdictRow } from '../lib/common';
import { jvmHeapUsedAfterGc, requireRocketmqOrReport, rocketmqVersionLine, startNamesrv } from '../lib/rocketmq';
import { diffSnapshots } from '../lib/heap';
import { registerBody, registerBroker, RemotingConn, type RmqBrokerId } from '../lib/remoting';

const [modeArg = 'all', brokersArg = '1000', topicsArg = '1000', flag, dirArg] = process.argv.slice(2);
const MODE = modeArg as Mode;
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

async function registerRemoting(port: number, fleet: { b: RmqBrokerId; group: number }[]): Promise<RemotingConn[]> {
  const bodies = new Map<number, Buffer>();
  const conns: RemotingConn[] = [];
  for (const { b, group } of fleet) {
    let body = bodies.get(group);
    if (!body) {
      body = registerBody(Array.from({ length: TOPICS }, (_, i) => topicName(group, i)), { counter: 1, timestamp: 1_700_000_000_000 + group });
      bodies.set(group, body);
    }
    const c = new RemotingConn(port);
    await c.connected;
    conns.push(c);
    await registerBroker(c, b, body, LEASE_MS);
  }
  return conns;
}

async function registerGrpc(address: string, fleet: { b: RmqBrokerId; group: number }[]): Promise<{ close(): void }[]> {
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
    const client = brokerClient(address);
    clients.push(client);
    await registerAll(client, [req]);
  }
  return clients;
}

interface Measured {
  mode: Mode;
  brokers: number;
  topics: number;
  entries: number;
  registerMs: number;
  registerCpuS: number;
  heapBefore: number;
  heapAfter: number;
  /** Heap bytes per entry (ours: V8 heapUsed + external; RocketMQ: Java heap used), after GC. */
  bytesPerEntry: number;
  heapPerEntry?: number;
  externalPerEntry?: number;
  rssPerEntry: number;
  snapshot?: { bytesPerEntry: number; kinds: { kind: string; size: number; count: number; perEntry: number }[] };
}

type Mode = 'remoting' | 'grpc' | 'rocketmq';

/** One server of the kind, the fleet registered one broker after the other, memory before and after. */
async function measure(mode: Mode, snapshotDir?: string): Promise<Measured> {
  const fleet = brokers();
  const entries = fleet.length * TOPICS;
  const rmq = mode === 'rocketmq' ? await startNamesrv() : undefined;
  const ns = rmq ? undefined : await spawnNameServer([], PROBE_FLAGS, true);
  const server = { pid: (rmq ?? ns)!.pid, port: (rmq ?? ns)!.port, address: (rmq ?? ns)!.address };
  const held: { close(): void }[] = [];
  try {
    const mem = async () => {
      if (rmq) return { heapUsed: await jvmHeapUsedAfterGc(rmq.pid), external: 0 };
      const { usage } = await probe<{ usage: NodeJS.MemoryUsage }>(ns!, { type: 'mem' });
      return { heapUsed: usage.heapUsed, external: usage.external };
    };
    if (snapshotDir && ns) await probe(ns, { type: 'snapshot', file: path.join(snapshotDir, `${mode}-before.heapsnapshot`) });
    const before = await mem();
    const rssBefore = rssOf(server.pid);
    const cpu0 = cpuSecondsOf(server.pid);
    const t0 = performance.now();
    held.push(...(mode === 'grpc' ? await registerGrpc(server.address, fleet) : await registerRemoting(server.port, fleet)));
    const registerMs = performance.now() - t0;
    const registerCpuS = cpuSecondsOf(server.pid) - cpu0;
    const after = await mem();
    const rssAfter = rssOf(server.pid);
    const heap = after.heapUsed - before.heapUsed;
    const external = after.external - before.external;
    note(`${mode}: ${fmt(fleet.length)} brokers × ${fmt(TOPICS)} topics in ${fmt(registerMs)} ms (${fmt(registerCpuS, 1)} CPU s); heap +${mib(heap)} MiB, external +${mib(external)} MiB`);
    const out: Measured = {
      mode,
      brokers: fleet.length,
      topics: TOPICS,
      entries,
      registerMs: Math.round(registerMs),
      registerCpuS: +registerCpuS.toFixed(2),
      heapBefore: before.heapUsed + before.external,
      heapAfter: after.heapUsed + after.external,
      bytesPerEntry: Math.round((heap + external) / entries),
      ...(ns ? { heapPerEntry: Math.round(heap / entries), externalPerEntry: Math.round(external / entries) } : {}),
      rssPerEntry: Math.round((rssAfter - rssBefore) / entries),
    };
    if (snapshotDir && ns) {
      await probe(ns, { type: 'snapshot', file: path.join(snapshotDir, `${mode}-after.heapsnapshot`) });
      const d = diffSnapshots(path.join(snapshotDir, `${mode}-before.heapsnapshot`), path.join(snapshotDir, `${mode}-after.heapsnapshot`), 12);
      out.snapshot = { bytesPerEntry: Math.round(d.total / entries), kinds: d.kinds.map((k) => ({ ...k, perEntry: +(k.size / entries).toFixed(1) })) };
    }
    return out;
  } finally {
    for (const h of held) h.close();
    if (ns) await stopChild(ns.child);
    if (rmq) await rmq.stop();
  }
}

const PART = 'rocketmq-registration-memory';
const TITLE = 'Memory per topic-on-broker entry: RocketMQ NameServer vs this NameServer';
const label: Record<Mode, string> = { rocketmq: 'RocketMQ NameServer (REGISTER_BROKER)', remoting: 'this NameServer, REGISTER_BROKER (remoting)', grpc: 'this NameServer, gRPC RegisterBroker' };

/** Every server kind, then the report (bench/results/rocketmq-registration-memory.md). */
async function report(): Promise<void> {
  const m = machine();
  await requireRocketmqOrReport(PART, TITLE, m);
  const results: Measured[] = [];
  for (const mode of ['rocketmq', 'remoting', 'grpc'] as const) results.push(await measure(mode));
  mkdirSync(RAW_DIR, { recursive: true });
  writeFileSync(path.join(RAW_DIR, `${PART}.json`), JSON.stringify(results, null, 1));
  const [rr, ro, rg] = results as [Measured, Measured, Measured];
  const ratio = ro.bytesPerEntry / rr.bytesPerEntry;
  const verdicts: VerdictRow[] = [
    {
      check: `memory per topic-on-broker entry at ${fmt(ro.brokers)} × ${fmt(TOPICS)}, ours over REGISTER_BROKER (V8 heap + external) / RocketMQ (Java heap), after GC`,
      value: `${fmt(ratio, 2)} (${fmt(ro.bytesPerEntry)} / ${fmt(rr.bytesPerEntry)} bytes)`,
      target: '≤ 1',
      verdict: verdict(ratio, 1, false, 2),
    },
    {
      check: 'the same with the brokers registered over gRPC RegisterBroker, ours / RocketMQ',
      value: `${fmt(rg.bytesPerEntry / rr.bytesPerEntry, 2)} (${fmt(rg.bytesPerEntry)} / ${fmt(rr.bytesPerEntry)} bytes)`,
      target: '≤ 1',
      verdict: verdict(rg.bytesPerEntry / rr.bytesPerEntry, 1, false, 2),
    },
  ];
  const body = [
    `The fleet of [\`main.ts\`](main.ts) (b), measured alone by [\`memory.ts\`](memory.ts): ${fmt(Math.ceil(ro.brokers / 2))} replica sets × 2 brokers, each on its own connection, every topic on ${SETS_PER_TOPIC} replica sets, topic names of 35 characters, 8 queues: ${fmt(ro.entries)} topic-on-broker entries. Each server fresh, the brokers registered one after the other. Over gRPC the same brokers, topics and queues.`,
    '',
    table(
      ['server', 'registration of all, ms', 'server CPU s', 'heap before MiB', 'heap after MiB', '**heap bytes / entry**', 'of which V8 heap / external', 'RSS bytes / entry'],
      results.map((x) => [label[x.mode], fmt(x.registerMs), fmt(x.registerCpuS, 1), mib(x.heapBefore), mib(x.heapAfter), `**${fmt(x.bytesPerEntry)}**`, x.heapPerEntry === undefined ? '—' : `${fmt(x.heapPerEntry)} / ${fmt(x.externalPerEntry!)}`, fmt(x.rssPerEntry)]),
    ),
    '',
    'Heap: ours = V8 heapUsed + external after full GCs (bench/lib/probe.mjs); RocketMQ = "used" of `jcmd PID GC.heap_info` after `jcmd PID GC.run`. RSS includes heap pages not yet returned to the system (and the JVM\'s fixed -Xms heap): the heap figures are the comparison.',
  ].join('\n');
  writeResult(PART, TITLE, body, m, [rocketmqVersionLine()], verdicts);
}

async function main(): Promise<void> {
  if (MODE === ('all' as Mode)) return report();
  const dir = flag === '--snapshot' ? path.resolve(dirArg ?? 'snapshots') : undefined;
  if (dir) mkdirSync(dir, { recursive: true });
  process.stdout.write(`${JSON.stringify(await measure(MODE, dir))}\n`);
}

runMain(main);
