/** The push path's writer without a network: coalescing, backpressure, stall, and the shared flush queue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { CoalescingWriter, frameOf } from '../../src/server/network/route-query/coalescing-writer';

/** A sink that records writes; it lets messages out (calls back) only when told to. */
class FakeSink extends EventEmitter {
  readonly writes: Buffer[] = [];
  private pending: (() => void)[] = [];
  constructor(private readonly accept = true) {
    super();
  }
  write(chunk: Buffer, cb: () => void): boolean {
    this.writes.push(chunk);
    this.pending.push(cb);
    this.emit('wrote');
    return this.accept;
  }
  /** Flow control lets every written message out. */
  release(): void {
    const p = this.pending;
    this.pending = [];
    p.forEach((cb) => cb());
  }
}

const OPTS = { maxBatchBytes: 1 << 20, stallTimeoutMs: 60_000, onStall: () => assert.fail('no stall expected') };
const wrote = (s: FakeSink) => new Promise<void>((resolve) => s.once('wrote', resolve));

test('a burst of marks on one key is one write of the latest state', async () => {
  const sink = new FakeSink();
  let state = 0;
  const w = new CoalescingWriter<string>(sink, () => Buffer.from(`v${state}`), () => undefined, OPTS);
  for (state = 1; state <= 100; state++) w.mark('t');
  state = 100;
  await wrote(sink);
  assert.deepEqual(sink.writes.map(String), ['v100']);
  assert.equal(w.coalesced, 99);
});

test('the shared flush queue serves thousands of writers, each once, in slices', async () => {
  const sinks = Array.from({ length: 2_000 }, () => new FakeSink());
  const writers = sinks.map((s, i) => new CoalescingWriter<string>(s, () => Buffer.from(String(i)), () => undefined, OPTS));
  const all = Promise.all(sinks.map(wrote));
  writers.forEach((w) => w.mark('t'));
  await all;
  sinks.forEach((s, i) => assert.deepEqual(s.writes.map(String), [String(i)]));
  // A second round after the queue drained (and flow control let the first messages out) works too.
  sinks.forEach((s) => s.release());
  const again = Promise.all(sinks.map(wrote));
  writers.forEach((w) => w.mark('t'));
  await again;
  assert.ok(sinks.every((s) => s.writes.length === 2));
});

test('one message in flight: marks while waiting coalesce, and go out when flow control lets the first out', async () => {
  const sink = new FakeSink();
  let state = 'a';
  const w = new CoalescingWriter<string>(sink, () => Buffer.from(state), () => undefined, OPTS);
  w.mark('t');
  await wrote(sink);
  assert.equal(w.isBlocked, true);
  state = 'b';
  w.mark('t');
  state = 'c';
  w.mark('t');
  await new Promise((r) => setImmediate(r));
  assert.equal(sink.writes.length, 1, 'nothing more until the first is let out');
  const next = wrote(sink);
  sink.release();
  await next;
  assert.deepEqual(sink.writes.map(String), ['a', 'c']);
});

test('write() returning false waits for drain; a sink blocked past the limit is reported as stalled', async () => {
  const sink = new FakeSink(false);
  let stalled!: () => void;
  const stall = new Promise<void>((resolve) => (stalled = resolve));
  const w = new CoalescingWriter<string>(sink, (k) => Buffer.from(k), () => undefined, { maxBatchBytes: 1 << 20, stallTimeoutMs: 50, onStall: () => stalled() });
  w.mark('x');
  await wrote(sink);
  sink.release(); // let out by flow control, but the stream's buffer is over its mark: wait for 'drain'
  w.mark('y');
  // The writer's stall timer is unref'd (it never keeps a server alive); a socket would keep the loop alive.
  const keepAlive = setTimeout(() => undefined, 10_000);
  await stall;
  clearTimeout(keepAlive);
  assert.equal(sink.writes.length, 1);
  w.close();
});

