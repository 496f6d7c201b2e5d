/**
 * Part rocketmq-registration: the real RocketMQ NameServer (5.5.0) and this NameServer (over its
 * remoting door) receiving the same REGISTER_BROKER requests, bodies as a 5.5.0 broker writes them
 * (bench/lib/remoting.ts), each server in its own process.
 *
 *  (a) One broker registering 1k, 10k, 60k, 100k and 200k topics, each size on a fresh server of each
 *      kind (alternating who goes first): time from the request's write to its answer, the server's
 *      peak RSS during it (VmHWM after resetting it through /proc/PID/clear_refs) and its growth; a
 *      route lookup of the last topic afterwards proves the registration. RocketMQ closes a connection
 *      whose frame is over 16 MiB (its frameMaxLength): recorded as refused, with where the limit falls.
 *  (b) Memory at 1,000 brokers (500 replica sets × 2) × 1,000 topics, every topic on 8 replica sets
 *      (1,000,000 topic-on-broker entries): bytes per entry from the heap in use after full GCs, before
 *      and after registering (ours: V8 heap + external memory, i.e. the pre-encoded route buffers,
 *      through bench/lib/probe.mjs; RocketMQ: the Java heap used after `jcmd GC.run`), and RSS.
 *  (c) Steady state of that cluster: every broker re-sends its registration every 30 s on its own
 *      connection, the same body and DataVersion (what a 5.5.0 broker does by default: forceRegister),
 *      spread evenly; both servers get the same requests at the same moments. CPU seconds per minute
 *      (utime + stime of the whole process, /proc/PID/stat) over BENCH_STEADY_S after one unmeasured
 *      period.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RequestCode } from '../../src/server/network/remoting/codes';
import { parseLenientJson } from '../../src/server/network/remoting/json';
import {
  cpuSecondsOf,
  envInt,
  fmt,
  machine,
  mib,
  note,
  peakRssOf,
  probe,
  PROBE_FLAGS,
  RAW_DIR,
  resetPeakRss,
  rssOf,
  runMain,
  sleep,
  spawnNameServer,
  spawnTs,
  stopChild,
  table,
  verdict,
  waitForLine,
  writeResult,
  type NsProcess,
  type VerdictRow,
} from '../lib/common';
import { ConnectionClosed, registerBody, registerBroker, RemotingConn, type RmqBrokerId } from '../lib/remoting';
import { topicName } from './layout';
import { jvmHeapUsedAfterGc, requireRocketmqOrReport, rocketmqVersionLine, startNamesrv, type Namesrv } from '../lib/rocketmq';

const PART = 'rocketmq-registration';
const TITLE = 'Registration: RocketMQ NameServer vs this NameServer (REGISTER_BROKER)';
const SIZES = (process.env.BENCH_REG_SIZES ?? '1000,10000,60000,100000,200000').split(',').map(Number);
const BROKERS = envInt('BENCH_REG_BROKERS', 1_000);
const TOPICS_PER_BROKER = envInt('BENCH_REG_TOPICS', 1_000);
const SETS_PER_TOPIC = 8;
const PERIOD_MS = 30_000;
const STEADY_S = envInt('BENCH_STEADY_S', 60);
const IDLE_S = envInt('BENCH_IDLE_S', 15);
const RMQ_FRAME_MAX = 16 * 1024 * 1024;
const CPU_GOAL = 0.2;
/**
 * heartbeatTimeoutMillis of the fleet's registrations (both servers honour it): registering 1,000
 * brokers one after the other takes minutes on this machine, longer than either server's default
 * expiry (RocketMQ 120 s, ours 45 s), so the first brokers would expire before the last are in.
 */
const LEASE_MS = 300_000;
/** The gRPC fleet's session heartbeat and keep-alive ping intervals: the BrokerAgent's defaults. */
const AGENT_HEARTBEAT_MS = 10_000;
const AGENT_KEEPALIVE_MS = 10_000;


interface Server {
  kind: 'rocketmq' | 'ours';
  pid: number;
  port: number;
  stop(): Promise<void>;
  ns?: NsProcess;
  rmq?: Namesrv;
}

