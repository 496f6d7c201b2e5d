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
import { call, startServer, type Started } from '../helpers/server';
import { report } from '../fixtures/reports';
import { input, METHODS, prng, type Method } from './inputs';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 3000);

/** Statuses a deliberate answer may carry. INTERNAL and UNKNOWN mean a bug. */
const ALLOWED = new Set([
  grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION, grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.CANCELLED, grpc.status.PERMISSION_DENIED,
]);

let s: Started;
let raw: grpc.Client;
/**
 * A fresh connection every few hundred inputs: the fuzzer cancels many streams, and HTTP/2's
 * rapid-reset protection (nghttp2's stream reset rate limit, CVE-2023-44487) rightly closes a
 * connection that resets more than ~1,000 streams in a burst.
 */
function reconnect(): void {
  raw?.close();
  raw = new grpc.Client(s.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}
before(async () => {
  s = await startServer({ streamGraceMs: 50, commandTimeoutMs: 200 });
  await call(s.brokers, 'registerBroker', report('steady', 0, ['steady-topic'], { leaseTtlMs: 300_000 })); // outlives a soak run
  reconnect();
});
after(async () => {
  raw.close();
  await s.stop();
});

const identity = (b: Buffer) => b;

/** Send one raw input to one method; resolve with the final status code (details kept for failures). */
const details = new Map<Buffer, string>();
function send(m: Method, bytes: Buffer): Promise<grpc.status> {
  const deadline = Date.now() + 2_000;
  return new Promise((resolve) => {
    if (!m.requestStream && !m.responseStream) {
      raw.makeUnaryRequest(m.path, identity, identity, bytes, new grpc.Metadata(), { deadline }, (err) => {
        if (err) details.set(bytes, err.details);
        resolve(err ? err.code : grpc.status.OK);
      });
      return;
    }
    const done = (code: grpc.status, why = '') => {
      details.set(bytes, why);
      resolve(code);
    };
    if (!m.requestStream) {
      const c = raw.makeServerStreamRequest(m.path, identity, identity, bytes, new grpc.Metadata(), { deadline });
      c.on('data', () => c.cancel());
      c.on('error', (e: grpc.ServiceError) => done(e.code, e.details));
      c.on('end', () => done(grpc.status.OK));
      return;
    }
    const c = raw.makeBidiStreamRequest(m.path, identity, identity, new grpc.Metadata(), { deadline });
    c.on('data', () => c.cancel()); // any answer is fine; we only care that errors are deliberate
    c.on('error', (e: grpc.ServiceError) => done(e.code, e.details));
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
    if (i % 512 === 0) reconnect();
    const jobs = [];
    for (let j = i; j < Math.min(INPUTS, i + batch); j++) {
      const m = METHODS[j % METHODS.length]!;
      const bytes = input(rnd);
      jobs.push(
        send(m, bytes).then((code) => {
          const key = `${m.path} ${grpc.status[code]}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          assert.ok(ALLOWED.has(code), `${m.path} answered ${grpc.status[code]} (${details.get(bytes)}) to ${bytes.subarray(0, 64).toString('hex')}`);
          details.delete(bytes);
        }),
      );
    }
    await Promise.all(jobs);
  }
  // Still up, still right.
  const steady = await call(s.routes, 'getRoute', { topic: 'steady-topic' });
  assert.equal(steady.route!.brokers[0]!.brokerName, 'steady');
  assert.deepEqual(s.server.core.checkConsistency(), []);
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
