/**
 * Chunked registrations under hostile clients. The floods come from raw HTTP/2 gRPC clients
 * (test/helpers/raw-grpc.ts), and during each one a legitimate broker on another connection (or on
 * another client host, 127.0.0.2) registers in chunks and must succeed. Memory is measured before,
 * during and after each flood: the resident memory (RSS) of a NameServer in a child process for the
 * flood of tiny first chunks, and the memory held after forced garbage collections (heap plus byte
 * arrays) of an in-process NameServer for the floods of multi-megabyte chunks, whose RSS mostly shows
 * the transient garbage of decoding them.
 *
 * Budgets of the servers under test (smaller than the defaults, so the test stays light): 48 MiB in
 * total, 12 MiB per connection, 12 MiB per broker. The memory bounds asserted are stated per test;
 * they are generous (the machine is shared) but far below what the same floods cost before the byte
 * budgets (numbers in the comments).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { status } from '@grpc/grpc-js';
import { ConnectRequest, ConnectResponse, RegisterBrokerRequest, RegisterBrokerResponse } from '../../generated/nameserver/v1/broker_registry';
import { GetRouteRequest, GetRouteResponse } from '../../generated/nameserver/v1/route_query';
import { report, topic } from '../fixtures/reports';
import { RawGrpcConnection, type RawResult } from '../helpers/raw-grpc';
import { exited, spawnServer, startServer, type Started } from '../helpers/server';

const MiB = 1024 * 1024;
const REGISTER = '/nameserver.v1.BrokerRegistry/RegisterBroker';
const CONNECT = '/nameserver.v1.BrokerRegistry/Connect';
const GET_ROUTE = '/nameserver.v1.RouteQuery/GetRoute';
const BUDGET = { total: 48 * MiB, perConnection: 12 * MiB, perBroker: 12 * MiB };

let server: Awaited<ReturnType<typeof spawnServer>>;

before(async () => {
  server = await spawnServer([
    '--warmup-ms', '0',
    '--http-listen', '127.0.0.1:0',
    '--chunk-timeout-ms', '6000',
    '--max-pending-chunk-bytes', String(BUDGET.total),
    '--max-pending-chunk-bytes-per-connection', String(BUDGET.perConnection),
    '--max-pending-chunk-bytes-per-broker', String(BUDGET.perBroker),
  ]);
  // Warm the code paths (decoding, chunk assembly, routes) so the baselines below include them.
  const c = new RawGrpcConnection(server.address);
  await registerInChunks(c, 'warm-up', 3, 2000);
  c.close();
});

after(async () => {
  server.child.kill('SIGTERM');
  await exited(server.child);
});

/** Resident memory of the server process, in MiB. */
function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** The server's pending-chunk gauges. */
async function pending(): Promise<{ reports: number; bytes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)![1]);
  return { reports: read('nameserver_pending_chunked_reports'), bytes: read('nameserver_pending_chunk_bytes') };
}

/** Wait until the server holds no pending chunk (the chunk timeout has dropped the flood's reports). */
async function drained(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if ((await pending()).bytes === 0) return;
    if (Date.now() > deadline) throw new Error(`pending chunks not dropped: ${JSON.stringify(await pending())}`);
    await new Promise((r) => setTimeout(r, 250)); // polling the server's own gauge for a condition
  }
}

/**
 * A chunk of `topics` topics (about 50 bytes each, names unique per broker and chunk), encoded. With
 * `attributeBytes`, each topic also carries attributes of about that many bytes: a report large in
 * bytes but with few topics, whose routes cost little once registered.
 */
function chunkBytes(broker: string, index: number, count: number, topics: number, attributeBytes = 0): Uint8Array {
  const attributes: Record<string, string> = {};
  for (let a = 0; a * 200 < attributeBytes; a++) attributes[`a${a}`] = 'v'.repeat(190);
  const configs = Array.from({ length: topics }, (_, i) => topic(`${broker}-${index}-${i}-${'x'.repeat(24)}`, { attributes }));
  return RegisterBrokerRequest.encode(
    report(broker, 0, configs, { chunkIndex: index, chunkCount: count, dataVersion: { epoch: `boot-${broker}`, counter: 1 } }),
  ).finish();
}