test('a progress message follows the pending events in the same write', async () => {
  const sink = new FakeSink();
  const w = new CoalescingWriter<string>(sink, (k) => Buffer.from(k), () => Buffer.from('|p'), OPTS);
  w.mark('a');
  w.mark('b');
  w.progress();
  await wrote(sink);
  assert.deepEqual(sink.writes.map(String), ['ab|p']);
});

test('batches are split so that no message passes maxMessageBytes, whatever maxBatchBytes says', async () => {
  const sink = new FakeSink();
  const parts = new Map([['a', 'x'.repeat(40)], ['b', 'y'.repeat(40)], ['c', 'z'.repeat(40)]]);
  const w = new CoalescingWriter<string>(sink, (k) => Buffer.from(parts.get(k)!), () => Buffer.from('|p'), {
    ...OPTS,
    maxBatchBytes: 1000,
    maxMessageBytes: 100,
    maxInFlight: 10,
  });
  ['a', 'b', 'c'].forEach((k) => w.mark(k));
  w.progress();
  while (sink.writes.reduce((n, b) => n + b.length, 0) < 122) await wrote(sink);
  assert.deepEqual(sink.writes.map((b) => b.length), [80, 42], 'a+b, then c and the progress');
  assert.ok(sink.writes.every((b) => b.length <= 100));
});

test('a part that did not fit while the sink blocked is carried, not lost', async () => {
  const sink = new FakeSink();
  let v = 0;
  const w = new CoalescingWriter<string>(sink, (k) => Buffer.from(`${k}${v}`.padEnd(60, '.')), () => undefined, { ...OPTS, maxBatchBytes: 1000, maxMessageBytes: 100 });
  w.mark('a');
  w.mark('b'); // rendered once (the client is now told b0), but does not fit next to a0
  await wrote(sink);
  assert.equal(sink.writes.length, 1);
  v = 1; // later states must not replace what b's render already promised
  const next = wrote(sink);
  sink.release();
  await next;
  assert.deepEqual(sink.writes.map((b) => b.toString().replace(/\.+$/, '')), ['a0', 'b0']);
});

test('a part larger than maxMessageBytes on its own is dropped and reported; the writer goes on', async () => {
  const sink = new FakeSink();
  const oversized: unknown[] = [];
  const w = new CoalescingWriter<string>(sink, (k) => Buffer.from(k === 'huge' ? 'h'.repeat(200) : k), () => undefined, {
    ...OPTS,
    maxMessageBytes: 100,
    onOversized: (k) => oversized.push(k),
  });
  w.mark('huge');
  w.mark('ok');
  await wrote(sink);
  assert.deepEqual(sink.writes.map(String), ['ok']);
  assert.deepEqual(oversized, ['huge']);
});

test('progress(true) is one progress message each; plain progress() coalesces', async () => {
  const sink = new FakeSink();
  let n = 0;
  const w = new CoalescingWriter<string>(sink, (k) => Buffer.from(k), () => Buffer.from(`|p${++n}`), { ...OPTS, maxInFlight: 100 });
  w.mark('a');
  for (let i = 0; i < 5; i++) w.progress(true);
  w.progress();
  w.progress();
  while (sink.writes.length < 5) await wrote(sink);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sink.writes.map(String), ['a|p1', '|p2', '|p3', '|p4', '|p5']);
  w.progress();
  w.progress();
  await wrote(sink);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sink.writes.map(String).slice(5), ['|p6']);
});

test('frameOf: one gRPC frame (flag 0, big-endian length, message); the same message reuses its frame', () => {
  const a = Buffer.from('route bytes');
  const f = frameOf(a);
  assert.deepEqual([...f.subarray(0, 5)], [0, 0, 0, 0, a.length]);
  assert.equal(f.subarray(5).toString(), 'route bytes');
  assert.equal(frameOf(a), f, 'a fan-out frames its message once');
  const b = Buffer.alloc(70_000, 7);
  const g = frameOf(b);
  assert.notEqual(g, f);
  assert.equal(g.readUInt32BE(1), 70_000);
  assert.equal(g.length, 70_005);
  assert.equal(frameOf(Buffer.from('route bytes')).equals(f), true, 'an equal message in another buffer is framed again, identically');
});
