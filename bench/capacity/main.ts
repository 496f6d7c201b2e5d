/**
 * Part capacity: how many watching clients one replica holds, and what each costs. Clients are
 * h2-fleet.ts processes (node:http2, raw gRPC WatchRoutes), at most CLIENTS_PER_PROCESS connections
 * each, each process from its own loopback source address; every client is one connection with one
 * WatchRoutes stream following the hot topic (plus, in the 1,000-connection layout, 99 more topics).
 * The NameServer (compiled, defaults, bench/lib/probe.mjs preloaded) holds 8 replica sets × 2 brokers ×
 * 1,000 topics; a fresh server per layout.
 *
 * Per layout: the server's VmRSS and heap after full GCs before the fleet and once every stream is
 * subscribed and idle; the server's CPU while idle with its clients (keep-alive pings, progress
 * messages); then one-topic changes (a ReportDelta setting the hot topic's queue count to a sequence
 * number), spaced apart: for each change, the time from the sender's clock to each client's receipt,
 * over all clients (p50, p99, last).
 *
 * The server process can open at most `ulimit -n` files (this container: hard limit 20,000, not
 * raisable), one per client connection: layouts beyond that are not run, and the per-client figures of
 * the largest layout run are projected to 50,000 clients (RSS linear in clients; fan-out linear in
 * streams, from the measured per-stream cost).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  cpuSecondsOf,
  envInt,
  fmt,
  machine,
  median,
  mib,
  note,
  percentile,
  probe,
  PROBE_FLAGS,
  RAW_DIR,
  ROOT,
  rssOf,
  runMain,
  sleep,
  spawnNameServer,
  stopChild,
  table,
  TSX,
  verdict,
  wallMs,
  writeResult,
  type NsProcess,
  type VerdictRow,
} from '../lib/common';
import { brokerClient, clusterReports, queueDelta, registerAll } from '../lib/cluster';
import { call } from '../../test/helpers/server';
import type { H2FleetSpec } from '../lib/h2-fleet';
import { diffSnapshots, type KindDelta } from '../lib/heap';
import { summarize, summaryMarkdown } from '../lib/profile';

const PART = 'capacity';
const TITLE = 'Capacity of one replica: watching clients, memory per client, fan-out';
const CLIENTS_PER_PROCESS = 5_000;
const CHANGES = envInt('BENCH_CAPACITY_CHANGES', 10);
const WARMUP_CHANGES = 2;
const PROFILE_CHANGES = 5;
const GAP_MS = 1_000;
const IDLE_S = envInt('BENCH_CAPACITY_IDLE_S', 10);
const TOPICS = Array.from({ length: 1_000 }, (_, i) => `cap-topic-${i}`);
const HOT = TOPICS[0]!;
/** WatchRoutesResponse.events[0].route.brokers[0].read_queue_nums */
const SEQ_PATH = [1, 3, 4, 4];
const GOAL_CLIENTS = 50_000;
const GOAL_BYTES = 1.5 * 2 ** 30;
const GOAL_FANOUT_MS = 1_000;

/** Files this process and the server may open (the server inherits it). */
const FD_LIMIT = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
/** The most clients one server process can take here: its fd limit less a margin for its own files. */
const MAX_CLIENTS = Math.floor((FD_LIMIT - 500) / 500) * 500;

interface Layout {
  name: string;
  connections: number;
  streams: number;
  topicsPerStream: number;
  fanout: boolean;
  snapshot?: boolean;
  /** CPU-profile the server over PROFILE_CHANGES more changes. */
  profile?: boolean;
}

const SIZES = (process.env.BENCH_CAPACITY_CLIENTS ?? `10000,${MAX_CLIENTS}`).split(',').map(Number);
const LAYOUTS: Layout[] = [
  { name: 'idle connections, 10k', connections: 10_000, streams: 0, topicsPerStream: 0, fanout: false },
  { name: 'heap composition, 2k clients', connections: 2_000, streams: 1, topicsPerStream: 0, fanout: false, snapshot: true },
  ...SIZES.map((n, i) => ({ name: `clients, ${fmt(n / 1000, n % 1000 ? 1 : 0)}k`, connections: n, streams: 1, topicsPerStream: 0, fanout: true, profile: i === SIZES.length - 1 })),
  { name: '100k subscriptions on 1,000 connections', connections: 1_000, streams: 1, topicsPerStream: 99, fanout: true },
];