/** Register a broker in `count` chunks over a raw connection; asserts every answer and the route. */
async function registerInChunks(c: RawGrpcConnection, broker: string, count: number, topicsPerChunk: number, between?: () => Promise<void>, attributeBytes = 0): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = await c.unary(REGISTER, chunkBytes(broker, i, count, topicsPerChunk, attributeBytes));
    assert.equal(r.code, status.OK, `${broker} chunk ${i}: ${r.details}`);
    assert.equal(RegisterBrokerResponse.decode(r.messages[0]!).complete, i === count - 1);
    if (i < count - 1) await between?.();
  }
  const route = await c.unary(GET_ROUTE, GetRouteRequest.encode({ topic: `${broker}-0-0-${'x'.repeat(24)}` }).finish());
  assert.equal(route.code, status.OK, route.details);
  assert.equal(GetRouteResponse.decode(route.messages[0]!).route!.brokers[0]!.brokerName, broker);
}

/** Register a broker in chunks on a Connect stream; resolves once it is accepted. */
async function connectInChunks(c: RawGrpcConnection, broker: string, count: number, topicsPerChunk: number): Promise<() => void> {
  const s = c.stream(CONNECT);
  const accepted = new Promise<void>((resolve, reject) => {
    s.onMessage((m) => {
      const body = ConnectResponse.decode(m).body;
      if (body?.$case === 'accepted') resolve();
      if (body?.$case === 'ack' && !body.ack.ok) reject(new Error(`${broker}: ${body.ack.error}`));
    });
    void s.result.then((r) => reject(new Error(`${broker}: stream ended ${r.code} ${r.details}`)));
  });
  for (let i = 0; i < count; i++) {
    const register = RegisterBrokerRequest.decode(chunkBytes(broker, i, count, topicsPerChunk));
    s.send(ConnectRequest.encode({ seq: i + 1, body: { $case: 'register', register } }).finish());
  }
  await accepted;
  return () => s.cancel();
}

/** Statuses seen, by code name. */
function tally(results: RawResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[status[r.code]!] = (out[status[r.code]!] ?? 0) + 1;
  return out;
}

describe('chunked registrations under hostile clients', () => {
  test('1,024 unary first chunks and 512 Connect streams, each claiming 99,999 chunks: memory stays flat; other brokers register', async (t) => {
    // Before the byte budgets: RSS 118 → 908 MB for the chunk timeout, and every legitimate chunked
    // registration was refused (RESOURCE_EXHAUSTED) while the flood was pending.
    const base = rssMiB();
    const unaryFlood = new RawGrpcConnection(server.address);
    const connectFlood = new RawGrpcConnection(server.address);
    const legit = new RawGrpcConnection(server.address);
    try {
      const floods = await Promise.all(
        Array.from({ length: 1024 }, (_, i) => unaryFlood.unary(REGISTER, chunkBytes(`flood-${i}`, 0, 99_999, 1))),
      );
      const streams = await Promise.all(
        Array.from({ length: 512 }, async (_, i) => {
          const s = connectFlood.stream(CONNECT);
          const acked = new Promise<boolean>((resolve) => s.onMessage((m) => resolve(ConnectResponse.decode(m).body?.$case === 'ack')));
          const register = RegisterBrokerRequest.decode(chunkBytes(`cflood-${i}`, 0, 99_999, 1));
          s.send(ConnectRequest.encode({ seq: 1, body: { $case: 'register', register } }).finish());
          return Promise.race([acked, s.result.then(() => false)]);
        }),
      );
      const peak = rssMiB();
      const during = await pending();
      t.diagnostic(`RSS ${base.toFixed(0)} → ${peak.toFixed(0)} MiB during the flood; pending ${during.reports} reports, ${(during.bytes / MiB).toFixed(2)} MiB charged`);
      // During the flood: another broker on another connection registers in chunks, unary and Connect.
      await registerInChunks(legit, 'legit-a', 3, 2000);
      (await connectInChunks(legit, 'legit-a-stream', 3, 2000))();
      assert.deepEqual(tally(floods), { OK: 1024 }, 'small first chunks fit the connection budget');
      assert.equal(streams.filter((ok) => ok).length, 512, 'every Connect first chunk acknowledged');
      assert.equal(during.reports, 1024 + 512);
      assert.ok(during.bytes < 4 * MiB, `the flood is charged what it sent (${during.bytes} bytes), not what it claimed`);
      assert.ok(peak - base < 100, `RSS grew ${(peak - base).toFixed(0)} MiB during the flood (bound: 100 MiB)`);
    } finally {
      unaryFlood.close();
      connectFlood.close();
      legit.close();
    }
    await drained();
    const end = rssMiB();
    t.diagnostic(`RSS after the chunk timeout: ${end.toFixed(0)} MiB`);
    assert.ok(end - base < 100, `RSS after: ${(end - base).toFixed(0)} MiB above the baseline (bound: 100 MiB)`);
  });

});

