/**
 * Part 2, fan-out latency. 10,000 subscribers of ONE hot topic — 100 connections × 100 WatchRoutes
 * streams, each stream following `route-0` — in a separate client process (watch-fleet.ts). Every
 * one of them watches the topic a change touches, which is the worst case "one change, everybody
 * is told" that the target is about (100 connections × 1 stream × 100 topics would spread one
 * change over only 1 % of the subscriptions). A broker change (a one-topic ReportDelta from the
 * leader of replica set rs-000) sets the topic's queue count to a sequence number; the sender takes
 * its wall clock just before the call; the fleet timestamps each stream's first message carrying that
 * number and reports the first, median and LAST arrival. BENCH_CHANGES changes (after 3 warm-up
 * changes) give p50/p99.
 *
 * Same harness against etcd: 100 connections × 100 Watch streams, one watcher each on one key, whose
 * value is the same encoded route with the same sequence number; the change is a Put. Both systems
 * are up at once (a fleet process each) and take turns, so both see the same background load.
 */
import { GetRouteResponse, type Route } from '../../generated/nameserver/v1/route_query';
import { call } from '../../test/helpers/server';
import {
  envInt,
  fmt,
  FORCE_PROFILE,
  machine,
  median,
  note,
  percentile,
  probe,
  PROBE_FLAGS,
  RAW_DIR,
  ROOT,
  runMain,
  sleep,
  spawnNameServer,
  stopChild,
  table,
  verdict,
  wallMs,
  writeResult,
  type NsProcess,
} from '../lib/common';
import { brokerClient, clusterReports, getRouteRequestBytes, queueDelta, rawUnary, registerAll } from '../lib/cluster';
import { Fleet, type FleetSeq } from '../lib/fleet';
import { summarize, summaryMarkdown } from '../lib/profile';
import { kvClient, promisify, startEtcd } from '../etcd/etcd';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const CONNECTIONS = envInt('BENCH_FANOUT_CONNECTIONS', 100);
const STREAMS = envInt('BENCH_FANOUT_STREAMS', 100);
const CHANGES = envInt('BENCH_CHANGES', 30);
const WARMUP_CHANGES = 3;
const PROFILE_CHANGES = 20;
const GAP_MS = 100;
const TOPICS = Array.from({ length: 10 }, (_, i) => `route-${i}`);
const HOT = TOPICS[0]!;
const KEY = `/routes/${HOT}`;
/** NameServer: WatchRoutesResponse.events[0].route.brokers[0].read_queue_nums */
const NS_SEQ_PATH = [1, 3, 4, 4];
/** etcd: WatchResponse.events[0].kv.value → GetRouteResponse.route.brokers[0].read_queue_nums */
const ETCD_SEQ_PATH = [11, 2, 5, 1, 4, 4];
/** Sequence numbers start above the initial 8 queues and stay ≤ 1024. */
const seqOf = (k: number) => 100 + k;

interface Sample {
  seq: number;
  /** ms from the change to the first / median / last subscriber. */
  first: number;
  median: number;
  last: number;
  /** ms from the change to the change call's answer (ReportDelta ack / etcd Put response). */
  ack: number;
}

interface SystemResult {
  name: string;
  setupMs: number;
  streams: number;
  samples: Sample[];
}

/** A system under test: its fleet, how to make change `seq`, and how to tear it down. */
interface System {
  name: string;
  fleet: Fleet;
  change(seq: number): Promise<void>;
  close(): Promise<void>;
  result: SystemResult;
}

/** One change: arm the fleet, change, wait until every stream saw it. */
async function oneChange(sys: System, k: number, record: boolean): Promise<void> {
  const seq = seqOf(k);
  const got = await sys.fleet.expect(seq);
  const t0 = wallMs();
  await sys.change(seq);
  const ack = wallMs() - t0;
  const m: FleetSeq = await got();
  if (m.count !== sys.result.streams) throw new Error(`${sys.name}: ${m.count} of ${sys.result.streams} streams saw ${seq}`);
  if (record) sys.result.samples.push({ seq, first: m.first - t0, median: m.median - t0, last: m.last - t0, ack });
}

async function ready(sys: System): Promise<System> {
  const r = await sys.fleet.ready;
  note(`${sys.name}: ${fmt(r.streams)} streams on ${r.connections} connections ready in ${fmt(r.ms)} ms`);
  sys.result.setupMs = r.ms;
  sys.result.streams = r.streams;
  return sys;
}

