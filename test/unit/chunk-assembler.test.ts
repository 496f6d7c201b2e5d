/**
 * The chunk assembler without a network: byte budgets per broker, per connection and in total, fairness
 * between senders when the total is full, one pending report per broker, expiry by timer, and clear
 * answers for chunks of reports that were dropped.
 */
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { CHUNK_OVERHEAD_BYTES, ChunkAssembler, type ChunkLimits, type ChunkSource } from '../../src/metadata/chunk-assembler';
import { ChunkedReportDropped, FailedPrecondition, LimitExceeded } from '../../src/metadata/errors';
import { report } from '../fixtures/reports';

const KiB = 1024;
const LIMITS: ChunkLimits = { timeoutMs: 60_000, maxBytes: 1024 * KiB, maxBytesPerBroker: 256 * KiB, maxBytesPerConnection: 512 * KiB };

/** A chunk of broker c1/<name>/0 carrying `topics` topics named <name>-<index>-<i> (~60 bytes each). */
function chunk(name: string, index: number, count: number, topics = 1, counter = 1): RegisterBrokerRequest {
  const names = Array.from({ length: topics }, (_, i) => `${name}-${index}-${i}-${'p'.repeat(30)}`);
  return report(name, 0, names, { chunkIndex: index, chunkCount: count, dataVersion: { epoch: `boot-${name}`, counter } });
}

/** Bytes the assembler charges for a chunk. */
const charge = (c: RegisterBrokerRequest) => RegisterBrokerRequest.encode(c).finish().length + CHUNK_OVERHEAD_BYTES;

