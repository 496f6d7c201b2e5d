/**
 * Fuzzing every RPC with raw bytes: random frames, mutations of valid messages (bit flips, truncation,
 * splices, duplicated fields), invalid UTF-8, huge repeated fields and malformed streams. The server
 * must answer each with a deliberate status (never INTERNAL or UNKNOWN), stay up, and keep its tables
 * consistent. FUZZ_INPUTS sets the number of inputs (default 3,000 for CI; the soak mode runs
 * `FUZZ_INPUTS=100000 npm run soak:fuzz`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { AdminService, CreateTopicRequest, ListTopicsRequest } from '../../generated/nameserver/v1/admin';
import { BrokerRegistryService, ConnectRequest, RegisterBrokerRequest, ReportDeltaRequest, ReportPositionsRequest } from '../../generated/nameserver/v1/broker_registry';
import { GetRoutesRequest, RouteQueryService, WatchRoutesRequest } from '../../generated/nameserver/v1/route_query';
import { call, startServer, type Started } from '../helpers/server';
import { report, topic } from '../fixtures/reports';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 3000);
/** Statuses a deliberate answer may carry. INTERNAL and UNKNOWN mean a bug. */
const ALLOWED = new Set([
  grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION, grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.CANCELLED, grpc.status.PERMISSION_DENIED,
]);

/** Deterministic PRNG (mulberry32), so a failure can be replayed with FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Method = { path: string; requestStream: boolean; responseStream: boolean };
const METHODS: Method[] = [BrokerRegistryService, RouteQueryService, AdminService].flatMap((svc) =>
  Object.values(svc).map((m) => ({ path: m.path, requestStream: m.requestStream, responseStream: m.responseStream })),
);

/** Valid encodings to mutate, per method path (any message works as a seed for any method). */
const SEEDS: Buffer[] = [
  Buffer.from(RegisterBrokerRequest.encode(report('fz', 0, ['a', topic('b', { attributes: { k: 'v' } })])).finish()),
  Buffer.from(ReportDeltaRequest.encode({ cluster: 'c1', brokerName: 'fz', brokerId: 0, baseCounter: 1, dataVersion: { epoch: 'boot-fz-0', counter: 2 }, upsertTopics: [topic('c')], deleteTopics: ['a'], upsertGroups: [], deleteGroups: [] }).finish()),
  Buffer.from(ReportPositionsRequest.encode({ cluster: 'c1', brokerName: 'fz', brokerId: 0, full: true, queuePositions: [{ topic: 'a', queueId: 1, minOffset: 0, maxOffset: 9 }], consumerPositions: [] }).finish()),
  Buffer.from(ConnectRequest.encode({ seq: 1, body: { $case: 'register', register: report('fzs', 0, ['a']) } }).finish()),
  Buffer.from(WatchRoutesRequest.encode({ subscribe: [{ topic: 'a', version: 'x' }], unsubscribe: ['b'], allTopics: false }).finish()),
  Buffer.from(GetRoutesRequest.encode({ topics: ['a', 'b'] }).finish()),
  Buffer.from(CreateTopicRequest.encode({ topic: topic('n'), cluster: 'c1', brokerNames: [] }).finish()),
  Buffer.from(ListTopicsRequest.encode({ cluster: '', namePrefix: '', pageSize: 5, pageToken: '' }).finish()),
];

/** One fuzz input. */
function input(rnd: () => number): Buffer {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const seed = pick(SEEDS);
  switch (Math.floor(rnd() * 8)) {
    case 0:
      return randomBytes(Math.floor(rnd() * 64));
    case 1: {
      const b = Buffer.from(seed);
      for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      return b;
    }
    case 2:
      return seed.subarray(0, Math.floor(rnd() * seed.length));
    case 3:
      return Buffer.concat([seed, pick(SEEDS)]); // concatenation = merge, or garbage
    case 4: {
      const at = Math.floor(rnd() * seed.length);
      return Buffer.concat([seed.subarray(0, at), randomBytes(1 + Math.floor(rnd() * 8)), seed.subarray(at)]);
    }
    case 5: // invalid UTF-8 in a length-delimited field 1
      return Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), seed]);
    case 6: {
      // a repeated field many times over (field 1, length-delimited, "x")
      const n = 1 + Math.floor(rnd() * 20_000);
      return Buffer.concat([seed, Buffer.alloc(n * 3, Buffer.from([0x0a, 1, 0x78]))]);
    }
    default: {
      // deep nesting: field 2 wrapping itself
      let b = Buffer.from([0x08, 1]);
      for (let d = 0, n = 10 + Math.floor(rnd() * 200); d < n; d++) b = Buffer.concat([Buffer.from([0x12]), varint(b.length), b]);
      return b;
    }
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