/** A NameServer with the cluster registered and a fleet on the hot topic (probe preloaded if asked). */
async function nameServer(withProbe = false): Promise<{ sys: System; route: Route; ns: NsProcess }> {
  // Progress messages (default every 10 s, to all 10,000 streams) are pushed back out of the way: with
  // both systems up at once, their bursts would land in etcd's measurements too.
  const args = ['--watch-progress-interval-ms', '3600000'];
  const ns = withProbe ? await spawnNameServer(args, PROBE_FLAGS, true) : await spawnNameServer(args);
  const brokers = brokerClient(ns.address);
  await registerAll(brokers, clusterReports(8, 2, TOPICS));
  const route = GetRouteResponse.decode(await rawUnary(ns.address, '/nameserver.v1.RouteQuery/GetRoute', getRouteRequestBytes(HOT))).route!;
  const fleet = new Fleet({ system: 'ns', address: ns.address, connections: CONNECTIONS, streams: STREAMS, topics: [HOT], topicsPerStream: 1, seqPath: NS_SEQ_PATH });
  let counter = 1;
  const sys: System = {
    name: 'NameServer',
    fleet,
    async change(seq) {
      const res = await call(brokers, 'reportDelta', queueDelta(0, 0, HOT, seq, counter));
      if (res.reregisterRequired) throw new Error(`delta refused: ${res.reason}`);
      counter++;
    },
    async close() {
      await fleet.stop();
      brokers.close();
      await stopChild(ns.child);
    },
    result: { name: 'NameServer', setupMs: 0, streams: 0, samples: [] },
  };
  return { sys: await ready(sys), route, ns };
}

/** etcd with the key holding the same route bytes, and a fleet watching it. */
async function etcdSystem(route: Route): Promise<{ sys: System; version: string }> {
  const etcd = await startEtcd();
  const kv = kvClient(etcd.address);
  const value = (seq: number) => {
    const r: Route = { ...route, brokers: route.brokers.map((b, i) => (i === 0 ? { ...b, readQueueNums: seq, writeQueueNums: seq } : b)) };
    return Buffer.from(GetRouteResponse.encode({ route: r, mayBeIncomplete: false }).finish());
  };
  await promisify((cb) => kv.put({ key: Buffer.from(KEY), value: value(8) }, cb));
  const fleet = new Fleet({ system: 'etcd', address: etcd.address, connections: CONNECTIONS, streams: STREAMS, topics: [], topicsPerStream: 0, key: KEY, seqPath: ETCD_SEQ_PATH });
  const sys: System = {
    name: 'etcd',
    fleet,
    change: (seq) => promisify<object>((cb) => kv.put({ key: Buffer.from(KEY), value: value(seq) }, cb)).then(() => undefined),
    async close() {
      await fleet.stop();
      kv.close();
      await etcd.stop();
    },
    result: { name: 'etcd', setupMs: 0, streams: 0, samples: [] },
  };
  return { sys: await ready(sys), version: etcd.version };
}

function row(r: SystemResult): (string | number)[] {
  const last = r.samples.map((s) => s.last);
  return [
    r.name,
    fmt(r.streams),
    fmt(r.samples.length),
    fmt(median(r.samples.map((s) => s.ack)), 2),
    fmt(median(r.samples.map((s) => s.first)), 2),
    fmt(median(r.samples.map((s) => s.median)), 2),
    fmt(percentile(last, 50), 2),
    fmt(percentile(last, 99), 2),
    fmt(Math.max(...last), 2),
    fmt(r.setupMs),
  ];
}

