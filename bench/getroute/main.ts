/**
 * Part 1, GetRoute throughput: h2load (one thread, 8 connections × 32 streams) against
 *   (a) the NameServer (src/server/main.ts, own process) serving a realistic route: 8 replica sets × 2
 *       replicas registered over BrokerRegistry, 10 topics in total;
 *   (b) the framework's ceiling: ceiling-server.ts answering the same response bytes from a constant;
 *   (c) etcd: serializable Range of one key whose value has the same size (it is those bytes);
 *   (d) a second NameServer that also holds 100,000 topics (one more broker, chunked report);
 *   (e) grpc-go's ceiling: bench/ceiling-go (Go module, grpc-go pinned in its go.mod) answering the same
 *       bytes through a pass-through codec, once with GOMAXPROCS=1 (one core, as Node serves) and once
 *       with Go's default (every core).
 * The four run interleaved, BENCH_ROUNDS rounds of BENCH_DURATION_S seconds each (after
 * BENCH_WARMUP_S of warm-up). The machine is shared, so throughput drifts between rounds: ratios are
 * taken within each round (targets measured seconds apart under the same background load) and the
 * median of those per-round ratios is the headline.
 * If a target is missed (or BENCH_PROFILE=1), the NameServer and the ceiling get one more run each
 * with V8's CPU profiler on (started and stopped in the server by bench/lib/probe.mjs around the
 * h2load run, the .cpuprofile format of --cpu-prof), summarised and compared function by function.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetRouteResponse } from '../../generated/nameserver/v1/route_query';
import {
  ensureBinary,
  envInt,
  median,
  fmt,
  FORCE_PROFILE,
  machine,
  note,
  probe,
  PROBE_FLAGS,
  RAW_DIR,
  ROOT,
  runMain,
  spawnNameServer,
  spawnTs,
  stopChild,
  table,
  toolVersion,
  verdict,
  waitForLine,
  writeResult,
  type NsProcess,
} from '../lib/common';
import { brokerClient, brokerReport, chunked, clusterReports, getRouteRequestBytes, grpcFrame, rawUnary, registerAll } from '../lib/cluster';
import { checkRun, h2load, type H2loadResult } from '../lib/h2load';
import { diffMarkdown, summarize, summaryMarkdown, type ProfileSummary } from '../lib/profile';
import { decodeRangeResponse, encodeRangeRequest, kvClient, promisify, startEtcd, type Etcd } from '../etcd/etcd';

const ROUNDS = envInt('BENCH_ROUNDS', 6);
const DURATION_S = envInt('BENCH_DURATION_S', 3);
const WARMUP_S = envInt('BENCH_WARMUP_S', 1);
const BIG_TOPICS = envInt('BENCH_BIG_TOPICS', 100_000);
const SETS = 8;
const REPLICAS = 2;
const TOPICS = Array.from({ length: 10 }, (_, i) => `route-${i}`);
const HOT = TOPICS[0]!;
const GET_ROUTE = '/nameserver.v1.RouteQuery/GetRoute';
const RANGE = '/etcdserverpb.KV/Range';
const ETCD_KEY = Buffer.from(`/routes/${HOT}`);

interface Target {
  name: string;
  port: number;
  path: string;
  body: Buffer;
  /** Expected response message size (for the DATA-bytes check). */
  responseBytes: number;
  runs: H2loadResult[];
}

/** A NameServer with the realistic cluster registered (and optionally a big broker). */
async function nameServer(bigTopics: number, withProbe = false): Promise<NsProcess> {
  const ns = withProbe ? await spawnNameServer([], PROBE_FLAGS, true) : await spawnNameServer();
  const client = brokerClient(ns.address);
  await registerAll(client, clusterReports(SETS, REPLICAS, TOPICS));
  if (bigTopics > 0) {
    const names = Array.from({ length: bigTopics }, (_, i) => `bulk-topic-${i}`);
    await registerAll(client, chunked(brokerReport(100, 0, names), Math.max(1, Math.ceil(bigTopics / 10_000))));
  }
  client.close();
  return ns;
}

async function ceiling(responseFile: string, withProbe = false): Promise<NsProcess> {
  const child = spawnTs('bench/getroute/ceiling-server.ts', [responseFile], {
    nodeFlags: withProbe ? PROBE_FLAGS : [],
    stdio: ['ignore', 'pipe', 'inherit', ...(withProbe ? (['ipc'] as const) : [])],
  });
  const m = await waitForLine(child, /"port":(\d+)/, 60_000, 'ceiling server');
  child.stdout!.resume();
  const port = Number(m[1]);
  return { child, port, address: `127.0.0.1:${port}`, pid: child.pid! };
}