let s: Started;
let raw: grpc.Client;
before(async () => {
  s = await startServer({ streamGraceMs: 50, commandTimeoutMs: 200 });
  await call(s.brokers, 'registerBroker', report('steady', 0, ['steady-topic']));
  raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
});
after(async () => {
  raw.close();
  await s.stop();
});

const identity = (b: Buffer) => b;

/** Send one raw input to one method; resolve with the final status code. */
function send(m: Method, bytes: Buffer): Promise<grpc.status> {
  const deadline = Date.now() + 2_000;
  return new Promise((resolve) => {
    if (!m.requestStream && !m.responseStream) {
      raw.makeUnaryRequest(m.path, identity, identity, bytes, new grpc.Metadata(), { deadline }, (err) => resolve(err ? err.code : grpc.status.OK));
      return;
    }
    const done = (code: grpc.status) => resolve(code);
    if (!m.requestStream) {
      const c = raw.makeServerStreamRequest(m.path, identity, identity, bytes, new grpc.Metadata(), { deadline });
      c.on('data', () => c.cancel());
      c.on('error', (e: grpc.ServiceError) => done(e.code));
      c.on('end', () => done(grpc.status.OK));
      return;
    }
    const c = raw.makeBidiStreamRequest(m.path, identity, identity, new grpc.Metadata(), { deadline });
    c.on('data', () => c.cancel()); // any answer is fine; we only care that errors are deliberate
    c.on('error', (e: grpc.ServiceError) => done(e.code));
    c.on('end', () => done(grpc.status.OK));
    c.write(bytes);
    c.write(bytes);
    c.end();
  });
}

test(`${INPUTS} raw inputs over every RPC get deliberate statuses; the server stays up and consistent`, async () => {
  const rnd = prng(Number(process.env.FUZZ_SEED ?? 1234));
  const seen = new Map<string, number>();
  const batch = 32;
  for (let i = 0; i < INPUTS; i += batch) {
    const jobs = [];
    for (let j = i; j < Math.min(INPUTS, i + batch); j++) {
      const m = METHODS[j % METHODS.length]!;
      const bytes = input(rnd);
      jobs.push(
        send(m, bytes).then((code) => {
          const key = `${m.path} ${grpc.status[code]}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          assert.ok(ALLOWED.has(code), `${m.path} answered ${grpc.status[code]} to ${bytes.subarray(0, 64).toString('hex')}`);
        }),
      );
    }
    await Promise.all(jobs);
  }
  // Still up, still right.
  const steady = await call(s.routes, 'getRoute', { topic: 'steady-topic' });
  assert.equal(steady.route!.brokers[0]!.brokerName, 'steady');
  assert.deepEqual(s.server.registry.checkConsistency(), []);
  const invalid = [...seen].filter(([k]) => k.endsWith('INVALID_ARGUMENT')).reduce((n, [, v]) => n + v, 0);
  assert.ok(invalid > INPUTS / 4, `most inputs should be refused as INVALID_ARGUMENT (got ${invalid})`);
});

test('an oversized message is RESOURCE_EXHAUSTED and leaves other clients unaffected', async () => {
  const small = await startServer({ maxMessageBytes: 65_536 });
  try {
    const big = report('big', 0, Array.from({ length: 3_000 }, (_, i) => `big-topic-${i}`));
    await assert.rejects(call(small.brokers, 'registerBroker', big), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    await call(small.brokers, 'registerBroker', report('ok', 0, ['fine']));
    assert.equal((await call(small.routes, 'getRoute', { topic: 'fine' })).route!.topic, 'fine');
  } finally {
    await small.stop();
  }
});
