/**
 * Part 3, registration cost and memory, measured in-process on the Registry (src/server/metadata/registry.ts)
 * with `node --expose-gc`:
 *  - a full report of 1k / 10k / 100k topics: decode (from the wire bytes), validate, and apply
 *    (first registration; a re-registration with a new data version and the same topics; a
 *    re-send of the held data version), plus 100k as 10 chunks;
 *  - an unchanged heartbeat and a one-topic delta on a broker holding 1k / 10k / 100k topics
 *    (target: O(1), i.e. flat across the three sizes);
 *  - memory: 1,000 brokers (500 replica sets × 2) × 1,000 topics, each topic on 8 replica sets
 *    (1,000,000 topic-on-broker entries, 63,000 routes); reports are decoded from their encoded bytes
 *    so every broker's strings are its own, as in the server. Bytes per entry = heapUsed after − before
 *    (after full GCs) / entries, in a fresh process (memory.ts); target ≤ 300. If missed (or
 *    BENCH_PROFILE=1), the sampling heap profile taken during that registration (retained allocations
 *    by function) and a heap snapshot diff (by object kind, at 1/10 scale) show what dominates.
 */
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { MetadataCore } from '../../src/server/metadata/core';
import { brokerRef } from '../../src/server/metadata/types';
import { checkRegisterBrokerRequest } from '../../src/server/network/validate';
import { envInt, fmt, FORCE_PROFILE, machine, mib, note, RAW_DIR, ROOT, runMain, spawnTs, table, verdict, writeResult } from '../lib/common';
import { brokerReport, chunked, queueDelta } from '../lib/cluster';
import { summarize, summaryMarkdown } from '../lib/profile';
import { REGISTRY_OPTIONS as OPTS, SETS_PER_TOPIC } from './options';

const SIZES = [1_000, 10_000, 100_000];
const MEM_BROKERS = envInt('BENCH_MEM_BROKERS', 1_000);
const MEM_TOPICS = envInt('BENCH_MEM_TOPICS', 1_000);
const DELTAS = envInt('BENCH_DELTAS', 5_000);

const names = (n: number, prefix = 'topic') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
/** A report as the server gets it: decoded from its wire bytes. */
const wire = (r: RegisterBrokerRequest) => RegisterBrokerRequest.encode(r).finish();
const decode = (b: Uint8Array) => RegisterBrokerRequest.decode(b);