interface Mem {
  rss: number;
  heap: number;
  external: number;
}

async function serverMem(ns: NsProcess): Promise<Mem> {
  const { usage } = await probe<{ usage: NodeJS.MemoryUsage }>(ns, { type: 'mem' });
  return { rss: rssOf(ns.pid), heap: usage.heapUsed, external: usage.external };
}

/** One fleet process. */
class FleetProc {
  readonly child: ChildProcess;
  readonly ready: Promise<{ connections: number; streams: number; ms: number; errors: number }>;
  private waiting: { seq: number; resolve: (a: number[]) => void } | undefined;
  errors: string[] = [];

  constructor(spec: H2FleetSpec) {
    this.child = fork(path.join(ROOT, 'bench/lib/h2-fleet.ts'), [JSON.stringify(spec)], { cwd: ROOT, execArgv: TSX, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m: { type: string; seq: number; arrivals: number[]; message: string; connections: number; streams: number; ms: number; errors: number }) => {
        if (m.type === 'ready') resolve(m);
        else if (m.type === 'seq' && this.waiting?.seq === m.seq) {
          const w = this.waiting;
          this.waiting = undefined;
          w.resolve(m.arrivals);
        } else if (m.type === 'error') {
          this.errors.push(m.message);
          if (this.errors.length === 1) note(`fleet: ${m.message}`);
        }
      });
      this.child.once('exit', (code) => reject(new Error(`fleet exited (${code})`)));
    });
    this.ready.catch(() => undefined);
  }

  expect(seq: number, timeoutMs = 60_000): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fleet: not every stream saw ${seq} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        seq,
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      };
      this.child.send({ type: 'expect', seq });
    });
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'stop' });
    await stopChild(this.child, 'SIGTERM', 5_000).catch(() => undefined);
  }
}

interface Change {
  p50: number;
  p99: number;
  last: number;
  /** Server CPU seconds from the change until every client had it. */
  serverCpu: number;
}

interface Measured {
  layout: Layout;
  clients: number;
  streams: number;
  subscriptions: number;
  setupMs: number;
  before: Mem;
  after: Mem;
  idleCores: number;
  changes: Change[];
  clientRss: number;
  snapshot?: { total: number; kinds: KindDelta[] };
  errors: number;
  profile?: string;
}