async function start(kind: Server['kind'], withProbe = false): Promise<Server> {
  if (kind === 'rocketmq') {
    const rmq = await startNamesrv();
    return { kind, pid: rmq.pid, port: rmq.port, stop: () => rmq.stop(), rmq };
  }
  const ns = withProbe ? await spawnNameServer([], PROBE_FLAGS, true) : await spawnNameServer();
  return { kind, pid: ns.pid, port: ns.port, stop: () => stopChild(ns.child), ns };
}

const label = (k: Server['kind']) => (k === 'rocketmq' ? 'RocketMQ NameServer' : 'this NameServer');

// ---------------------------------------------------------------------------------------------------
// (a) one broker, growing topic tables

interface SizeResult {
  kind: Server['kind'];
  topics: number;
  bodyBytes: number;
  ok: boolean;
  outcome: string;
  ms: number;
  rssBefore: number;
  peakRss: number;
}

async function registerOnce(kind: Server['kind'], topics: number, body: Buffer): Promise<SizeResult> {
  const server = await start(kind);
  const conn = new RemotingConn(server.port);
  try {
    await conn.connected;
    await sleep(500);
    const rssBefore = rssOf(server.pid);
    if (!resetPeakRss(server.pid)) throw new Error('cannot reset the peak RSS (/proc/PID/clear_refs)');
    const broker: RmqBrokerId = { cluster: 'big-cluster', brokerName: 'big-broker', brokerId: 0, addr: '127.0.0.1:10911' };
    const t0 = performance.now();
    let outcome = 'registered';
    let ok = true;
    try {
      await registerBroker(conn, broker, body);
    } catch (err) {
      ok = false;
      outcome = err instanceof ConnectionClosed ? 'refused: connection closed by the server' : `failed: ${(err as Error).message.slice(0, 120)}`;
    }
    const ms = performance.now() - t0;
    const peakRss = peakRssOf(server.pid);
    if (ok) {
      // The last topic of the table has a route now.
      const q = new RemotingConn(server.port);
      await q.connected;
      const res = await q.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: topicName(0, topics - 1) });
      q.close();
      if (res.code !== 0) {
        ok = false;
        outcome = `answered, but the last topic has no route (code ${res.code})`;
      }
    }
    note(`${label(kind)}, ${fmt(topics)} topics (${mib(body.length)} MiB body): ${outcome} in ${fmt(ms)} ms, peak RSS ${mib(peakRss)} MiB`);
    return { kind, topics, bodyBytes: body.length, ok, outcome, ms, rssBefore, peakRss };
  } finally {
    conn.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------------
// (b) + (c) 1,000 brokers × 1,000 topics: memory, then steady re-registration

interface Fleet {
  brokers: RmqBrokerId[];
  bodies: Buffer[];
  /** The DataVersion JSON each broker registered with (QUERY_DATA_VERSION's body). */
  dataVersions: Buffer[];
}

function fleet(): Fleet {
  const brokers: RmqBrokerId[] = [];
  const bodies: Buffer[] = [];
  const dataVersions: Buffer[] = [];
  const byGroup = new Map<number, Buffer>();
  const sets = Math.ceil(BROKERS / 2);
  for (let s = 0; s < sets; s++) {
    const group = Math.floor(s / SETS_PER_TOPIC);
    let body = byGroup.get(group);
    if (!body) {
      body = registerBody(Array.from({ length: TOPICS_PER_BROKER }, (_, i) => topicName(group, i)), { counter: 1, timestamp: 1_700_000_000_000 + group });
      byGroup.set(group, body);
    }
    for (let id = 0; id < 2 && brokers.length < BROKERS; id++) {
      brokers.push({ cluster: 'fleet', brokerName: `broker-${String(s).padStart(3, '0')}`, brokerId: id, addr: `127.1.${s % 250}.${id + 1}:${10911 + Math.floor(s / 250)}` });
      bodies.push(body);
      dataVersions.push(Buffer.from(JSON.stringify({ counter: 1, stateVersion: 0, timestamp: 1_700_000_000_000 + group })));
    }
  }
  return { brokers, bodies, dataVersions };
}

interface Memory {
  heap: number;
  rss: number;
}

async function memoryOf(s: Server): Promise<Memory> {
  if (s.kind === 'rocketmq') {
    const heap = await jvmHeapUsedAfterGc(s.pid);
    return { heap, rss: rssOf(s.pid) };
  }
  const { usage } = await probe<{ usage: NodeJS.MemoryUsage }>(s.ns!, { type: 'mem' });
  return { heap: usage.heapUsed + usage.external, rss: rssOf(s.pid) };
}

interface FleetResult {
  kind: Server['kind'];
  registerMs: number;
  before: Memory;
  after: Memory;
  /** CPU s / minute with the brokers registered and nothing sent (timers, GC, the JVM's own threads). */
  idleCpuPerMin: number;
  steady: Partial<Record<SteadyMode, Steady>>;
}

/** How brokers keep their registration: full REGISTER_BROKER (forceRegister on) or QUERY_DATA_VERSION. */
type SteadyMode = 'register' | 'query';

interface Steady {
  cpuPerMin: number;
  seconds: number;
  requests: number;
  failures: number;
  p99Ms: number;
}

/** The fleet as this NameServer's own brokers over gRPC (grpc-fleet.ts), on a fresh server. */
interface GrpcSteady {
  registerMs: number;
  cpuPerMin: number;
  seconds: number;
  /** Brokers the server lists after the measurement (all of them: none dropped). */
  brokersAfter: number;
  /** CPU s / minute of the process running the agents (not part of the verdict). */
  clientCpuPerMin: number;
}

async function grpcFleetSteady(brokers: number): Promise<GrpcSteady> {
  const ns = await spawnNameServer();
  const child = spawnTs('bench/rocketmq-registration/grpc-fleet.ts', [String(ns.port), String(brokers), String(TOPICS_PER_BROKER), String(SETS_PER_TOPIC), String(AGENT_HEARTBEAT_MS), String(AGENT_KEEPALIVE_MS)]);
  try {
    note(`gRPC fleet: ${fmt(brokers)} BrokerAgents registering ${fmt(TOPICS_PER_BROKER)} topics each over Connect sessions to 127.0.0.1:${ns.port} (pid ${ns.pid})`);
    const m = await waitForLine(child, /"registered":(\d+),"ms":(\d+)/, 10 * 60_000, 'gRPC fleet registered');
    child.stdout!.resume();
    const registerMs = Number(m[2]);
    note(`gRPC fleet registered in ${fmt(registerMs)} ms; one unmeasured period, then ${STEADY_S} s measured`);
    await sleep(PERIOD_MS);
    const c0 = cpuSecondsOf(ns.pid);
    const f0 = cpuSecondsOf(child.pid!);
    const t0 = performance.now();
    await sleep(STEADY_S * 1000);
    const c1 = cpuSecondsOf(ns.pid);
    const f1 = cpuSecondsOf(child.pid!);
    const seconds = (performance.now() - t0) / 1000;
    // Every broker is still registered (GET_BROKER_CLUSTER_INFO over the same port).
    const q = new RemotingConn(ns.port);
    await q.connected;
    const res = await q.request(RequestCode.GET_BROKER_CLUSTER_INFO, {});
    q.close();
    const info = parseLenientJson(res.body?.toString('utf8') ?? '{}') as { brokerAddrTable?: Record<string, { brokerAddrs?: Record<string, string> }> };
    const brokersAfter = Object.values(info.brokerAddrTable ?? {}).reduce((n, bd) => n + Object.keys(bd.brokerAddrs ?? {}).length, 0);
    return { registerMs, cpuPerMin: ((c1 - c0) / seconds) * 60, seconds, brokersAfter, clientCpuPerMin: ((f1 - f0) / seconds) * 60 };
  } finally {
    await stopChild(child);
    await stopChild(ns.child);
  }
}

/** When a ratio misses the goal: how the floor (bare Node process, same frames) bounds it. */
function floorNote(ratio: number, floor: number): string {
  if (ratio <= CPU_GOAL) return '';
  if (floor > CPU_GOAL) return `; bounded: the floor alone (a bare Node process reading the same frames) is ${fmt(floor, 3)}, this is ${fmt(ratio / floor, 2)}× the floor`;
  return `; the floor (a bare Node process reading the same frames) is ${fmt(floor, 3)}`;
}

async function main(): Promise<void> {
  const m = machine();
  await requireRocketmqOrReport(PART, TITLE, m);
  mkdirSync(RAW_DIR, { recursive: true });

  // (a)
  const sizeResults: SizeResult[] = [];
  for (const [i, n] of SIZES.entries()) {
    const body = registerBody(Array.from({ length: n }, (_, j) => topicName(0, j)), { counter: 1, timestamp: 1_700_000_000_000 });
    const order: Server['kind'][] = i % 2 === 0 ? ['rocketmq', 'ours'] : ['ours', 'rocketmq'];
    for (const kind of order) sizeResults.push(await registerOnce(kind, n, body));
  }
  const perTopic = sizeResults[sizeResults.length - 1]!.bodyBytes / SIZES[SIZES.length - 1]!;
  // Bytes of a REGISTER_BROKER frame besides the body (header of about 330 bytes).
  const limitTopics = Math.floor((RMQ_FRAME_MAX - 400) / perTopic);

  // (b) + (c)
  const f = fleet();
  const entries = f.brokers.length * TOPICS_PER_BROKER;
  note(`starting both servers for ${fmt(f.brokers.length)} brokers × ${fmt(TOPICS_PER_BROKER)} topics`);
  const servers = [await start('rocketmq'), await start('ours', true)];
  const conns: RemotingConn[][] = [];
  const results: FleetResult[] = [];
  const sinkChild = spawnTs('bench/rocketmq-registration/sink.ts', []);
  const sinkPort = Number((await waitForLine(sinkChild, /"port":(\d+)/, 60_000, 'sink'))[1]);
  sinkChild.stdout!.resume();
  const sinkConns: RemotingConn[] = [];
  let sinkCpuPerMin = NaN;
  let sinkQueryCpuPerMin = NaN;
  try {
    for (let b = 0; b < f.brokers.length; b++) {
      const c = new RemotingConn(sinkPort);
      await c.connected;
      sinkConns.push(c);
    }
    // Ours first: RocketMQ closes a connection idle for 120 s (serverChannelMaxIdleTimeSeconds), and its
    // brokers' connections must not sit idle through our (longer) registration before the steady state.
    for (const si of [1, 0]) {
      const s = servers[si]!;
      await sleep(1_000);
      const before = await memoryOf(s);
      const cs: RemotingConn[] = [];
      conns[si] = cs;
      const t0 = performance.now();
      for (let b = 0; b < f.brokers.length; b++) {
        const c = new RemotingConn(s.port);
        await c.connected;
        cs.push(c);
        await registerBroker(c, f.brokers[b]!, f.bodies[b]!, LEASE_MS);
      }
      const registerMs = performance.now() - t0;
      const after = await memoryOf(s);
      note(`${label(s.kind)}: ${fmt(f.brokers.length)} brokers registered in ${fmt(registerMs)} ms; heap ${mib(before.heap)} → ${mib(after.heap)} MiB, RSS ${mib(before.rss)} → ${mib(after.rss)} MiB`);
      results[si] = { kind: s.kind, registerMs, before, after, idleCpuPerMin: 0, steady: {} };
    }

    // Idle baseline: registered, nothing sent (within the brokers' expiry: 120 s RocketMQ, 45 s ours).
    const idle0 = servers.map((s) => cpuSecondsOf(s.pid));
    const ti = performance.now();
    await sleep(IDLE_S * 1000);
    const idle1 = servers.map((s) => cpuSecondsOf(s.pid));
    const idleSeconds = (performance.now() - ti) / 1000;
    servers.forEach((_, si) => (results[si]!.idleCpuPerMin = ((idle1[si]! - idle0[si]!) / idleSeconds) * 60));

    // (c) every broker every 30 s, spread evenly, to both servers at once: the full registration
    // (forceRegister on, the default), then QUERY_DATA_VERSION (forceRegister off: a broker asks
    // whether its DataVersion is held and registers only when it is not).
    const steady = async (mode: SteadyMode): Promise<void> => {
      const tick = PERIOD_MS / f.brokers.length;
      const latencies: number[][] = servers.map(() => []);
      const failures = servers.map(() => 0);
      const sent = servers.map(() => 0);
      let measuring = false;
      let next = 0;
      const send = (si: number, b: number): Promise<unknown> => {
        if (mode === 'register') return registerBroker(conns[si]![b]!, f.brokers[b]!, f.bodies[b]!, LEASE_MS);
        const br = f.brokers[b]!;
        return conns[si]![b]!
          .request(RequestCode.QUERY_DATA_VERSION, { clusterName: br.cluster, brokerName: br.brokerName, brokerAddr: br.addr, brokerId: String(br.brokerId) }, f.dataVersions[b]!)
          .then((res) => {
            if (res.code !== 0 || res.extFields.changed !== 'false') throw new Error(`QUERY_DATA_VERSION: code ${res.code}, changed ${res.extFields.changed}`);
          });
      };
      const timer = setInterval(() => {
        const b = next;
        next = (next + 1) % f.brokers.length;
        if (mode === 'register') void sinkConns[b]!.request(RequestCode.REGISTER_BROKER, {}, f.bodies[b]!).catch(() => undefined);
        else void sinkConns[b]!.request(RequestCode.QUERY_DATA_VERSION, {}, f.dataVersions[b]!).catch(() => undefined);
        servers.forEach((_, si) => {
          const t0 = performance.now();
          send(si, b).then(
            () => {
              if (measuring) latencies[si]!.push(performance.now() - t0);
            },
            () => failures[si]!++,
          );
          if (measuring) sent[si]!++;
        });
      }, tick);
      note(`${mode === 'register' ? 're-registering' : 'QUERY_DATA_VERSION from'} every broker every ${PERIOD_MS / 1000} s; one unmeasured period, then ${STEADY_S} s measured`);
      await sleep(PERIOD_MS);
      measuring = true;
      const cpu0 = servers.map((s) => cpuSecondsOf(s.pid));
      const sink0 = cpuSecondsOf(sinkChild.pid!);
      const t0 = performance.now();
      await sleep(STEADY_S * 1000);
      const cpu1 = servers.map((s) => cpuSecondsOf(s.pid));
      const sink1 = cpuSecondsOf(sinkChild.pid!);
      const seconds = (performance.now() - t0) / 1000;
      if (mode === 'register') sinkCpuPerMin = ((sink1 - sink0) / seconds) * 60;
      else sinkQueryCpuPerMin = ((sink1 - sink0) / seconds) * 60;
      measuring = false;
      clearInterval(timer);
      await sleep(2_000);
      servers.forEach((_, si) => {
        const sorted = [...latencies[si]!].sort((a, b) => a - b);
        results[si]!.steady[mode] = {
          cpuPerMin: ((cpu1[si]! - cpu0[si]!) / seconds) * 60,
          seconds,
          requests: sent[si]!,
          failures: failures[si]!,
          p99Ms: sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? NaN,
        };
      });
    };
    await steady('register');
    await steady('query');
  } finally {
    for (const c of sinkConns) c.close();
    await stopChild(sinkChild);
    for (const cs of conns) for (const c of cs) c.close();
    for (const s of servers) await s.stop().catch(() => undefined);
  }
  // (d) the same fleet as this NameServer's own brokers: registered once, then only heartbeats.
  let grpc: GrpcSteady;
  try {
    grpc = await grpcFleetSteady(f.brokers.length);
  } catch (err) {
    note(`gRPC fleet failed: ${(err as Error).message}`);
    grpc = { registerMs: NaN, cpuPerMin: NaN, seconds: NaN, brokersAfter: 0, clientCpuPerMin: NaN };
  }
  note(`gRPC fleet: ${fmt(grpc.cpuPerMin, 2)} CPU s per minute (server), ${fmt(grpc.brokersAfter)} brokers registered after`);
  writeFileSync(path.join(RAW_DIR, `${PART}.json`), JSON.stringify({ sizeResults, results, grpc }, null, 1));

  // Report.
  const sizeRows = SIZES.map((n) => {
    const r = sizeResults.find((x) => x.kind === 'rocketmq' && x.topics === n)!;
    const o = sizeResults.find((x) => x.kind === 'ours' && x.topics === n)!;
    const cell = (x: SizeResult) => (x.ok ? fmt(x.ms) : '—');
    return [
      fmt(n),
      mib(o.bodyBytes),
      r.ok ? 'registered' : `**${r.outcome}**`,
      cell(r),
      mib(r.peakRss),
      mib(r.peakRss - r.rssBefore),
      o.ok ? 'registered' : `**${o.outcome}**`,
      cell(o),
      mib(o.peakRss),
      mib(o.peakRss - o.rssBefore),
      r.ok && o.ok ? fmt(r.ms / o.ms, 2) : '—',
    ];
  });
  const [rr, ro] = results as [FleetResult, FleetResult];
  const perEntry = (x: FleetResult) => (x.after.heap - x.before.heap) / entries;
  const perEntryRss = (x: FleetResult) => (x.after.rss - x.before.rss) / entries;
  const cpu = (x: FleetResult, mode: SteadyMode) => x.steady[mode]!.cpuPerMin;
  const cpuRatio = cpu(ro, 'register') / cpu(rr, 'register');
  const queryRatio = cpu(ro, 'query') / cpu(rr, 'query');
  const grpcRatio = grpc.cpuPerMin / cpu(rr, 'register');
  /** A comparison whose requests failed on either server measured less work than asked: no verdict. */
  const invalid = (mode: SteadyMode): string | undefined => {
    const failed = results.map((x) => `${label(x.kind)} ${fmt(x.steady[mode]!.failures)}`).filter((_, i) => results[i]!.steady[mode]!.failures > 0);
    return failed.length ? `**invalid** (failed requests: ${failed.join(', ')})` : undefined;
  };
  const grpcOk = grpc.brokersAfter === f.brokers.length;
  const memRatio = perEntry(ro) / perEntry(rr);
  const oursAll = SIZES.every((n) => sizeResults.find((x) => x.kind === 'ours' && x.topics === n)!.ok);
  const rmqRefused = sizeResults.filter((x) => x.kind === 'rocketmq' && !x.ok).map((x) => x.topics);
  const rmqLargest = Math.max(0, ...sizeResults.filter((x) => x.kind === 'rocketmq' && x.ok).map((x) => x.topics));

  const verdicts: VerdictRow[] = [
    {
      check: 'one broker registers 1k / 10k / 60k / 100k / 200k topics over REGISTER_BROKER (ours)',
      value: oursAll ? 'all registered' : SIZES.filter((n) => !sizeResults.find((x) => x.kind === 'ours' && x.topics === n)!.ok).map(fmt).join(', ') + ' failed',
      target: 'every size',
      verdict: oursAll ? 'met' : '**missed**',
    },
    {
      check: 'the same on the RocketMQ NameServer',
      value: rmqRefused.length ? `largest registered ${fmt(rmqLargest)}; refused ${rmqRefused.map(fmt).join(', ')} (frame over 16 MiB: above ≈ ${fmt(limitTopics)} topics of ${fmt(perTopic)} bytes)` : 'all registered',
      target: '—',
      verdict: 'measured',
    },
    {
      check: `steady CPU, ${fmt(f.brokers.length)} brokers × ${fmt(TOPICS_PER_BROKER)} topics re-registering every 30 s (REGISTER_BROKER, unchanged), ours / RocketMQ`,
      value: `${fmt(cpuRatio, 3)} (${fmt(cpu(ro, 'register'), 2)} / ${fmt(cpu(rr, 'register'), 2)} CPU s per minute)`,
      target: `≤ ${CPU_GOAL}`,
      verdict: invalid('register') ?? verdict(cpuRatio, CPU_GOAL, false, 3) + floorNote(cpuRatio, sinkCpuPerMin / cpu(rr, 'register')),
    },
    {
      check: `the goal's comparison: the same fleet as this NameServer's own brokers (BrokerAgent, gRPC Connect sessions: heartbeats, unchanged reports not resent), ours / RocketMQ's REGISTER_BROKER fleet`,
      value: `${fmt(grpcRatio, 3)} (${fmt(grpc.cpuPerMin, 2)} / ${fmt(cpu(rr, 'register'), 2)} CPU s per minute)${grpcOk ? '' : `; only ${fmt(grpc.brokersAfter)} of ${fmt(f.brokers.length)} brokers registered after`}`,
      target: `≤ ${CPU_GOAL}`,
      verdict: invalid('register') ?? (grpcOk ? verdict(grpcRatio, CPU_GOAL, false, 3) : '**missed** (brokers lost)'),
    },
    {
      check: 'floor: a bare Node process only splitting and answering the same REGISTER_BROKER frames / RocketMQ',
      value: `${fmt(sinkCpuPerMin / cpu(rr, 'register'), 3)} (${fmt(sinkCpuPerMin, 2)} CPU s per minute)`,
      target: '—',
      verdict: 'measured (what reading the bodies costs Node at all)',
    },
    {
      check: 'the same with brokers asking QUERY_DATA_VERSION every 30 s instead (forceRegister=false), ours / RocketMQ',
      value: `${fmt(queryRatio, 3)} (${fmt(cpu(ro, 'query'), 2)} / ${fmt(cpu(rr, 'query'), 2)} CPU s per minute)`,
      target: `≤ ${CPU_GOAL}`,
      verdict: invalid('query') ?? verdict(queryRatio, CPU_GOAL, false, 3) + floorNote(queryRatio, sinkQueryCpuPerMin / cpu(rr, 'query')),
    },
    {
      check: 'floor: the bare Node process answering the same QUERY_DATA_VERSION frames / RocketMQ',
      value: `${fmt(sinkQueryCpuPerMin / cpu(rr, 'query'), 3)} (${fmt(sinkQueryCpuPerMin, 2)} CPU s per minute)`,
      target: '—',
      verdict: 'measured (what a wake-up, a read and a write per request cost Node at all)',
    },
    {
      check: `memory per topic-on-broker entry at ${fmt(f.brokers.length)} × ${fmt(TOPICS_PER_BROKER)}, ours (V8 heap + external) / RocketMQ (Java heap), after GC`,
      value: `${fmt(memRatio, 2)} (${fmt(perEntry(ro))} / ${fmt(perEntry(rr))} bytes)`,
      target: '≤ 1',
      verdict: verdict(memRatio, 1, false, 2),
    },
  ];
  const body = [
    `Bodies as a 5.5.0 broker writes them (checked against \`RegisterBrokerBody.encode(false)\`), topic names of 35 characters (\`${topicName(0, 1)}\`), 8 queues, perm 6: ${fmt(perTopic)} bytes per topic. RocketMQ refuses frames over 16 MiB (\`com.rocketmq.remoting.frameMaxLength\`, 16,777,216): with these names, above ≈ ${fmt(limitTopics)} topics per broker (longer names lower it). This NameServer takes frames up to \`--remoting-max-frame-bytes\` (64 MiB by default).`,
    '',
    '### One broker, growing topic tables',
    '',
    'Each size on a fresh server of each kind; time from the request\'s write to its answer; peak RSS = VmHWM during the registration (reset just before it), growth = peak − RSS just before.',
    '',
    table(['topics', 'body MiB', 'RocketMQ', 'RocketMQ ms', 'RocketMQ peak RSS MiB', 'RocketMQ RSS growth MiB', 'ours', 'ours ms', 'ours peak RSS MiB', 'ours RSS growth MiB', 'time RocketMQ / ours'], sizeRows),
    '',
    `The JVM has a fixed ${'-Xms'} heap: its RSS grows as the heap's pages are first touched, so RocketMQ's RSS growth shows pages touched, not live data (see the heap figures below).`,
    '',
    `### ${fmt(f.brokers.length)} brokers × ${fmt(TOPICS_PER_BROKER)} topics: memory and steady CPU`,
    '',
    `${Math.ceil(f.brokers.length / 2)} replica sets × 2 brokers, each on its own connection, every topic on ${SETS_PER_TOPIC} replica sets: ${fmt(entries)} topic-on-broker entries, ${fmt(Math.ceil(Math.ceil(f.brokers.length / 2) / SETS_PER_TOPIC) * TOPICS_PER_BROKER)} topics. Registered one broker after the other, servers one after the other (ours first: RocketMQ closes connections idle for 120 s).`,
    '',
    table(
      ['server', 'registration of all, ms', 'heap before MiB', 'heap after MiB', 'heap bytes / entry', 'RSS before MiB', 'RSS after MiB', 'RSS bytes / entry'],
      results.map((x) => [label(x.kind), fmt(x.registerMs), mib(x.before.heap), mib(x.after.heap), fmt(perEntry(x)), mib(x.before.rss), mib(x.after.rss), fmt(perEntryRss(x))]),
    ),
    '',
    table(
      ['server', 'steady mode', 'CPU s / minute', 'idle CPU s / minute', 'requests measured', 'failed', 'answer p99 ms', 'CPU ms / request (idle subtracted)'],
      results.flatMap((x) =>
        (['register', 'query'] as const).map((mode) => {
          const st = x.steady[mode]!;
          return [label(x.kind), mode === 'register' ? 'REGISTER_BROKER, full body (forceRegister, default)' : 'QUERY_DATA_VERSION (forceRegister=false)', fmt(st.cpuPerMin, 2), fmt(x.idleCpuPerMin, 2), fmt(st.requests), fmt(st.failures), fmt(st.p99Ms, 1), fmt(((st.cpuPerMin - x.idleCpuPerMin) / 60 / (st.requests / st.seconds)) * 1000, 2)];
        }),
      ),
    ),
    '',
    `A floor, measured in the same window: [\`sink.ts\`](sink.ts), a bare Node process with a small heap that reads the same frames as the NameServer's door does (one shared read buffer, each frame copied once into a reused buffer) and answers them without looking at the body, received ${fmt(sinkCpuPerMin, 2)} CPU s per minute for the REGISTER_BROKER frames and ${fmt(sinkQueryCpuPerMin, 2)} for the QUERY_DATA_VERSION ones: what receiving and answering these requests costs a Node process at all (wake-ups, the kernel's receive path, one copy of each frame), before anything looks at them.`,
    '',
    `The same fleet as this NameServer's own brokers (the goal's "unchanged reports are skipped"): [\`grpc-fleet.ts\`](grpc-fleet.ts) runs ${fmt(f.brokers.length)} BrokerAgents (src/broker-agent, the Connect session protocol) in one process, each on its own connection, same brokers and topics; on a fresh NameServer after the runs above. They registered in ${fmt(grpc.registerMs)} ms (20 at a time); then each sends only its session heartbeat every ${AGENT_HEARTBEAT_MS / 1000} s and a gRPC keep-alive ping every ${AGENT_KEEPALIVE_MS / 1000} s (the agent's defaults; the server pings each connection every 10 s too, its default), and resends nothing unchanged. NameServer CPU over ${STEADY_S} s after one unmeasured 30 s period: ${fmt(grpc.cpuPerMin, 2)} CPU s per minute (the agents' process: ${fmt(grpc.clientCpuPerMin, 2)}); ${fmt(grpc.brokersAfter)} brokers listed by GET_BROKER_CLUSTER_INFO afterwards.`,
    '',
    `Heap: ours = V8 heapUsed + external (the pre-encoded route buffers live outside the V8 heap) after full GCs (bench/lib/probe.mjs); RocketMQ = "used" of \`jcmd PID GC.heap_info\` after \`jcmd PID GC.run\`. Idle: ${IDLE_S} s with the brokers registered and nothing sent, before the steady state (what each process spends on its own: timers, GC, the JVM's threads); the verdict compares the steady figures as they are, idle included. Steady state, twice: ${STEADY_S} s measured after one unmeasured 30 s period, every broker once per 30 s, both servers at the same moments; first every broker sends the body and DataVersion it registered with (a 5.5.0 broker's periodic registration with forceRegister on, its default), then QUERY_DATA_VERSION with that DataVersion (what a broker with forceRegister=false sends, registering only when told it changed; both answer changed=false and renew the broker). The fleet's registrations carry heartbeatTimeoutMillis = ${LEASE_MS / 1000} s (as brokers in slave-acting-master mode send it), so brokers registered first do not expire while the rest register.`,
  ].join('\n');
  writeResult(PART, TITLE, body, m, [rocketmqVersionLine()], verdicts);
}

runMain(main);