/** Mean µs per call of fn over `reps` calls (after `warm` unmeasured calls). */
function timeUs(reps: number, fn: (i: number) => void, warm = Math.min(reps, 3)): number {
  for (let i = 0; i < warm; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn(warm + i);
  return Number(process.hrtime.bigint() - t0) / 1000 / reps;
}

/**
 * Mean µs of fn, each call preceded by an untimed setup and followed by closing the registry (a
 * registry's lease timers would otherwise keep it alive, and the garbage, for 30 s).
 */
function timeWithSetup<S extends readonly [MetadataCore, ...unknown[]]>(reps: number, setup: (i: number) => S, fn: (s: S) => void): number {
  let total = 0n;
  for (let i = -1; i < reps; i++) {
    const s = setup(i);
    const t0 = process.hrtime.bigint();
    fn(s);
    if (i >= 0) total += process.hrtime.bigint() - t0;
    s[0].close();
  }
  return Number(total) / 1000 / reps;
}

function fullReports(): string {
  const rows: (string | number)[][] = [];
  for (const n of SIZES) {
    const reps = n >= 100_000 ? 2 : n >= 10_000 ? 5 : 30;
    const rep = brokerReport(0, 0, names(n));
    const bytes = wire(rep);
    const decodeUs = timeUs(reps, () => decode(bytes));
    const req = decode(bytes);
    const validateUs = timeUs(reps, () => checkRegisterBrokerRequest(req, { limits: { maxQueueNums: 1024 } }));
    const first = timeWithSetup(reps, () => [new MetadataCore(OPTS), decode(bytes)] as const, ([r, q]) => r.register(q, { kind: 'lease' }));
    const again = timeWithSetup(
      reps,
      () => {
        const r = new MetadataCore(OPTS);
        r.register(decode(bytes), { kind: 'lease' });
        return [r, decode(wire({ ...rep, dataVersion: { epoch: rep.dataVersion!.epoch, counter: 2 } }))] as const;
      },
      ([r, q]) => r.register(q, { kind: 'lease' }),
    );
    const held = new MetadataCore(OPTS);
    held.register(decode(bytes), { kind: 'lease' });
    const heldUs = timeUs(Math.max(1000, reps), () => held.register(req, { kind: 'lease' }));
    rows.push([
      fmt(n),
      fmt(bytes.length / 1024, 0),
      fmt(decodeUs),
      fmt(validateUs),
      fmt(first),
      fmt(first / n, 2),
      fmt(again),
      fmt(heldUs, 1),
      fmt(decodeUs + validateUs + first),
    ]);
    held.close();
  }
  // 100k as 10 chunks of 10k (what a broker sends over the wire).
  const big = brokerReport(0, 0, names(100_000));
  const chunks = chunked(big, 10).map((c) => wire(c));
  const chunkedUs = timeWithSetup(
    2,
    () => [new MetadataCore(OPTS), chunks.map(decode)] as const,
    ([r, cs]) => {
      for (const c of cs) r.register(c, { kind: 'lease' });
    },
  );
  rows.push(['100,000 in 10 chunks', fmt(chunks.reduce((s, c) => s + c.length, 0) / 1024, 0), '', '', fmt(chunkedUs), fmt(chunkedUs / 100_000, 2), '', '', '']);
  return table(
    ['topics', 'report KiB', 'decode µs', 'validate µs', 'register (new broker) µs', 'µs / topic', 're-register, new version, same topics µs', 're-send held version µs', 'decode+validate+register µs'],
    rows,
  );
}

function steadyState(): { md: string; hb: number[]; delta: number[] } {
  const rows: (string | number)[][] = [];
  const hbs: number[] = [];
  const deltas: number[] = [];
  for (const n of SIZES) {
    const r = new MetadataCore(OPTS);
    // The broker is the leader of a replica set; 7 more sets also hold topic-0, so the delta rebuilds a
    // realistic 8-set route.
    r.register(decode(wire(brokerReport(0, 0, names(n)))), { kind: 'lease' });
    for (let s = 1; s < 8; s++) r.register(decode(wire(brokerReport(s, 0, ['topic-0']))), { kind: 'lease' });
    const ref = brokerRef('c1', 'rs-000', 0);
    const hb = timeUs(200_000, () => {
      if (r.heartbeat(ref, 'boot-0-0', 1) !== undefined) throw new Error('heartbeat refused');
    }, 10_000);
    let counter = 1;
    let queues = 8;
    const deltaReqs = Array.from({ length: DELTAS + 100 }, (_, i) => queueDelta(0, 0, 'topic-0', i % 2 ? 8 : 16, 1 + i));
    let changedRoutes = 0;
    r.routes.on('changed', () => changedRoutes++);
    const delta = timeUs(DELTAS, (i) => {
      const req = deltaReqs[i]!;
      const why = r.delta(ref, req).reregister;
      if (why) throw new Error(`delta refused: ${why}`);
      counter++;
      queues = req.upsertTopics[0]!.readQueueNums;
    }, 100);
    if (changedRoutes < DELTAS) throw new Error(`only ${changedRoutes} route changes for ${DELTAS} deltas`);
    // A delta that changes nothing (the same config again): no route rebuild.
    const sameReqs = Array.from({ length: DELTAS + 100 }, (_, i) => queueDelta(0, 0, 'topic-0', queues, counter + i));
    const changedBefore = changedRoutes;
    const noop = timeUs(DELTAS, (i) => {
      const why = r.delta(ref, sameReqs[i]!).reregister;
      if (why) throw new Error(`delta refused: ${why}`);
    }, 100);
    if (changedRoutes !== changedBefore) throw new Error('a delta re-sending the same config changed the route');
    hbs.push(hb);
    deltas.push(delta);
    rows.push([fmt(n), fmt(hb * 1000), fmt(delta, 2), fmt(noop, 2)]);
    r.close();
  }
  return {
    md: table(['topics on the broker', 'unchanged heartbeat ns/op', 'one-topic delta µs/op (route rebuilt)', 'one-topic delta µs/op (same config: no rebuild)'], rows),
    hb: hbs,
    delta: deltas,
  };
}

/** CPU profile (in-process, V8 sampler) of registering 8 replica sets × 2 brokers × 2,000 topics. */
async function registrationProfile(): Promise<string> {
  const reports: Uint8Array[] = [];
  for (let set = 0; set < 8; set++) for (let id = 0; id < 2; id++) reports.push(wire(brokerReport(set, id, names(2_000, 'p'))));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const t0 = process.hrtime.bigint();
  const r = new MetadataCore(OPTS);
  for (const b of reports) r.register(decode(b), { kind: 'lease' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  r.close();
  mkdirSync(RAW_DIR, { recursive: true });
  const file = path.join(RAW_DIR, 'registration.cpuprofile');
  writeFileSync(file, JSON.stringify(profile));
  return summaryMarkdown(
    summarize(file, 15),
    `Where registration time goes: 8 replica sets × 2 brokers × 2,000 topics (decode + register; every route ends with 8 replica sets and is rebuilt each time one of its 16 brokers registers) took ${fmt(ms)} ms; CPU profile \`${path.relative(ROOT, file)}\``,
  );
}

interface MemResult {
  entries: number;
  routes: number;
  brokers: number;
  registerMs: number;
  heapDelta: number;
  externalDelta: number;
  rssBefore: number;
  rssAfter: number;
  routeBytes: number;
  sites: { fn: string; where: string; bytes: number }[];
}

interface SnapResult {
  entries: number;
  total: number;
  kinds: { kind: string; size: number; count: number }[];
}

/** Run memory.ts in a fresh process; parse its JSON line. */
async function memoryChild<T>(args: string[]): Promise<T> {
  const child = spawnTs('bench/registration/memory.ts', args, { nodeFlags: ['--expose-gc', '--max-old-space-size=8192'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`memory.ts ${args.join(' ')} exited ${code}: ${out.slice(-1000)}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

async function main(): Promise<void> {
  const m = machine();
  note('full reports');
  const full = fullReports();
  note('heartbeats and deltas');
  const steady = steadyState();
  note('registration CPU profile');
  const regProfile = await registrationProfile();
  note(`memory: ${MEM_BROKERS} brokers × ${MEM_TOPICS} topics`);
  const mem = await memoryChild<MemResult>([String(MEM_BROKERS), String(MEM_TOPICS)]);
  const perEntry = mem.heapDelta / mem.entries;
  const perEntryAll = (mem.heapDelta + mem.externalDelta) / mem.entries;
  let profileMd = '';
  if (perEntry > 300 || FORCE_PROFILE) {
    const sampled = mem.sites.reduce((a, x) => a + x.bytes, 0);
    profileMd = [
      `Sampling heap profile taken during that registration (objects still alive at the end, by allocating function; top ${mem.sites.length}, ${mib(sampled)} MiB):`,
      '',
      table(
        ['function', 'where', 'MiB', 'bytes / entry'],
        mem.sites.map((x) => [`\`${x.fn}\``, x.where ? `\`${x.where}\`` : '', mib(x.bytes), fmt(x.bytes / mem.entries)]),
      ),
    ].join('\n');
    const small = Math.max(2, Math.round(MEM_BROKERS / 10));
    note(`heap snapshots at ${small} brokers × ${MEM_TOPICS} topics`);
    const dir = path.join(RAW_DIR, 'registration-heap');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const snap = await memoryChild<SnapResult>([String(small), String(MEM_TOPICS), '--snapshot', dir]);
    profileMd += [
      '',
      '',
      `Heap snapshot diff at ${fmt(small)} brokers × ${fmt(MEM_TOPICS)} topics (${fmt(snap.entries)} entries; self size by object kind, after − before; ${mib(snap.total)} MiB = ${fmt(snap.total / snap.entries)} bytes/entry; \`${path.relative(ROOT, dir)}\`):`,
      '',
      table(
        ['object kind', 'count', 'MiB', '%', 'bytes / entry'],
        snap.kinds.map((k) => [k.kind.replace(/\|/g, '\\|'), fmt(k.count), mib(k.size), fmt((100 * k.size) / snap.total, 1), fmt(k.size / snap.entries, 1)]),
      ),
    ].join('\n');
  }
  const flat = (xs: number[]) => xs[xs.length - 1]! / xs[0]!;
  const hbFlat = flat(steady.hb);
  const deltaFlat = flat(steady.delta);
  const body = [
    'In-process on `MetadataCore` (no gRPC); reports decoded from their encoded bytes. Full reports: mean of 30 / 5 / 2 runs for 1k / 10k / 100k topics, each on a fresh MetadataCore.',
    '',
    '### Full report',
    '',
    full,
    '',
    '',
    regProfile,
    '',
    '### Unchanged heartbeat and one-topic delta vs the broker\'s topic count',
    '',
    'O(1) means flat: 100× the topics may cost at most 2× (GC and cache effects of a bigger heap), where an O(n) path would cost ~100×.',
    '',
    `Heartbeat: mean of 200,000 calls. Delta: mean of ${fmt(DELTAS)} ReportDelta applications that alternate topic-0 between 8 and 16 queues (each rebuilds and re-encodes its 8-replica-set route), and of ${fmt(DELTAS)} that re-send the same config.`,
    '',
    steady.md,
    '',
    table(
      ['check', 'value', 'target', 'verdict'],
      [
        ['heartbeat cost 100k / 1k topics', `${fmt(hbFlat, 2)}×`, 'O(1): ≤ 2× for 100× the topics', verdict(hbFlat, 2, false, 2, '×')],
        ['one-topic delta cost 100k / 1k topics', `${fmt(deltaFlat, 2)}×`, 'O(1): ≤ 2× for 100× the topics', verdict(deltaFlat, 2, false, 2, '×')],
      ],
    ),
    '',
    '### Memory',
    '',
    `${fmt(MEM_BROKERS)} brokers (${fmt(Math.ceil(MEM_BROKERS / 2))} replica sets × 2) × ${fmt(MEM_TOPICS)} topics each, every topic on ${SETS_PER_TOPIC} replica sets: ${fmt(mem.entries)} topic-on-broker entries, ${fmt(mem.routes)} routes. Registered in ${fmt(mem.registerMs)} ms. Measured after full GCs (\`--expose-gc\`).`,
    '',
    table(
      ['measure', 'value'],
      [
        ['heapUsed after − before', `${mib(mem.heapDelta)} MiB`],
        ['external + arrayBuffers after − before (pre-encoded routes)', `${mib(mem.externalDelta)} MiB`],
        ['of which pre-encoded route bytes (GetRoute + watch event)', `${mib(mem.routeBytes)} MiB`],
        ['**heap bytes per entry**', fmt(perEntry, 0)],
        ['heap + external bytes per entry', fmt(perEntryAll, 0)],
        ['RSS before → after', `${mib(mem.rssBefore)} → ${mib(mem.rssAfter)} MiB`],
      ],
    ),
    '',
    table(['check', 'value', 'target', 'verdict'], [['heap bytes per topic-on-broker entry', fmt(perEntry, 0), '≤ 300', verdict(perEntry, 300, false, 0)]]),
    profileMd ? `\n### What the memory is\n\n${profileMd}` : '',
  ].join('\n');
  writeResult('registration', 'Registration cost and memory (in-process MetadataCore)', body, m, [], [
    { check: 'unchanged heartbeat, 100k-topic / 1k-topic broker', value: `${fmt(hbFlat, 2)}× (${fmt(steady.hb[0]! * 1000)} → ${fmt(steady.hb[2]! * 1000)} ns)`, target: 'O(1): ≤ 2×', verdict: verdict(hbFlat, 2, false, 2, '×') },
    { check: 'one-topic delta, 100k-topic / 1k-topic broker', value: `${fmt(deltaFlat, 2)}× (${fmt(steady.delta[0]!, 1)} → ${fmt(steady.delta[2]!, 1)} µs)`, target: 'O(1): ≤ 2×', verdict: verdict(deltaFlat, 2, false, 2, '×') },
    { check: `heap bytes per topic-on-broker entry (${fmt(MEM_BROKERS)} brokers × ${fmt(MEM_TOPICS)} topics)`, value: `${fmt(perEntry, 0)} (RSS ${mib(mem.rssAfter)} MiB)`, target: '≤ 300', verdict: verdict(perEntry, 300, false, 0) },
  ]);
}

runMain(main);