const conn = (host: string, port: number): ChunkSource => ({ connection: `${host}:${port}`, host });
const A1 = conn('10.0.0.1', 1);
const A2 = conn('10.0.0.1', 2);
const B1 = conn('10.0.0.2', 1);

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe('chunk assembler', () => {
  test('a first chunk claiming 99,999 chunks costs its own bytes, not the claimed count', () => {
    const a = new ChunkAssembler(LIMITS);
    for (let i = 0; i < 200; i++) a.add(`c1/flood-${i}/0`, chunk(`flood-${i}`, 0, 99_999), A1);
    assert.equal(a.size, 200);
    // Each chunk is ~100 bytes encoded: the whole flood is charged (and held) as 200 small chunks.
    assert.ok(a.bytes <= 200 * (CHUNK_OVERHEAD_BYTES + 200), `charged ${a.bytes} bytes`);
  });

  test('chunks are assembled into the whole report, in any order, the last chunk completing it', () => {
    const a = new ChunkAssembler(LIMITS);
    assert.equal(a.add('c1/b/0', chunk('b', 2, 3, 2), A1), undefined);
    assert.equal(a.add('c1/b/0', chunk('b', 0, 3, 2), A1), undefined);
    assert.equal(a.add('c1/b/0', chunk('b', 0, 3, 2), A1), undefined, 'a resent chunk replaces itself');
    const whole = a.add('c1/b/0', chunk('b', 1, 3, 2), A2)!;
    assert.deepEqual(
      whole.topics.map((t) => t.name.split('-').slice(0, 3).join('-')),
      ['b-0-0', 'b-0-1', 'b-1-0', 'b-1-1', 'b-2-0', 'b-2-1'],
    );
    assert.equal(whole.chunkCount, 1);
    assert.equal(a.size, 0);
    assert.equal(a.bytes, 0, 'every byte released');
  });

  test('one pending report per broker: a newer report replaces the older one; an older chunk is refused', () => {
    const a = new ChunkAssembler(LIMITS);
    a.add('c1/b/0', chunk('b', 0, 2, 1, 5), A1);
    const bytesV5 = a.bytes;
    a.add('c1/b/0', chunk('b', 0, 2, 1, 6), A1);
    assert.equal(a.size, 1);
    assert.equal(a.bytes, bytesV5, 'the older report was released');
    assert.throws(() => a.add('c1/b/0', chunk('b', 1, 2, 1, 5), A1), FailedPrecondition);
    assert.ok(a.add('c1/b/0', chunk('b', 1, 2, 1, 6), A1), 'the newer report completes');
  });

  test('a report passing the per-broker budget is refused and dropped; its later chunks are told to start over', () => {
    const a = new ChunkAssembler(LIMITS);
    const big = chunk('b', 0, 3, 3000); // ~164 KB
    a.add('c1/b/0', big, A1);
    assert.throws(() => a.add('c1/b/0', chunk('b', 1, 3, 3000), A1), (e: Error) => e instanceof LimitExceeded && /per broker/.test(e.message));
    assert.equal(a.size, 0);
    assert.equal(a.bytes, 0);
    assert.throws(() => a.add('c1/b/0', chunk('b', 2, 3, 1), A1), (e: Error) => e instanceof ChunkedReportDropped && /per broker.*from chunk 0/.test(e.message));
    // Starting over from chunk 0 (smaller chunks) works.
    a.add('c1/b/0', chunk('b', 0, 3, 1), A1);
    a.add('c1/b/0', chunk('b', 1, 3, 1), A1);
    assert.ok(a.add('c1/b/0', chunk('b', 2, 3, 1), A1));
  });

  test('a connection passing its budget is refused; another connection of the same host is not', () => {
    const a = new ChunkAssembler(LIMITS);
    let i = 0;
    assert.throws(() => {
      for (; i < 100; i++) a.add(`c1/f${i}/0`, chunk(`f${i}`, 0, 2, 1000), A1);
    }, (e: Error) => e instanceof LimitExceeded && /from this connection/.test(e.message));
    assert.ok(a.bytes <= LIMITS.maxBytesPerConnection);
    assert.ok(i >= 6, `the connection got its budget's worth first (${i} reports)`);
    a.add('c1/legit/0', chunk('legit', 0, 2, 1000), A2);
    assert.ok(a.add('c1/legit/0', chunk('legit', 1, 2, 1000), A2));
  });

  test('total budget full: the heaviest host is evicted for a lighter one; the flood cannot evict the lighter one back', () => {
    const a = new ChunkAssembler({ ...LIMITS, maxBytesPerConnection: 192 * KiB });
    // Host A floods from 16 connections, 2 reports of ~52 KB each: the total (1 MiB) fills up and
    // A ends up refusing itself (it is the heaviest), never growing past the total.
    let refused = 0;
    for (let c = 0; c < 16; c++) {
      for (let r = 0; r < 2; r++) {
        try {
          a.add(`c1/f${c}-${r}/0`, chunk(`f${c}-${r}`, 0, 9, 950), conn('10.0.0.1', c));
        } catch (e) {
          assert.ok(e instanceof LimitExceeded && /--max-pending-chunk-bytes\)/.test(e.message), String(e));
          refused++;
        }
      }
    }
    assert.ok(refused > 0, 'the flood hit the total');
    assert.ok(a.bytes <= LIMITS.maxBytes);
    // A broker on host B with a report larger than any single flood connection holds (~165 KB
    // pending against ~105 KB): admitted, because hosts are weighed before connections.
    const legit = [0, 1, 2].map((i) => chunk('legit', i, 3, 1500));
    a.add('c1/legit/0', legit[0]!, B1);
    a.add('c1/legit/0', legit[1]!, B1);
    // The flood goes on: it may evict only itself now.
    for (let c = 0; c < 16; c++) {
      try {
        a.add(`c1/g${c}/0`, chunk(`g${c}`, 0, 9, 950), conn('10.0.0.1', c));
      } catch (e) {
        assert.ok(e instanceof LimitExceeded, String(e));
      }
    }
    const whole = a.add('c1/legit/0', legit[2]!, B1);
    assert.equal(whole?.topics.length, 4500, 'the lighter host completed its report during the flood');
    assert.ok(a.bytes <= LIMITS.maxBytes);
  });

  test('within one host, a lighter connection evicts the heaviest; the evicted report is told why', () => {
    const a = new ChunkAssembler({ ...LIMITS, maxBytes: 256 * KiB, maxBytesPerConnection: 256 * KiB });
    const heavy = chunk('heavy', 0, 3, 3800); // ~208 KB
    a.add('c1/heavy/0', heavy, A1);
    const light = chunk('light', 0, 2, 1500); // ~82 KB: does not fit beside it
    assert.ok(a.bytes + charge(light) > 256 * KiB);
    a.add('c1/light/0', light, A2);
    assert.equal(a.size, 1, 'the heavy report was evicted');
    assert.throws(() => a.add('c1/heavy/0', chunk('heavy', 1, 3, 1), A1), (e: Error) => e instanceof ChunkedReportDropped && /evicted/.test(e.message));
    assert.ok(a.add('c1/light/0', chunk('light', 1, 2, 1), A2));
  });

  test('the sender holding the largest share is refused rather than evicting a lighter one', () => {
    const a = new ChunkAssembler({ ...LIMITS, maxBytes: 256 * KiB, maxBytesPerConnection: 256 * KiB });
    a.add('c1/light/0', chunk('light', 0, 2, 1000), B1);
    a.add('c1/heavy/0', chunk('heavy', 0, 3, 2000), A1);
    assert.throws(() => a.add('c1/heavy2/0', chunk('heavy2', 0, 3, 2000), A1), (e: Error) => e instanceof LimitExceeded && /largest share/.test(e.message));
    assert.ok(a.add('c1/light/0', chunk('light', 1, 2, 1), B1), 'the lighter report survived');
  });

  test('reports not complete within the timeout are dropped by a timer, freeing their bytes', () => {
    const a = new ChunkAssembler({ ...LIMITS, timeoutMs: 5_000 });
    a.add('c1/b/0', chunk('b', 0, 2), A1);
    mock.timers.tick(2_000);
    a.add('c1/c/0', chunk('c', 0, 2), A1);
    mock.timers.tick(3_001);
    assert.equal(a.size, 1, 'the first report expired without any further add');
    mock.timers.tick(2_000);
    assert.equal(a.size, 0);
    assert.equal(a.bytes, 0);
    assert.throws(() => a.add('c1/b/0', chunk('b', 1, 2), A1), (e: Error) => e instanceof ChunkedReportDropped && /--chunk-timeout-ms/.test(e.message));
    a.close();
  });

  test('a complete report of the broker drops its older pending chunked report', () => {
    const a = new ChunkAssembler(LIMITS);
    a.add('c1/b/0', chunk('b', 0, 2, 1, 3), A1);
    a.supersede('c1/b/0', 'boot-b', 2);
    assert.equal(a.size, 1, 'an older complete report leaves the newer pending one');
    a.supersede('c1/b/0', 'boot-b', 4);
    assert.equal(a.size, 0);
    assert.equal(a.bytes, 0);
  });
});