/** grpc-go's version as bench/ceiling-go/go.mod pins it. */
function goModVersion(): string {
  return /google\.golang\.org\/grpc (v\S+)/.exec(readFileSync(path.join(ROOT, 'bench/ceiling-go/go.mod'), 'utf8'))?.[1] ?? '?';
}

/** Build bench/ceiling-go (Go modules; grpc-go from the module proxy the first time) into results/raw. */
function buildGoCeiling(): string {
  const out = path.join(RAW_DIR, 'ceiling-go');
  try {
    execFileSync('go', ['build', '-o', out, '.'], { cwd: path.join(ROOT, 'bench/ceiling-go'), stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new Error(`cannot build bench/ceiling-go (needs Go 1.26+ and, the first time, the Go module proxy): ${(err as Error).message}`);
  }
  return out;
}

async function goCeiling(binary: string, responseFile: string, procs: number | undefined): Promise<NsProcess> {
  const child = spawn(binary, [responseFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(procs ? { GOMAXPROCS: String(procs) } : {}) } });
  const m = await waitForLine(child, /"port":(\d+)/, 60_000, 'grpc-go ceiling');
  child.stdout!.resume();
  const port = Number(m[1]);
  return { child, port, address: `127.0.0.1:${port}`, pid: child.pid! };
}

async function run(t: Target, round: number): Promise<H2loadResult> {
  note(`h2load → ${t.name} (round ${round + 1}/${ROUNDS}, ${DURATION_S} s)`);
  const r = await h2load({
    url: `http://127.0.0.1:${t.port}${t.path}`,
    body: t.body,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    label: `getroute-${t.name.replace(/\W+/g, '_')}-${round}`,
  });
  const problem = checkRun(r, t.responseBytes);
  if (problem) throw new Error(`h2load against ${t.name}: ${problem}`);
  t.runs.push(r);
  return r;
}

/** Median over rounds: robust to one round disturbed by other load on the shared machine. */
const mean = (t: Target) => median(t.runs.map((r) => r.reqPerSec));

/** Profile a NameServer and the ceiling under the same load (one run each, profiler on during h2load only). */
async function profile(responseFile: string, nsBody: Buffer, responseBytes: number): Promise<string> {
  const dir = path.join(RAW_DIR, 'getroute-profiles');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  const summaries: ProfileSummary[] = [];
  for (const which of ['NameServer', 'ceiling'] as const) {
    const file = path.join(dir, `${which}.cpuprofile`);
    const proc = which === 'NameServer' ? await nameServer(0, true) : await ceiling(responseFile, true);
    const t: Target = { name: `${which} (profiled)`, port: proc.port, path: GET_ROUTE, body: nsBody, responseBytes, runs: [] };
    await probe(proc, { type: 'cpu-start' });
    const r = await run(t, 0);
    await probe(proc, { type: 'cpu-stop', file });
    await stopChild(proc.child, 'SIGTERM');
    const sum = summarize(file, 15);
    summaries.push(sum);
    out.push(summaryMarkdown(sum, `**${which}** profiled during one h2load run (${fmt(r.reqPerSec)} req/s with the profiler on); \`${path.relative(ROOT, file)}\``));
  }
  out.push(diffMarkdown(summaries[0]!, summaries[1]!, 'NameServer', 'ceiling'));
  return out.join('\n\n');
}

async function main(): Promise<void> {
  const m = machine();
  ensureBinary('h2load', 'nghttp2-client');
  const cleanups: (() => Promise<void>)[] = [];
  try {
    note('starting NameServer (10 topics) and NameServer (+100k topics)');
    const ns = await nameServer(0);
    cleanups.push(() => stopChild(ns.child));
    const nsBig = await nameServer(BIG_TOPICS);
    cleanups.push(() => stopChild(nsBig.child));

    // Sanity: the route is the realistic one, and both NameServers serve the same bytes.
    const req = getRouteRequestBytes(HOT);
    const response = await rawUnary(ns.address, GET_ROUTE, req);
    const route = GetRouteResponse.decode(response).route!;
    if (route.brokers.length !== SETS || route.brokers.some((b) => b.replicas.length !== REPLICAS)) {
      throw new Error(`unexpected route shape: ${route.brokers.length} replica sets`);
    }
    const responseBig = await rawUnary(nsBig.address, GET_ROUTE, req);
    if (!responseBig.equals(response)) throw new Error('the 100k-topic NameServer serves other bytes for the same route');
    mkdirSync(RAW_DIR, { recursive: true });
    const responseFile = path.join(RAW_DIR, 'getroute-response.bin');
    writeFileSync(responseFile, response);

    note('starting ceiling server');
    const ceil = await ceiling(responseFile);
    cleanups.push(() => stopChild(ceil.child));
    const fromCeiling = await rawUnary(`127.0.0.1:${ceil.port}`, GET_ROUTE, req);
    if (!fromCeiling.equals(response)) throw new Error('ceiling server answers other bytes');

    note('building and starting the grpc-go ceiling (GOMAXPROCS=1 and default)');
    const goBinary = buildGoCeiling();
    const go1 = await goCeiling(goBinary, responseFile, 1);
    cleanups.push(() => stopChild(go1.child));
    const goN = await goCeiling(goBinary, responseFile, undefined);
    cleanups.push(() => stopChild(goN.child));
    for (const g of [go1, goN]) {
      if (!(await rawUnary(g.address, GET_ROUTE, req)).equals(response)) throw new Error('grpc-go ceiling answers other bytes');
    }

    note('starting etcd');
    const etcd: Etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const kv = kvClient(etcd.address);
    await promisify((cb) => kv.put({ key: ETCD_KEY, value: response }, cb));
    kv.close();
    const rangeReq = encodeRangeRequest({ key: ETCD_KEY, serializable: true });
    const rangeRes = await rawUnary(etcd.address, RANGE, rangeReq);
    const kvs = decodeRangeResponse(rangeRes).kvs;
    if (kvs.length !== 1 || kvs[0]!.value.length !== response.length) throw new Error('etcd Range sanity check failed');

    const nsBody = grpcFrame(req);
    const targets: Target[] = [
      { name: 'NameServer, 10 topics', port: ns.port, path: GET_ROUTE, body: nsBody, responseBytes: response.length, runs: [] },
      { name: 'ceiling (bare grpc-js, constant)', port: ceil.port, path: GET_ROUTE, body: nsBody, responseBytes: response.length, runs: [] },
      { name: 'etcd Range (serializable)', port: etcd.port, path: RANGE, body: grpcFrame(rangeReq), responseBytes: rangeRes.length, runs: [] },
      { name: `NameServer, ${fmt(BIG_TOPICS)} + 10 topics`, port: nsBig.port, path: GET_ROUTE, body: nsBody, responseBytes: response.length, runs: [] },
      { name: 'ceiling (bare grpc-go, constant, GOMAXPROCS=1)', port: go1.port, path: GET_ROUTE, body: nsBody, responseBytes: response.length, runs: [] },
      { name: `ceiling (bare grpc-go, constant, GOMAXPROCS=${os.availableParallelism()})`, port: goN.port, path: GET_ROUTE, body: nsBody, responseBytes: response.length, runs: [] },
    ];
    for (let round = 0; round < ROUNDS; round++) for (const t of targets) await run(t, round);
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;

    const [tNs, tCeil, tEtcd, tBig, tGo1, tGoN] = targets as [Target, Target, Target, Target, Target, Target];
    /** Per-round ratios a/b, and their median. */
    const paired = (a: Target, b: Target) => a.runs.map((r, i) => r.reqPerSec / b.runs[i]!.reqPerSec);
    const pCeil = paired(tNs, tCeil);
    const pEtcd = paired(tNs, tEtcd);
    const pBig = paired(tBig, tNs);
    const pCeilEtcd = paired(tCeil, tEtcd);
    const pGo1 = paired(tNs, tGo1);
    const pGoN = paired(tNs, tGoN);
    const pJsGo1 = paired(tCeil, tGo1);
    const vsCeiling = median(pCeil);
    const vsEtcd = median(pEtcd);
    const bigRatio = median(pBig);
    const perRound = (xs: number[]) => xs.map((x) => fmt(x, 2)).join(', ');
    const rows = targets.map((t) => [
      t.name,
      ...t.runs.map((r) => fmt(r.reqPerSec)),
      fmt(mean(t)),
      fmt(t.runs.reduce((s, r) => s + r.meanLatencyMs, 0) / t.runs.length, 2),
      fmt(t.responseBytes),
      fmt(t.runs.reduce((s, r) => s + r.succeeded, 0)),
    ]);
    const missed = vsCeiling < 0.9 || vsEtcd < 1.5 || Math.abs(1 - bigRatio) > 0.1;
    let profileMd = '';
    if (missed || FORCE_PROFILE) {
      note('profiling NameServer and ceiling (V8 CPU profiler, one run each)');
      profileMd = await profile(responseFile, nsBody, response.length);
    }
    const body = [
      `Route: \`${HOT}\`, ${SETS} replica sets × ${REPLICAS} replicas; GetRoute response ${response.length} bytes; etcd value ${response.length} bytes (the same bytes), Range response ${rangeRes.length} bytes.`,
      `Load: \`${tNs.runs[0]!.command.replace(/ -d \S+/, ' -d <grpc-frame>').replace(/http:\S+/, 'http://127.0.0.1:PORT/<method>')}\`, ${ROUNDS} interleaved round(s); every run checked: grpc-js sanity call OK with identical bytes, all responses 2xx, bytes per response (less header blocks) = one gRPC frame of the expected size plus HTTP/2 framing (an error status is a trailers-only response with no DATA).`,
      '',
      table(['target', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1} req/s`), 'median req/s', 'mean latency ms', 'response bytes', 'requests'], rows),
      '',
      table(
        ['ratio (median of per-round ratios)', 'value', 'per round', 'ratio of medians', 'target', 'verdict'],
        [
          ['NameServer / ceiling', fmt(vsCeiling, 3), perRound(pCeil), fmt(mean(tNs) / mean(tCeil), 3), '≥ 0.9', verdict(vsCeiling, 0.9, true, 3)],
          ['NameServer / etcd', fmt(vsEtcd, 3), perRound(pEtcd), fmt(mean(tNs) / mean(tEtcd), 3), '≥ 1.5', verdict(vsEtcd, 1.5, true, 3)],
          ['(for reference) ceiling / etcd', fmt(median(pCeilEtcd), 3), perRound(pCeilEtcd), fmt(mean(tCeil) / mean(tEtcd), 3), '—', 'what the framework alone reaches against etcd'],
          ['NameServer / grpc-go ceiling, one core (GOMAXPROCS=1)', fmt(median(pGo1), 3), perRound(pGo1), fmt(mean(tNs) / mean(tGo1), 3), '—', 'measured'],
          ['grpc-js ceiling / grpc-go ceiling, one core', fmt(median(pJsGo1), 3), perRound(pJsGo1), fmt(mean(tCeil) / mean(tGo1), 3), '—', 'where Node itself stands, core for core'],
          [`NameServer / grpc-go ceiling, every core (GOMAXPROCS=${os.availableParallelism()})`, fmt(median(pGoN), 3), perRound(pGoN), fmt(mean(tNs) / mean(tGoN), 3), '—', 'measured'],
          [`${fmt(BIG_TOPICS)} topics / 10 topics`, fmt(bigRatio, 3), perRound(pBig), fmt(mean(tBig) / mean(tNs), 3), 'within ±10 %', Math.abs(1 - bigRatio) <= 0.1 ? `met (${fmt((bigRatio - 1) * 100, 1)} %)` : `**missed** (${fmt((bigRatio - 1) * 100, 1)} %)`],
        ],
      ),
      profileMd ? `\n### CPU profiles\n\n${profileMd}` : '',
    ].join('\n');
    const bigOk = Math.abs(1 - bigRatio) <= 0.1;
    writeResult('getroute', 'GetRoute throughput (h2load)', body, m, [toolVersion('h2load', ['--version']), etcd.version, `@grpc/grpc-js ${require('@grpc/grpc-js/package.json').version}`, `grpc-go ${goModVersion()} (${toolVersion('go', ['version'])})`], [
      { check: 'GetRoute req/s, NameServer / bare grpc-js ceiling', value: `${fmt(vsCeiling, 3)} (${fmt(mean(tNs))} / ${fmt(mean(tCeil))})`, target: '≥ 0.9', verdict: verdict(vsCeiling, 0.9, true, 3) },
      { check: 'GetRoute req/s, NameServer / etcd serializable Range', value: `${fmt(vsEtcd, 3)} (${fmt(mean(tNs))} / ${fmt(mean(tEtcd))})`, target: '≥ 1.5', verdict: verdict(vsEtcd, 1.5, true, 3) },
      { check: `GetRoute req/s, ${fmt(BIG_TOPICS)} topics / 10 topics`, value: fmt(bigRatio, 3), target: 'within ±10 %', verdict: bigOk ? `met (${fmt((bigRatio - 1) * 100, 1)} %)` : `**missed** (${fmt((bigRatio - 1) * 100, 1)} %)` },
      { check: 'GetRoute req/s, NameServer / bare grpc-go ceiling on one core (GOMAXPROCS=1)', value: `${fmt(median(pGo1), 3)} (${fmt(mean(tNs))} / ${fmt(mean(tGo1))})`, target: '—', verdict: 'measured' },
      { check: `GetRoute req/s, bare grpc-js ceiling / bare grpc-go ceiling (one core; all ${os.availableParallelism()} cores)`, value: `${fmt(median(pJsGo1), 3)}; ${fmt(median(paired(tCeil, tGoN)), 3)} (${fmt(mean(tCeil))} / ${fmt(mean(tGo1))}; ${fmt(mean(tGoN))})`, target: '—', verdict: 'measured' },
    ]);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

runMain(main);
