/**
 * Part 5, memory per idle subscription and per connection. The NameServer (unmodified src/server/main.ts,
 * own process, with bench/lib/probe.mjs preloaded to answer heap figures after full GCs over IPC) holds 8
 * replica sets × 2 brokers × 1,000 topics; a client process (watch-fleet.ts) opens one layout, waits
 * until every stream has its routes and a progress message, then idles; the server's VmRSS
 * (/proc/PID/status) and heapUsed are compared with the same server before the fleet connected.
 * Each layout gets a fresh server.
 *   - connections only (no stream): cost of one idle HTTP/2 connection;
 *   - "streams": one topic per WatchRoutes stream (100 streams per connection) — every subscription
 *     is a stream, the worst case;
 *   - "topics": 100 connections × 1 stream following many topics — what SDK clients do (one stream
 *     per client process).
 * Per-subscription figures subtract the layout's connections × the per-connection cost. For the 10k
 * streams layout, heap snapshots of the server before and after show what an idle stream is made of.
 */
import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  envInt,
  fmt,
  machine,
  mib,
  note,
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
  writeResult,
  type NsProcess,
} from '../lib/common';
import { brokerClient, clusterReports, registerAll } from '../lib/cluster';
import { Fleet } from '../lib/fleet';
import { diffSnapshots, type KindDelta } from '../lib/heap';

const TOPICS = Array.from({ length: 1_000 }, (_, i) => `sub-topic-${i}`);
const BIG = envInt('BENCH_SUBSCRIBERS_BIG', 100_000);

interface Layout {
  name: string;
  connections: number;
  streams: number;
  topicsPerStream: number;
}

const LAYOUTS: Layout[] = [
  { name: 'idle connections', connections: 1_000, streams: 0, topicsPerStream: 0 },
  { name: 'streams, 10k', connections: 100, streams: 100, topicsPerStream: 1 },
  { name: `streams, ${BIG / 1000}k`, connections: BIG / 100, streams: 100, topicsPerStream: 1 },
  { name: 'topics, 10k', connections: 100, streams: 1, topicsPerStream: 100 },
  { name: `topics, ${BIG / 1000}k`, connections: 100, streams: 1, topicsPerStream: BIG / 100 },
];

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
}

async function serverMem(ns: NsProcess): Promise<Mem> {
  const { usage } = await probe<{ usage: NodeJS.MemoryUsage }>(ns, { type: 'mem' });
  // VmRSS after the GCs.
  return { rss: rssOf(ns.pid), heapUsed: usage.heapUsed, external: usage.external + usage.arrayBuffers };
}

interface Measured {
  layout: Layout;
  snapshot?: { total: number; kinds: KindDelta[] };
  subscriptions: number;
  streams: number;
  setupMs: number;
  rss: number;
  heap: number;
  external: number;
  clientRss: number;
}

async function measure(layout: Layout, snapshot = false): Promise<Measured> {
  const ns = await spawnNameServer([], PROBE_FLAGS, true);
  let fleet: Fleet | undefined;
  try {
    const b = brokerClient(ns.address);
    await registerAll(b, clusterReports(8, 2, TOPICS));
    b.close();
    await sleep(500);
    const dir = path.join(RAW_DIR, 'subscribers-heap');
    if (snapshot) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await serverMem(ns);
      await probe(ns, { type: 'snapshot', file: path.join(dir, 'before.heapsnapshot') });
    }
    const before = await serverMem(ns);
    fleet = new Fleet({
      system: 'ns',
      address: ns.address,
      connections: layout.connections,
      streams: layout.streams,
      topics: TOPICS,
      topicsPerStream: layout.topicsPerStream,
      seqPath: [],
      parallelConnections: 20,
    });
    const ready = await fleet.ready;
    await sleep(1_000); // idle
    const after = await serverMem(ns);
    const clientRss = rssOf(fleet.child.pid!);
    let snap: Measured['snapshot'];
    if (snapshot) {
      await probe(ns, { type: 'snapshot', file: path.join(dir, 'after.heapsnapshot') });
      snap = diffSnapshots(path.join(dir, 'before.heapsnapshot'), path.join(dir, 'after.heapsnapshot'), 16);
    }
    const subscriptions = layout.streams * layout.connections * layout.topicsPerStream;
    note(`${layout.name}: ${fmt(ready.connections)} connections, ${fmt(ready.streams)} streams, ${fmt(subscriptions)} subscriptions in ${fmt(ready.ms)} ms; server RSS +${mib(after.rss - before.rss)} MiB, heap +${mib(after.heapUsed - before.heapUsed)} MiB`);
    return {
      layout,
      snapshot: snap,
      subscriptions,
      streams: ready.streams,
      setupMs: ready.ms,
      rss: after.rss - before.rss,
      heap: after.heapUsed - before.heapUsed,
      external: after.external - before.external,
      clientRss,
    };
  } finally {
    await fleet?.stop();
    const exited = ns.child.exitCode === null ? once(ns.child, 'exit') : Promise.resolve();
    await stopChild(ns.child);
    await exited;
  }
}