async function measure(layout: Layout): Promise<Measured> {
  const ns = await spawnNameServer([], PROBE_FLAGS, true);
  const fleets: FleetProc[] = [];
  const dir = path.join(RAW_DIR, 'capacity-heap');
  try {
    const b = brokerClient(ns.address);
    await registerAll(b, clusterReports(8, 2, TOPICS));
    await sleep(500);
    if (layout.snapshot) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await serverMem(ns);
      await probe(ns, { type: 'snapshot', file: path.join(dir, 'before.heapsnapshot') });
    }
    const before = await serverMem(ns);
    const procs = Math.ceil(layout.connections / CLIENTS_PER_PROCESS);
    for (let p = 0; p < procs; p++) {
      const connections = Math.min(CLIENTS_PER_PROCESS, layout.connections - p * CLIENTS_PER_PROCESS);
      fleets.push(
        new FleetProc({
          port: ns.port,
          localAddress: `127.0.${10 + p}.1`,
          connections,
          streams: layout.streams,
          topics: TOPICS.slice(1),
          topicsPerStream: layout.topicsPerStream,
          always: layout.streams ? [HOT] : [],
          seqPath: SEQ_PATH,
          parallel: 50,
        }),
      );
    }
    const t0 = Date.now();
    const readies = await Promise.all(fleets.map((f) => f.ready));
    const setupMs = Date.now() - t0;
    const streams = readies.reduce((s, r) => s + r.streams, 0);
    const clients = readies.reduce((s, r) => s + r.connections, 0);
    await sleep(2_000);
    const after = await serverMem(ns);
    let snapshot: Measured['snapshot'];
    if (layout.snapshot) {
      await probe(ns, { type: 'snapshot', file: path.join(dir, 'after.heapsnapshot') });
      snapshot = diffSnapshots(path.join(dir, 'before.heapsnapshot'), path.join(dir, 'after.heapsnapshot'), 20);
    }
    const clientRss = fleets.reduce((s, f) => s + rssOf(f.child.pid!), 0);
    note(`${layout.name}: ${fmt(clients)} connections, ${fmt(streams)} streams in ${fmt(setupMs)} ms; server RSS ${mib(before.rss)} → ${mib(after.rss)} MiB`);

    const c0 = cpuSecondsOf(ns.pid);
    const ti = performance.now();
    await sleep(IDLE_S * 1000);
    const idleCores = (cpuSecondsOf(ns.pid) - c0) / ((performance.now() - ti) / 1000);

    const changes: Change[] = [];
    let counter = 1;
    let seqBase = 100;
    const change = async (): Promise<Change> => {
      const seq = ++seqBase;
      const got = Promise.all(fleets.map((f) => f.expect(seq)));
      const cpuBefore = cpuSecondsOf(ns.pid);
      const tc = wallMs();
      const res = await call(b, 'reportDelta', queueDelta(0, 0, HOT, seq, counter));
      if (res.reregisterRequired) throw new Error(`delta refused: ${res.reason}`);
      counter++;
      const arrivals = (await got).flat().map((a) => a - tc);
      const serverCpu = cpuSecondsOf(ns.pid) - cpuBefore;
      if (arrivals.length !== streams) throw new Error(`${arrivals.length} of ${streams} streams saw change ${seq}`);
      await sleep(GAP_MS);
      return { p50: percentile(arrivals, 50), p99: percentile(arrivals, 99), last: Math.max(...arrivals), serverCpu };
    };
    let profile: string | undefined;
    if (layout.fanout) {
      for (let k = 1; k <= WARMUP_CHANGES + CHANGES; k++) {
        const c = await change();
        if (k > WARMUP_CHANGES) changes.push(c);
      }
      const last = changes[changes.length - 1]!;
      note(`${layout.name}: fan-out p50 ${fmt(last.p50)} ms, p99 ${fmt(last.p99)} ms, last ${fmt(last.last)} ms (last change)`);
      if (layout.profile) {
        const file = path.join(RAW_DIR, 'capacity-fanout.cpuprofile');
        await probe(ns, { type: 'cpu-start' });
        const t0 = performance.now();
        for (let k = 0; k < PROFILE_CHANGES; k++) await change();
        await probe(ns, { type: 'cpu-stop', file });
        profile = summaryMarkdown(summarize(file, 15), `Server CPU profile over ${PROFILE_CHANGES} more changes to ${fmt(streams)} clients (${fmt(performance.now() - t0)} ms with the ${GAP_MS} ms gaps; \`${path.relative(ROOT, file)}\`)`);
      }
    }
    b.close();
    const errors = fleets.reduce((s, f) => s + f.errors.length, 0);
    return { layout, clients, streams, subscriptions: streams * (layout.topicsPerStream + 1), setupMs, before, after, idleCores, changes, clientRss, snapshot, errors, profile };
  } finally {
    for (const f of fleets) await f.stop();
    await stopChild(ns.child);
  }
}