/**
 * Held memory, in-process: heap plus external memory (where byte arrays live) after forced garbage
 * collections. RSS would mostly show the transient garbage of decoding multi-megabyte messages, which
 * any large RPC costs while it runs; what a pending report holds is what stays after a collection.
 */
describe('memory held by pending chunks (in-process server, heap after GC)', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heldMiB = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return (m.heapUsed + m.external) / MiB;
  };
  const settled = async (s: Started) => {
    const deadline = Date.now() + 60_000;
    while (s.server.registry.pendingChunkBytes > 0) {
      if (Date.now() > deadline) throw new Error('pending chunks not dropped');
      await new Promise((r) => setTimeout(r, 100)); // polling the registry for a condition
    }
  };

  test('one broker sending 25 chunks of ~4.5 MB is stopped at the per-broker budget', async (t) => {
    // Before the byte budgets: 25 such chunks (120 MB) added 362 MB of RSS, every chunk held decoded.
    const s = await startServer({ chunkTimeoutMs: 8_000, maxPendingChunkBytes: BUDGET.total, maxPendingChunkBytesPerConnection: BUDGET.perConnection, maxPendingChunkBytesPerBroker: BUDGET.perBroker });
    const flood = new RawGrpcConnection(s.address);
    const legit = new RawGrpcConnection(s.address);
    try {
      await registerInChunks(legit, 'warm-up', 3, 2000);
      // One encoding of ~4.5 MB of topics; each chunk is it plus its chunk_index (protobuf: the last
      // value of a scalar field wins, so appending the field re-indexes the chunk).
      const body = chunkBytes('big-sender', 0, 25, 90_000);
      assert.ok(body.length > 4 * MiB, `chunks of ${body.length} bytes`);
      const base = heldMiB();
      const results: RawResult[] = [];
      let peak = 0;
      for (let i = 0; i < 25; i++) {
        const indexed = Buffer.concat([body, RegisterBrokerRequest.encode(RegisterBrokerRequest.fromPartial({ chunkIndex: i })).finish()]);
        results.push(await flood.unary(REGISTER, indexed));
        peak = Math.max(peak, heldMiB() - base);
        // Meanwhile another broker registers in chunks on its own connection.
        if (i === 1) await registerInChunks(legit, 'legit-b', 3, 100);
      }
      const codes = results.map((r) => r.code);
      const refusedAt = codes.indexOf(status.RESOURCE_EXHAUSTED);
      t.diagnostic(`statuses: ${JSON.stringify(tally(results))}; refused at chunk ${refusedAt}; held memory grew at most ${peak.toFixed(1)} MiB`);
      assert.ok(refusedAt >= 1 && refusedAt <= 3, `the chunk passing 12 MiB is refused (at ${refusedAt})`);
      assert.match(results[refusedAt]!.details, /per broker/);
      assert.ok(codes.slice(0, refusedAt).every((c) => c === status.OK));
      // The rest belong to a report that was dropped: told to start again from chunk 0.
      for (const r of results.slice(refusedAt + 1)) {
        assert.equal(r.code, status.ABORTED, r.details);
        assert.match(r.details, /send it again from chunk 0/);
      }
      assert.ok(peak < BUDGET.perBroker / MiB + 16, `held memory grew ${peak.toFixed(1)} MiB (bound: the 12 MiB per-broker budget + 16 MiB)`);
      flood.close();
      await settled(s);
      const after = heldMiB() - base;
      t.diagnostic(`held memory after the chunk timeout: ${after.toFixed(1)} MiB above the baseline`);
      assert.ok(after < 16, `held after: ${after.toFixed(1)} MiB (bound: 16 MiB)`);
    } finally {
      flood.close();
      legit.close();
      await s.stop();
    }
  });

  test('many connections fill the total budget: a broker on another host and a lighter connection on the same host still register', async (t) => {
    const s = await startServer({ chunkTimeoutMs: 8_000, maxPendingChunkBytes: BUDGET.total, maxPendingChunkBytesPerConnection: BUDGET.perConnection, maxPendingChunkBytesPerBroker: BUDGET.perBroker });
    // 16 connections from 127.0.0.1, each opening reports of ~1 MB first chunks: 16 × 12 MiB wanted
    // against a 48 MiB total.
    const floods = Array.from({ length: 16 }, () => new RawGrpcConnection(s.address, '127.0.0.1'));
    const otherHost = new RawGrpcConnection(s.address, '127.0.0.2');
    const sameHost = new RawGrpcConnection(s.address, '127.0.0.1');
    try {
      await registerInChunks(sameHost, 'warm-up', 3, 2000);
      const base = heldMiB();
      let peak = 0;
      let maxPending = 0;
      const results: RawResult[] = [];
      let k = 0;
      const round = async () => {
        const n = k++;
        results.push(...(await Promise.all(floods.map((c, i) => c.unary(REGISTER, chunkBytes(`peer-${i}-${n}`, 0, 2, 20_000))))));
        maxPending = Math.max(maxPending, s.server.registry.pendingChunkBytes);
        peak = Math.max(peak, heldMiB() - base);
      };
      for (let r = 0; r < 6; r++) await round();
      // A broker on another client host, with a report larger than any one flood connection holds
      // (3 pending chunks of ~1.2 MB against ~3 MB per flood connection); few topics, so that what it
      // registers costs little held memory.
      assert.match(await otherHost.local(), /^127\.0\.0\.2:/);
      await registerInChunks(otherHost, 'legit-host', 4, 150, round, 8_000);
      // A lighter connection on the flooding host.
      await registerInChunks(sameHost, 'legit-conn', 3, 30, round, 8_000);
      t.diagnostic(`flood statuses: ${JSON.stringify(tally(results))}; held memory grew at most ${peak.toFixed(1)} MiB; most pending ${(maxPending / MiB).toFixed(1)} MiB`);
      assert.ok((tally(results).RESOURCE_EXHAUSTED ?? 0) > 0, 'the flood was refused once it held the largest share');
      assert.ok(maxPending <= BUDGET.total, `pending bytes ${maxPending} within the total budget`);
      assert.ok(peak < BUDGET.total / MiB + 16, `held memory grew ${peak.toFixed(1)} MiB (bound: the 48 MiB total budget + 16 MiB)`);
      for (const c of floods) c.close();
      await settled(s);
      const after = heldMiB() - base;
      t.diagnostic(`held memory after the chunk timeout: ${after.toFixed(1)} MiB above the baseline`);
      assert.ok(after < 16, `held after: ${after.toFixed(1)} MiB (bound: 16 MiB)`);
    } finally {
      for (const c of [...floods, otherHost, sameHost]) c.close();
      await s.stop();
    }
  });
});