async function main(): Promise<void> {
  const m = machine();
  const results: Measured[] = [];
  for (const l of LAYOUTS) results.push(await measure(l, l === LAYOUTS[1]));
  const conn = results[0]!;
  const snapRow = results.find((r) => r.snapshot);
  const perConnRss = conn.rss / conn.layout.connections;
  const perConnHeap = conn.heap / conn.layout.connections;
  const rows = results.map((r) => {
    const c = r.layout.connections;
    const subs = r.subscriptions;
    return [
      r.layout.name,
      fmt(c),
      fmt(r.streams),
      fmt(subs),
      fmt(r.setupMs),
      mib(r.rss),
      mib(r.heap),
      mib(r.external),
      subs ? fmt((r.rss - c * perConnRss) / subs) : fmt(r.rss / c),
      subs ? fmt((r.heap - c * perConnHeap) / subs) : fmt(r.heap / c),
      subs ? fmt(r.rss / subs) : '',
      mib(r.clientRss),
    ];
  });
  const body = [
    `Server: NameServer (src/server/main.ts) holding 8 replica sets × 2 brokers × ${fmt(TOPICS.length)} topics; each layout on a fresh server, measured after the fleet is subscribed and idle for 1 s, after full GCs. Streams subscribe topics round-robin over the ${fmt(TOPICS.length)} topics (each stream received its routes once).`,
    '',
    table(
      ['layout', 'connections', 'streams', 'subscriptions', 'setup ms', 'server ΔRSS MiB', 'server Δheap MiB', 'server Δexternal MiB', 'RSS bytes / subscription (connection for row 1)', 'heap bytes / subscription (connection for row 1)', 'RSS bytes / subscription, connections included', 'client process RSS MiB'],
      rows,
    ),
    '',
    `Per connection: ${fmt(perConnRss)} bytes RSS, ${fmt(perConnHeap)} bytes heap (from row 1, subtracted in the per-subscription columns of the other rows).`,
    '',
    'No target is set for this part; the figures size a replica: e.g. 100k SDK clients (one connection and one stream each) ≈ 100k × (per connection + per stream).',
    snapRow ? `\n### What an idle stream is made of\n\nHeap snapshot diff of the server, "${snapRow.layout.name}" layout (${fmt(snapRow.streams)} streams on ${snapRow.layout.connections} connections; self size by object kind, after − before; ${mib(snapRow.snapshot!.total)} MiB in all; \`${path.relative(ROOT, path.join(RAW_DIR, 'subscribers-heap'))}\`):\n\n${table(
      ['object kind', 'count', 'count / stream', 'MiB', 'bytes / stream'],
      snapRow.snapshot!.kinds.map((k) => [k.kind.replace(/\|/g, '\\|'), fmt(k.count), fmt(k.count / snapRow.streams, 1), mib(k.size), fmt(k.size / snapRow.streams)]),
    )}` : '',
  ].join('\n');
  const perSub = (r: Measured) => fmt((r.rss - r.layout.connections * perConnRss) / r.subscriptions);
  const [, s10, s100, t10, t100] = results as [Measured, Measured, Measured, Measured, Measured];
  writeResult('subscribers', 'Subscribers at scale: memory per idle subscription and connection', body, m, [], [
    { check: 'server RSS per idle connection', value: `${fmt(perConnRss)} bytes`, target: '—', verdict: 'measured' },
    { check: 'server RSS per idle subscription, one stream each (10k / 100k)', value: `${perSub(s10)} / ${perSub(s100)} bytes`, target: '—', verdict: 'measured' },
    { check: 'server RSS per idle subscription, topics on shared streams (10k / 100k)', value: `${perSub(t10)} / ${perSub(t100)} bytes`, target: '—', verdict: 'measured' },
  ]);
}

runMain(main);
