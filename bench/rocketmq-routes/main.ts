/**
 * Part rocketmq-routes: GET_ROUTEINFO_BY_TOPIC against the real RocketMQ NameServer (5.5.0,
 * NamesrvStartup, own JVM) and this NameServer over its remoting front door, on the same data, from the
 * same load generator (bench/lib/remoting-load.ts, its own process: 64 connections, pipelined); and
 * this NameServer's gRPC GetRoute for the same route under h2load with the same connections and
 * requests in flight.
 *
 * Data, registered identically on both over REGISTER_BROKER (bodies as a 5.5.0 broker writes them):
 * 8 replica sets × 2 brokers (master and slave), each broker reporting the same 1,000 topics with
 * 8 queues; so every route has 8 broker entries of 2 addresses and 8 queue entries.
 * Cases: "1 topic": every request asks for the same topic; "1,000 topics": requests cycle over all.
 * (h2load sends one request body, so gRPC runs the 1-topic case only; GetRoute's lookup does not depend
 * on the topic, see the getroute part's 100,000-topic check.)
 *
 * Noise: targets are interleaved within each round (who goes first alternates), the ratio is taken
 * within each round and its median is the verdict; the server's CPU (all threads, /proc/PID/stat) is
 * read over each measured window, so CPU per request is shown beside the throughput.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetRouteResponse } from '../../generated/nameserver/v1/route_query';
import { RequestCode } from '../../src/server/network/remoting/codes';
import { parseLenientJson } from '../../src/server/network/remoting/json';
import { getRouteRequestBytes, grpcFrame, rawUnary } from '../lib/cluster';
import {
  cpuSecondsOf,
  ensureBinary,
  envInt,
  fmt,
  machine,
  median,
  note,
  RAW_DIR,
  runMain,
  spawnNameServer,
  spawnTs,
  stopChild,
  table,
  toolVersion,
  verdict,
  writeResult,
  type NsProcess,
} from '../lib/common';
import { checkRun, h2load } from '../lib/h2load';
import { registerBody, registerBroker, RemotingConn, V5_5_0, type RmqBrokerId } from '../lib/remoting';
import type { LoadResult, LoadSpec } from '../lib/remoting-load';
import { requireRocketmqOrReport, rocketmqVersionLine, startNamesrv, type Namesrv } from '../lib/rocketmq';

const PART = 'rocketmq-routes';
const TITLE = 'Route lookups: RocketMQ NameServer vs this NameServer (remoting and gRPC)';
const ROUNDS = envInt('BENCH_ROUNDS', 7);
const DURATION_S = envInt('BENCH_DURATION_S', 3);
const WARMUP_S = envInt('BENCH_WARMUP_S', 1);
const CONNECTIONS = envInt('BENCH_RMQ_CONNECTIONS', 64);
const DEPTH = envInt('BENCH_RMQ_DEPTH', 4);
const SETS = 8;
const TOPIC_COUNT = 1_000;
const TOPICS = Array.from({ length: TOPIC_COUNT }, (_, i) => `route-topic-${String(i).padStart(4, '0')}`);
const CLUSTER = 'bench-cluster';
const GOAL = 1.5;
const GET_ROUTE = '/nameserver.v1.RouteQuery/GetRoute';

interface Server {
  name: string;
  pid: number;
  port: number;
}

interface Run {
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Server CPU seconds per request, over the measured window. */
  cpuPerReq: number;
  /** Server CPU cores busy over the window. */
  serverCores: number;
  /** Load generator CPU cores busy (NaN for h2load). */
  clientCores: number;
}

interface Target {
  name: string;
  server: Server;
  kind: 'remoting' | 'grpc';
  topics: readonly string[];
  runs: Run[];
  /** Expected response body bytes (remoting: mean over the cycle; gRPC: the message). */
  bodyBytes: number;
}

const brokers: RmqBrokerId[] = [];
for (let s = 0; s < SETS; s++) {
  for (let id = 0; id < 2; id++) brokers.push({ cluster: CLUSTER, brokerName: `broker-${String(s).padStart(2, '0')}`, brokerId: id, addr: `127.0.${s + 1}.${id + 1}:10911` });
}