async function main(): Promise<void> {
  const m = machine();
  const systems: System[] = [];
  let version = '';
  let route: Route;
  try {
    note(`NameServer: ${CONNECTIONS} connections × ${STREAMS} streams on ${HOT}`);
    const n = await nameServer();
    systems.push(n.sys);
    route = n.route;
    note(`etcd: ${CONNECTIONS} connections × ${STREAMS} streams on ${KEY}`);
    const e = await etcdSystem(route);
    systems.push(e.sys);
    version = e.version;
    // Interleaved, alternating which goes first, so both see the same background load.
    for (let k = 1; k <= WARMUP_CHANGES + CHANGES; k++) {
      const order = k % 2 ? systems : [...systems].reverse();
      for (const sys of order) {
        await oneChange(sys, k, k > WARMUP_CHANGES);
        await sleep(GAP_MS);
      }
    }
  } finally {
    for (const sys of systems) await sys.close().catch(() => undefined);
  }
  const [ns, etcd] = systems.map((x) => x.result) as [SystemResult, SystemResult];
  const nsP50 = percentile(ns.samples.map((s) => s.last), 50);
  const nsP99 = percentile(ns.samples.map((s) => s.last), 99);
  const etcdP50 = percentile(etcd.samples.map((s) => s.last), 50);
  const etcdP99 = percentile(etcd.samples.map((s) => s.last), 99);
  const missed = nsP50 >= etcdP50 || nsP99 >= etcdP99;
  let profileMd = '';
  if (missed || FORCE_PROFILE) {
    note(`profiling the NameServer's CPU over ${PROFILE_CHANGES} changes`);
    mkdirSync(RAW_DIR, { recursive: true });
    const file = path.join(RAW_DIR, 'fanout-nameserver.cpuprofile');
    const p = await nameServer(true);
    const result = p.sys.result;
    try {
      await probe(p.ns, { type: 'cpu-start' });
      for (let k = 1; k <= WARMUP_CHANGES + PROFILE_CHANGES; k++) {
        await oneChange(p.sys, k, k > WARMUP_CHANGES);
        await sleep(GAP_MS);
      }
      await probe(p.ns, { type: 'cpu-stop', file });
    } finally {
      await p.sys.close();
    }
    profileMd = summaryMarkdown(
      summarize(file, 20),
      `NameServer CPU profile over ${WARMUP_CHANGES + PROFILE_CHANGES} changes only (V8 sampling profiler started and stopped in the server through bench/lib/probe.mjs, same format as --cpu-prof; last subscriber p50 ${fmt(percentile(result.samples.map((s) => s.last), 50), 1)} ms); \`${path.relative(ROOT, file)}\``,
    );
  }
  const body = [
    `${fmt(CONNECTIONS * STREAMS)} subscribers of one topic/key: ${CONNECTIONS} connections × ${STREAMS} streams, one subscription each, in one client process (raw bytes, one varint read per message). ` +
      `A change is a one-topic ReportDelta (NameServer) or a Put (etcd, data dir on tmpfs) of a route of ${route.brokers.length} replica sets carrying a sequence number; ` +
      `latency = receiver's wall clock at a stream's first message with that number − sender's wall clock before the call. Both systems are up at once (two fleet processes) and take turns, alternating which goes first: ${CHANGES} measured changes each after ${WARMUP_CHANGES} warm-up ones, ${GAP_MS} ms apart (p99 of ${CHANGES} samples is their maximum or next to it).`,
    '',
    table(['system', 'subscribers', 'changes', 'ack ms (p50)', 'first ms (p50)', 'median subscriber ms (p50)', 'LAST ms p50', 'LAST ms p99', 'LAST ms max', 'setup ms'], [row(ns), row(etcd)]),
    '',
    table(
      ['comparison', 'NameServer', 'etcd', 'target', 'verdict'],
      [
        ['last subscriber p50', `${fmt(nsP50, 2)} ms`, `${fmt(etcdP50, 2)} ms`, 'below etcd', verdict(nsP50, etcdP50, false, 2, ' ms')],
        ['last subscriber p99', `${fmt(nsP99, 2)} ms`, `${fmt(etcdP99, 2)} ms`, 'below etcd', verdict(nsP99, etcdP99, false, 2, ' ms')],
      ],
    ),
    profileMd ? `\n### CPU profile\n\n${profileMd}` : '',
  ].join('\n');
  writeResult('fanout', 'Fan-out latency: one change, 10,000 subscribers', body, m, [version, `@grpc/grpc-js ${require('@grpc/grpc-js/package.json').version}`], [
    { check: 'change → last of 10,000 subscribers, p50', value: `${fmt(nsP50, 1)} ms (etcd ${fmt(etcdP50, 1)} ms)`, target: 'below etcd', verdict: verdict(nsP50, etcdP50, false, 1, ' ms') },
    { check: 'change → last of 10,000 subscribers, p99', value: `${fmt(nsP99, 1)} ms (etcd ${fmt(etcdP99, 1)} ms)`, target: 'below etcd', verdict: verdict(nsP99, etcdP99, false, 1, ' ms') },
  ]);
}

runMain(main);