async function main(): Promise<void> {
  const m = machine();
  const results: Measured[] = [];
  // BENCH_CAPACITY_ONLY=clients runs the client layouts alone (quick A/B runs of server settings);
  // a comma list picks kinds: idle, heap, clients, subscriptions.
  const only = process.env.BENCH_CAPACITY_ONLY?.split(',');
  const kind = (l: Layout) => (l.streams === 0 ? 'idle' : l.snapshot ? 'heap' : l.topicsPerStream > 0 ? 'subscriptions' : 'clients');
  for (const l of LAYOUTS) {
    if (only && !only.includes(kind(l))) continue;
    if (l.connections > MAX_CLIENTS) {
      note(`${l.name}: skipped (${fmt(l.connections)} connections > ${fmt(MAX_CLIENTS)}, the fd limit ${fmt(FD_LIMIT)} less a margin)`);
      continue;
    }
    results.push(await measure(l));
  }
  const idle = results.find((r) => r.layout.streams === 0);
  const perConn = idle ? (idle.after.rss - idle.before.rss) / idle.clients : NaN;
  const clientRows = results.filter((r) => r.layout.streams > 0);
  const largestRun = clientRows.filter((r) => r.layout.topicsPerStream === 0 && r.layout.fanout).sort((a, b) => b.clients - a.clients)[0];
  const perClient = (r: Measured) => (r.after.rss - r.before.rss) / r.clients;
  const p99s = (r: Measured) => r.changes.map((c) => c.p99);

  const rows = results.map((r) => [
    r.layout.name,
    fmt(r.clients),
    fmt(r.streams),
    fmt(r.subscriptions),
    fmt(r.setupMs),
    mib(r.before.rss),
    mib(r.after.rss),
    fmt((r.after.rss - r.before.rss) / r.clients),
    fmt((r.after.heap - r.before.heap) / r.clients),
    fmt((r.after.rss - r.before.rss - (r.after.heap - r.before.heap)) / r.clients),
    fmt(r.idleCores, 3),
    r.changes.length ? fmt(median(r.changes.map((c) => c.p50))) : '—',
    r.changes.length ? fmt(median(p99s(r))) : '—',
    r.changes.length ? fmt(Math.max(...r.changes.map((c) => c.last))) : '—',
    r.changes.length ? fmt((median(r.changes.map((c) => c.serverCpu)) / r.streams) * 1e6, 1) : '—',
    mib(r.clientRss),
    fmt(r.errors),
  ]);
  const snap = results.find((r) => r.snapshot);
  const subs = results.find((r) => r.layout.topicsPerStream > 0);
  const heapTable = (r: Measured & { snapshot: object }) =>
    table(
      ['object kind', 'count', 'count / client', 'MiB', 'bytes / client'],
      r.snapshot.kinds.map((k) => [k.kind.replace(/\|/g, '\\|'), fmt(k.count), fmt(k.count / r.clients, 1), mib(k.size), fmt(k.size / r.clients)]),
    );
  if (!largestRun) {
    // A partial run (BENCH_CAPACITY_ONLY without the client layouts): print, keep the recorded result.
    console.log(table(['layout', 'connections', 'streams', 'subscriptions', 'setup ms', 'RSS before MiB', 'RSS after MiB', 'RSS B/conn', 'heap B/conn', 'native B/conn', 'idle cores', 'p50', 'p99', 'last', 'µs/stream', 'client MiB', 'errors'], rows));
    if (snap?.snapshot) console.log(heapTable(snap as Measured & { snapshot: object }));
    return;
  }
  const largest = largestRun;
  const cpuPerStream = (r: Measured) => (median(r.changes.map((c) => c.serverCpu)) / r.streams) * 1e6;
  const projected = largest.before.rss + perClient(largest) * GOAL_CLIENTS;
  const fanP99 = median(p99s(largest));
  // Fan-out grows with the streams written: project per stream.
  const projectedFan = (fanP99 / largest.streams) * GOAL_CLIENTS;
  const verdicts: VerdictRow[] = [
    {
      check: `server RSS with ${fmt(GOAL_CLIENTS)} watching clients (one connection + one WatchRoutes stream each)`,
      value: largest.clients >= GOAL_CLIENTS ? `${mib(largest.after.rss)} MiB measured` : `${mib(projected)} MiB projected from ${fmt(largest.clients)} clients (${fmt(perClient(largest))} bytes each + ${mib(largest.before.rss)} MiB base)`,
      target: '≤ 1,536 MiB',
      verdict: verdict(projected / 2 ** 20, GOAL_BYTES / 2 ** 20, false, 0, ' MiB'),
    },
    {
      check: `fan-out of one change to every client, p99 over clients (median of ${CHANGES} changes)`,
      value: largest.clients >= GOAL_CLIENTS ? `${fmt(fanP99)} ms measured` : `${fmt(fanP99)} ms at ${fmt(largest.clients)} clients; ${fmt(projectedFan)} ms projected to ${fmt(GOAL_CLIENTS)}`,
      target: `≤ ${fmt(GOAL_FANOUT_MS)} ms`,
      verdict: verdict(largest.clients >= GOAL_CLIENTS ? fanP99 : projectedFan, GOAL_FANOUT_MS, false, 0, ' ms'),
    },
    { check: 'server RSS per idle connection (no stream)', value: `${fmt(perConn)} bytes`, target: '—', verdict: 'measured' },
    ...(subs ? [{ check: 'server RSS per subscription, 100k subscriptions on 1,000 connections', value: `${fmt((subs.after.rss - subs.before.rss) / subs.subscriptions)} bytes (fan-out p99 ${fmt(median(p99s(subs)))} ms to 1,000 streams)`, target: '—', verdict: 'measured' }] : []),
  ];
  const body = [
    `Server: this NameServer with default settings, 8 replica sets × 2 brokers × ${fmt(TOPICS.length)} topics registered; fresh per layout. Clients: [\`bench/lib/h2-fleet.ts\`](../lib/h2-fleet.ts) processes of at most ${fmt(CLIENTS_PER_PROCESS)} connections, each from its own 127.0.x.1 source address. Memory after full GCs, ${2} s after the last stream subscribed. File limit of this machine's processes: ${fmt(FD_LIMIT)} (\`ulimit -n\`, hard limit, not raisable here): at most ${fmt(MAX_CLIENTS)} clients per server process were run.`,
    '',
    table(
      ['layout', 'connections', 'streams', 'subscriptions', 'setup ms', 'server RSS before MiB', 'server RSS after MiB', 'RSS bytes / connection', 'heap bytes / connection', 'native bytes / connection (RSS − heap)', 'server cores busy while idle', 'fan-out p50 ms', 'fan-out p99 ms', 'fan-out last ms (worst)', 'server CPU µs per stream written', 'client processes RSS MiB', 'client errors'],
      rows,
    ),
    '',
    `Fan-out: ${WARMUP_CHANGES} unmeasured + ${CHANGES} changes, ${GAP_MS} ms apart; per change, milliseconds from the sender's clock (just before ReportDelta) to each client's receipt (all on this machine's clock); the table shows the median over changes of each change's p50 and p99 over clients, and the worst last arrival.`,
    '',
    `Projection to ${fmt(GOAL_CLIENTS)} clients from the ${fmt(largest.clients)}-client layout: RSS = ${mib(largest.before.rss)} MiB + ${fmt(perClient(largest))} bytes × ${fmt(GOAL_CLIENTS)} = ${mib(projected)} MiB; fan-out p99 = ${fmt(fanP99)} ms × ${fmt(GOAL_CLIENTS)} / ${fmt(largest.streams)} = ${fmt(projectedFan)} ms (writing to streams is serial work on the server's one thread, so it grows with the streams). The server's own CPU for one fan-out, from the same layout: ${fmt(cpuPerStream(largest), 1)} µs × ${fmt(GOAL_CLIENTS)} streams = ${fmt((cpuPerStream(largest) * GOAL_CLIENTS) / 1000)} ms, a floor under the last arrival however idle the machine (the clients here share its ${m.nproc} cores; load average at start ${m.loadavg}).`,
    snap?.snapshot
      ? `\n### What a client costs on the heap\n\nHeap snapshot diff of the server, ${fmt(snap.clients)} clients (one connection and one WatchRoutes stream each): self size by object kind, after − before (${mib(snap.snapshot.total)} MiB in all; \`${path.relative(ROOT, path.join(RAW_DIR, 'capacity-heap'))}\`):\n\n${heapTable(snap as Measured & { snapshot: object })}`
      : '',
  ].join('\n');
  writeResult(PART, TITLE, `${body}${largest.profile ? `\n\n### Where a fan-out's time goes\n\n${largest.profile}` : ''}`, m, [], verdicts);
}

runMain(main);