const DATA_VERSION = { counter: 1, timestamp: 1_700_000_000_000 };
/** How often every broker renews its registration (a 5.5.0 broker's registerBrokerAll period). */
const RENEW_MS = 30_000;

/**
 * Register every broker on one connection that stays open (both servers drop a broker whose connection
 * closes; RocketMQ's closes a connection idle for 120 s, so the brokers renew, see `renewAllOn`).
 */
async function registerAllOn(port: number): Promise<RemotingConn> {
  const conn = new RemotingConn(port);
  await conn.connected;
  const body = registerBody(TOPICS, DATA_VERSION);
  for (const b of brokers) await registerBroker(conn, b, body, 300_000);
  return conn;
}

/**
 * Every broker's QUERY_DATA_VERSION with the DataVersion it registered with, as a 5.5.0 broker asks
 * every 30 s (forceRegister=false): both servers answer changed=false and renew the broker. Keeps the
 * registration connection from being closed as idle during runs longer than two minutes.
 */
async function renewAllOn(conn: RemotingConn): Promise<void> {
  const dv = Buffer.from(JSON.stringify({ counter: DATA_VERSION.counter, stateVersion: 0, timestamp: DATA_VERSION.timestamp }));
  for (const b of brokers) {
    const res = await conn.request(RequestCode.QUERY_DATA_VERSION, { clusterName: b.cluster, brokerName: b.brokerName, brokerAddr: b.addr, brokerId: String(b.brokerId) }, dv, 10_000);
    if (res.code !== 0 || res.extFields.changed !== 'false') throw new Error(`QUERY_DATA_VERSION ${b.brokerName}/${b.brokerId}: code ${res.code}, changed ${res.extFields.changed}`);
  }
}

/** A route as comparable data: replica sets with their addresses and queue data, sorted. */
function normalRoute(body: Buffer): string {
  const r = parseLenientJson(body.toString('utf8')) as {
    brokerDatas: { cluster: string; brokerName: string; brokerAddrs: Record<string, string> }[];
    queueDatas: { brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number; topicSysFlag: number }[];
  };
  const bd = r.brokerDatas.map((b) => [b.cluster, b.brokerName, Object.entries(b.brokerAddrs).sort()]).sort((a, b) => String(a[1]).localeCompare(String(b[1])));
  const qd = r.queueDatas.map((q) => [q.brokerName, q.readQueueNums, q.writeQueueNums, q.perm, q.topicSysFlag]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return JSON.stringify({ bd, qd });
}

/** Ask every topic once over remoting; returns the body sizes; throws unless every route is the expected one. */
async function checkRoutes(server: Server, expected: (topic: string) => string): Promise<number[]> {
  const conn = new RemotingConn(server.port);
  await conn.connected;
  try {
    const sizes: number[] = [];
    for (const t of TOPICS) {
      const res = await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: t }, undefined, 10_000);
      if (res.code !== 0) throw new Error(`${server.name}: GET_ROUTEINFO_BY_TOPIC ${t} answered ${res.code} ${res.remark ?? ''}`);
      const got = normalRoute(res.body!);
      if (got !== expected(t)) throw new Error(`${server.name}: route of ${t} differs:\n${got}\nexpected\n${expected(t)}`);
      sizes.push(res.body!.length);
    }
    return sizes;
  } finally {
    conn.close();
  }
}

/** One remoting load run in its own process, with the server's CPU over the measured window. */
async function remotingRun(t: Target): Promise<Run> {
  const spec: LoadSpec = {
    port: t.server.port,
    connections: CONNECTIONS,
    depth: DEPTH,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    code: RequestCode.GET_ROUTEINFO_BY_TOPIC,
    version: V5_5_0,
    fields: t.topics.map((topic) => ({ topic })),
  };
  const child = spawnTs('bench/lib/remoting-load.ts', [JSON.stringify(spec)]);
  let cpu0 = 0;
  let cpu1 = 0;
  let clientCpu0 = 0;
  let clientCpu1 = 0;
  let buf = '';
  let result: LoadResult | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const msg = JSON.parse(line) as { phase?: string } & LoadResult;
      if (msg.phase === 'measure') {
        cpu0 = cpuSecondsOf(t.server.pid);
        clientCpu0 = cpuSecondsOf(child.pid!);
      } else if (msg.phase === 'done') {
        cpu1 = cpuSecondsOf(t.server.pid);
        clientCpu1 = cpuSecondsOf(child.pid!);
      } else result = msg;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || !result) throw new Error(`remoting-load against ${t.name} exited ${code}`);
  const r = result;
  const ok = r.codes['0'] ?? 0;
  if (ok !== r.requests || r.connectionErrors) throw new Error(`${t.name}: ${r.requests - ok} non-SUCCESS responses (${JSON.stringify(r.codes)}), ${r.connectionErrors} connection errors`);
  if (Math.abs(r.bodyBytes - t.bodyBytes) > 2) throw new Error(`${t.name}: mean response body ${r.bodyBytes.toFixed(1)} bytes, expected ${t.bodyBytes.toFixed(1)}`);
  return { reqPerSec: r.reqPerSec, p50Us: r.p50Us, p99Us: r.p99Us, cpuPerReq: (cpu1 - cpu0) / r.requests, serverCores: (cpu1 - cpu0) / r.seconds, clientCores: (clientCpu1 - clientCpu0) / r.seconds };
}

/** One h2load run of GetRoute with the same connections and requests in flight. */
async function grpcRun(t: Target, round: number): Promise<Run> {
  let cpu0 = 0;
  const started = setTimeout(() => (cpu0 = cpuSecondsOf(t.server.pid)), WARMUP_S * 1000);
  const r = await h2load({
    url: `http://127.0.0.1:${t.server.port}${GET_ROUTE}`,
    body: grpcFrame(getRouteRequestBytes(t.topics[0]!)),
    connections: CONNECTIONS,
    streams: DEPTH,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    label: `${PART}-grpc-${round}`,
  });
  clearTimeout(started);
  const cpu1 = cpuSecondsOf(t.server.pid);
  const problem = checkRun(r, t.bodyBytes, CONNECTIONS * DEPTH);
  if (problem) throw new Error(`h2load against ${t.name}: ${problem}`);
  // h2load reports mean latency only; p50/p99 are not available from it.
  return { reqPerSec: r.reqPerSec, p50Us: NaN, p99Us: NaN, cpuPerReq: (cpu1 - cpu0) / (r.reqPerSec * DURATION_S), serverCores: (cpu1 - cpu0) / DURATION_S, clientCores: NaN };
}

const med = (xs: number[]) => median(xs.filter((x) => Number.isFinite(x)));
const us = (x: number) => (Number.isFinite(x) ? fmt(x) : '—');

async function main(): Promise<void> {
  const m = machine();
  await requireRocketmqOrReport(PART, TITLE, m);
  ensureBinary('h2load', 'nghttp2-client');
  const cleanups: (() => Promise<void>)[] = [];
  try {
    note('starting the RocketMQ NameServer and this NameServer');
    const rmq: Namesrv = await startNamesrv();
    cleanups.push(() => rmq.stop());
    const ns: NsProcess = await spawnNameServer();
    cleanups.push(() => stopChild(ns.child));
    const rmqServer: Server = { name: 'RocketMQ NameServer', pid: rmq.pid, port: rmq.port };
    const nsServer: Server = { name: 'this NameServer', pid: ns.pid, port: ns.port };

    note(`registering ${brokers.length} brokers × ${fmt(TOPIC_COUNT)} topics on both over REGISTER_BROKER`);
    const regRmq = await registerAllOn(rmq.port);
    cleanups.push(async () => regRmq.close());
    const regNs = await registerAllOn(ns.port);
    cleanups.push(async () => regNs.close());
    let renewFailure: unknown;
    const renew = setInterval(() => {
      Promise.all([renewAllOn(regRmq), renewAllOn(regNs)]).catch((err: unknown) => (renewFailure ??= err));
    }, RENEW_MS);
    cleanups.push(async () => clearInterval(renew));

    // Both must hold the same routes: RocketMQ's answers are the reference.
    const reference = new Map<string, string>();
    {
      const conn = new RemotingConn(rmq.port);
      await conn.connected;
      for (const t of TOPICS) reference.set(t, normalRoute((await conn.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: t })).body!));
      conn.close();
    }
    const shape = JSON.parse(reference.get(TOPICS[0]!)!) as { bd: unknown[]; qd: unknown[] };
    if (shape.bd.length !== SETS || shape.qd.length !== SETS) throw new Error(`RocketMQ's route has ${shape.bd.length} broker entries and ${shape.qd.length} queue entries, expected ${SETS}`);
    const rmqSizes = await checkRoutes(rmqServer, (t) => reference.get(t)!);
    const nsSizes = await checkRoutes(nsServer, (t) => reference.get(t)!);
    const grpcResponse = await rawUnary(ns.address, GET_ROUTE, getRouteRequestBytes(TOPICS[0]!));
    const grpcRoute = GetRouteResponse.decode(grpcResponse).route!;
    if (grpcRoute.brokers.length !== SETS || grpcRoute.brokers.some((b) => b.replicas.length !== 2)) throw new Error('gRPC route shape differs');
    mkdirSync(RAW_DIR, { recursive: true });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    const cases = [
      { label: '1 topic', topics: [TOPICS[0]!] },
      { label: `${fmt(TOPIC_COUNT)} topics`, topics: TOPICS },
    ];
    const targets: Target[][] = cases.map((c) => [
      { name: `RocketMQ NameServer, remoting, ${c.label}`, server: rmqServer, kind: 'remoting', topics: c.topics, runs: [], bodyBytes: c.topics.length === 1 ? rmqSizes[0]! : mean(rmqSizes) },
      { name: `this NameServer, remoting, ${c.label}`, server: nsServer, kind: 'remoting', topics: c.topics, runs: [], bodyBytes: c.topics.length === 1 ? nsSizes[0]! : mean(nsSizes) },
      ...(c.topics.length === 1 ? [{ name: `this NameServer, gRPC GetRoute (h2load), ${c.label}`, server: nsServer, kind: 'grpc' as const, topics: c.topics, runs: [], bodyBytes: grpcResponse.length }] : []),
    ]);

    for (let round = 0; round < ROUNDS; round++) {
      for (const group of targets) {
        const order = round % 2 === 0 ? group : [...group].reverse();
        for (const t of order) {
          note(`${t.name}: round ${round + 1}/${ROUNDS}`);
          t.runs.push(t.kind === 'grpc' ? await grpcRun(t, round) : await remotingRun(t));
          if (renewFailure) throw renewFailure;
        }
      }
    }

    const verdicts = [];
    const sections: string[] = [];
    const perRound = (xs: number[]) => xs.map((x) => fmt(x, 2)).join(', ');
    for (const [ci, group] of targets.entries()) {
      const [tr, tn, tg] = group as [Target, Target, Target | undefined];
      const ratio = tn.runs.map((r, i) => r.reqPerSec / tr.runs[i]!.reqPerSec);
      const grpcRatio = tg ? tg.runs.map((r, i) => r.reqPerSec / tr.runs[i]!.reqPerSec) : [];
      const cpuRatio = tn.runs.map((r, i) => tr.runs[i]!.cpuPerReq / r.cpuPerReq);
      const rows = group.map((t) => [
        t.name,
        ...t.runs.map((r) => fmt(r.reqPerSec)),
        fmt(med(t.runs.map((r) => r.reqPerSec))),
        us(med(t.runs.map((r) => r.p50Us))),
        us(med(t.runs.map((r) => r.p99Us))),
        fmt(med(t.runs.map((r) => r.cpuPerReq * 1e6)), 1),
        fmt(med(t.runs.map((r) => r.serverCores)), 2),
        Number.isFinite(med(t.runs.map((r) => r.clientCores))) ? fmt(med(t.runs.map((r) => r.clientCores)), 2) : '—',
        fmt(t.bodyBytes),
      ]);
      const v = median(ratio);
      sections.push(
        `### ${cases[ci]!.label}`,
        '',
        table(['target', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1} req/s`), 'median req/s', 'p50 µs', 'p99 µs', 'server CPU µs / request', 'server cores busy', 'load generator cores busy', 'response body bytes'], rows),
        '',
        table(
          ['ratio (median of per-round ratios)', 'value', 'per round', 'goal', 'verdict'],
          [
            ['this NameServer over remoting / RocketMQ, req/s', fmt(v, 2), perRound(ratio), `≥ ${GOAL}`, verdict(v, GOAL, true)],
            ...(tg ? [['this NameServer over gRPC / RocketMQ over remoting, req/s', fmt(median(grpcRatio), 2), perRound(grpcRatio), '—', 'measured']] : []),
            ['RocketMQ server CPU per request / ours (remoting)', fmt(median(cpuRatio), 2), perRound(cpuRatio), '—', 'measured'],
          ],
        ),
        '',
      );
      verdicts.push({
        check: `GET_ROUTEINFO_BY_TOPIC req/s, ours / RocketMQ NameServer (remoting, 64 connections, ${cases[ci]!.label})`,
        value: `${fmt(v, 2)} (${fmt(med(tn.runs.map((r) => r.reqPerSec)))} / ${fmt(med(tr.runs.map((r) => r.reqPerSec)))})`,
        target: `≥ ${GOAL}`,
        verdict: verdict(v, GOAL, true),
      });
      if (tg) {
        verdicts.push({
          check: `GetRoute over gRPC (h2load) / RocketMQ GET_ROUTEINFO_BY_TOPIC, req/s (${cases[ci]!.label})`,
          value: `${fmt(median(grpcRatio), 2)} (${fmt(med(tg.runs.map((r) => r.reqPerSec)))} / ${fmt(med(tr.runs.map((r) => r.reqPerSec)))})`,
          target: '—',
          verdict: 'measured',
        });
      }
    }
    writeFileSync(path.join(RAW_DIR, `${PART}.json`), JSON.stringify(targets.flat().map((t) => ({ name: t.name, runs: t.runs })), null, 1));
    const body = [
      `Data on both servers, registered over REGISTER_BROKER with the bodies a RocketMQ 5.5.0 broker sends: ${SETS} replica sets × 2 brokers (master, slave), each reporting the same ${fmt(TOPIC_COUNT)} topics (8 queues); every route: ${SETS} broker entries with 2 addresses, ${SETS} queue entries; every broker renews with QUERY_DATA_VERSION every ${RENEW_MS / 1000} s, as a 5.5.0 broker with forceRegister=false does (RocketMQ closes a connection idle for 120 s, and with it drops a broker). Before the runs every topic's route was asked from both over remoting and compared (same brokers, addresses and queue data: identical). Response bodies: RocketMQ ${fmt(rmqSizes[0]!)} bytes, ours ${fmt(nsSizes[0]!)} bytes (both standard JSON, as for 5.5.0 clients; RocketMQ adds empty fields); gRPC GetRoute ${fmt(grpcResponse.length)} bytes (protobuf).`,
      '',
      `Load: [\`bench/lib/remoting-load.ts\`](../lib/remoting-load.ts) in its own process, ${CONNECTIONS} connections × ${DEPTH} pipelined requests in flight, JSON headers with version 513 (5.5.0) as the Java client sends them, ${ROUNDS} rounds × ${DURATION_S} s after ${WARMUP_S} s warm-up per target; every response checked SUCCESS, no connection error, mean body size as expected. gRPC: \`h2load -t1 -c${CONNECTIONS} -m${DEPTH}\` with the GetRoute frame of the first topic, checked as in the getroute part. Targets interleaved within each round (order reversed every other round). Server CPU: utime + stime of the whole process (all JVM threads) from /proc/PID/stat over the measured window.`,
      '',
      ...sections,
      'Reading the figures: the machine has 2 cores shared by the server, the load generator and other sessions\' tests. RocketMQ\'s NameServer serves lookups on a pool of 8 threads and can use both cores; this NameServer serves on one thread (Node). "server CPU µs / request" is the cost independent of how many cores were free.',
    ].join('\n');
    writeResult(PART, TITLE, body, m, [rocketmqVersionLine(), toolVersion('h2load', ['--version'])], verdicts);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

runMain(main);
