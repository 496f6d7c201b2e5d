/**
 * Clients that misbehave on purpose, over raw HTTP/2 (test/helpers/raw-h2.ts), against a NameServer
 * in its own process whose memory is measured after a full GC before, during and after the flood
 * (test/helpers/measured-server.ts). Throughout, a well-behaved broker and watcher on another
 * connection keep working.
 *
 * - a client that never opens its flow-control window: its stalled streams are reset (RST_STREAM
 *   ENHANCE_YOUR_CALM) and freed, count against the limits until they are really gone, and a
 *   connection that keeps stalling is closed (GOAWAY ENHANCE_YOUR_CALM);
 * - a client subscribing millions of topics: refused past the per-connection and total limits;
 * - many requests in one TCP write: one progress message each;
 * - a route larger than the message limit: a TOO_LARGE event for that topic, every other topic and
 *   every other watcher unaffected, batches split to fit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { status } from '@grpc/grpc-js';
import { RouteEventType, WatchRoutesRequest, WatchRoutesResponse } from '../../generated/nameserver/v1/route_query';
import { call, connect, rejectsWith, startServer, type Clients, type Started } from '../helpers/server';
import { mib, spawnMeasuredServer, type MeasuredServer, type MemorySample } from '../helpers/measured-server';
import { rawCall, rawConnect, within, type RawStream } from '../helpers/raw-h2';
import { WatchProbe } from '../helpers/watch';
import { report, topic } from '../fixtures/reports';

const WATCH = '/nameserver.v1.RouteQuery/WatchRoutes';
const { UPDATED, TOO_LARGE } = { UPDATED: RouteEventType.ROUTE_EVENT_TYPE_UPDATED, TOO_LARGE: RouteEventType.ROUTE_EVENT_TYPE_TOO_LARGE };
const ENHANCE_YOUR_CALM = http2.constants.NGHTTP2_ENHANCE_YOUR_CALM;

const watchRequest = (req: Partial<WatchRoutesRequest>) =>
  WatchRoutesRequest.encode({ subscribe: [], unsubscribe: [], allTopics: false, ...req }).finish();
const ALL_TOPICS = watchRequest({ allTopics: true });
const names = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}-${from + i}`);
/** Heap and buffers after a full GC: what a leak or a flood shows in. */
const held = (m: MemorySample) => m.heapUsed + m.external;

/**
 * A broker and a watcher on a connection of their own: `check()` changes the broker's topic and waits
 * until the watcher sees the change.
 */
async function bystander(address: string): Promise<{ check(): Promise<void>; close(): void }> {
  const c: Clients = connect(address, true);
  const probe = new WatchProbe(c.routes);
  probe.subscribe('bystander');
  let counter = 1;
  const change = async () => {
    counter++;
    await call(c.brokers, 'registerBroker', report('bystander', 0, [topic('bystander', { writeQueueNums: (counter % 16) + 1 })], { dataVersion: { epoch: 'boot-bystander', counter }, leaseTtlMs: 300_000 }));
    const want = (counter % 16) + 1;
    await probe.until((p) => p.latest('bystander')?.route?.brokers[0]?.writeQueueNums === want, 30_000, 'the bystander watcher sees the change');
  };
  await change();
  return { check: change, close: () => (probe.close(), c.close()) };
}

/** Wait until the server holds no streams but the bystander's (the flood connection's are gone). */
async function settled(s: MeasuredServer, streams: number): Promise<MemorySample> {
  for (let i = 0; i < 200; i++) {
    const m = await s.mem();
    if (m.streams <= streams) return m;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('the server kept the flood connection\'s streams');
}

describe('a client that never opens its flow-control window', () => {
  let s: MeasuredServer;
  let by: Awaited<ReturnType<typeof bystander>>;
  let base: MemorySample;
  before(async () => {
    // A stall timeout well above what a busy test process may take to read its bystander's events (at
    // 500 ms the bystander itself was judged stalled on a loaded machine).
    s = await spawnMeasuredServer({ maxStreamsPerConnection: 500, watchStallTimeoutMs: 1_500, maxStalledStreamsPerConnection: 1_000_000 });
    const c = connect(s.address, true);
    // 3,000 topics: an all-topics watcher is sent more than one window's worth.
    await call(c.brokers, 'registerBroker', report('flooded', 0, names('topic', 3000), { leaseTtlMs: 300_000 }));
    c.close();
    by = await bystander(s.address);
    base = await s.mem();
  });
  after(async () => {
    by.close();
    await s.stop();
  });

  test('4,000 stalled streams on a 500-stream connection: at most 500 at a time, each reset and freed', async (t) => {
    const flood = await rawConnect(s.address, { initialWindowSize: 0 });
    let open = 0;
    let maxOpen = 0;
    let admitted = 0;
    const refusals: string[] = [];
    let peak = base;
    const WAVES = 8;
    for (let wave = 0; wave < WAVES; wave++) {
      // The first wave asks for 100 more than the limit at once.
      const calls = Array.from({ length: wave === 0 ? 600 : 500 }, () => rawCall(flood, WATCH, [ALL_TOPICS]));
      const heads = await within(Promise.all(calls.map((c) => c.headers)), 60_000, 'response headers of every stream');
      const live: RawStream[] = [];
      const refused: RawStream[] = [];
      heads.forEach((h, i) => {
        if (h['grpc-status'] === undefined) live.push(calls[i]!);
        else {
          refused.push(calls[i]!);
          refusals.push(`${h['grpc-status']} ${decodeURIComponent(String(h['grpc-message']))}`);
        }
      });
      // A refused stream is not counted, so the server closes it (RST_STREAM NO_ERROR after the status).
      const refusedEnds = await within(Promise.all(refused.map((c) => c.closed)), 30_000, 'refused streams closed by the server');
      assert.ok(refusedEnds.every((e) => e.rstCode === http2.constants.NGHTTP2_NO_ERROR));
      admitted += live.length;
      open += live.length;
      maxOpen = Math.max(maxOpen, open);
      const m = await s.mem();
      if (held(m) > held(peak)) peak = m;
      await by.check();
      // Every admitted stream is reset once it has read nothing for the stall timeout.
      const ends = await within(Promise.all(live.map((c) => c.closed)), 60_000, `wave ${wave}: stalled streams reset`);
      assert.deepEqual([...new Set(ends.map((e) => e.rstCode))], [ENHANCE_YOUR_CALM], 'reset with ENHANCE_YOUR_CALM');
      open -= live.length;
    }
    flood.destroy();
    const end = await settled(s, 1);
    t.diagnostic(`stalled-stream flood: ${admitted} streams served in ${WAVES} waves, at most ${maxOpen} at once, ${refusals.length} refused`);
    t.diagnostic(`memory (after GC) before ${mib(held(base))} heap+external (RSS ${mib(base.rss)}), peak ${mib(held(peak))} (RSS ${mib(peak.rss)}), after ${mib(held(end))} (RSS ${mib(end.rss)})`);
    assert.equal(maxOpen, 500, 'never more streams at once than --max-streams-per-connection');
    assert.equal(admitted, 4000, 'every stream was served once earlier ones were really gone');
    assert.equal(refusals.length, 100);
    assert.match(refusals[0]!, /^8 at most 500 streams per connection/);
    // 500 stalled all-topics streams over 3,000 topics hold about 100 MiB until they are reset; before
    // the fix 4,000 of them stayed, about 1.4 GiB.
    assert.ok(held(peak) - held(base) < 200 * 1024 * 1024, `peak growth ${mib(held(peak) - held(base))} stays under 200 MiB`);
    assert.ok(held(end) - held(base) < 16 * 1024 * 1024, `memory is returned: ${mib(held(end) - held(base))} left over`);
    await by.check();
  });

  test('a connection that keeps stalling is closed with GOAWAY ENHANCE_YOUR_CALM', async () => {
    const s2 = await spawnMeasuredServer({ watchStallTimeoutMs: 300 }); // default: GOAWAY at the 3rd stall
    try {
      const c = connect(s2.address, true);
      await call(c.brokers, 'registerBroker', report('flooded', 0, names('topic', 3000), { leaseTtlMs: 300_000 }));
      c.close();
      const by2 = await bystander(s2.address);
      const flood = await rawConnect(s2.address, { initialWindowSize: 0 });
      const goaway = new Promise<number>((resolve) => flood.once('goaway', (code) => resolve(code)));
      const calls = Array.from({ length: 10 }, () => rawCall(flood, WATCH, [ALL_TOPICS]));
      await Promise.all(calls.map((x) => x.headers));
      assert.equal(await within(goaway, 30_000, 'GOAWAY'), ENHANCE_YOUR_CALM);
      await within(new Promise((resolve) => (flood.closed ? resolve(undefined) : flood.once('close', resolve))), 30_000, 'the connection closes');
      const m = await settled(s2, 1);
      assert.equal(m.watchers, 1, 'only the bystander\'s watcher is left');
      await by2.check();
      by2.close();
    } finally {
      await s2.stop();
    }
  });
});

describe('a client that subscribes millions of topics', () => {
  test('2,000,000 subscriptions asked on one connection: 100,000 accepted, the rest refused naming the limit', async (t) => {
    const s = await spawnMeasuredServer(); // defaults: 100,000 per stream and per connection, 1,000,000 in total
    try {
      const by = await bystander(s.address);
      const base = await s.mem();
      const flood = await rawConnect(s.address);
      // 20 streams × 10 requests of 10,000 topics (the most one request may carry), each stream in one write.
      const streams = Array.from({ length: 20 }, (_, i) =>
        rawCall(flood, WATCH, Array.from({ length: 10 }, (_, r) => watchRequest({ subscribe: names(`s${i}`, 10_000, r * 10_000).map((topic) => ({ topic, version: '' })) }))),
      );
      // Each stream ends up either following its 100,000 topics (10 progress messages) or refused.
      const outcomes = await within(
        Promise.all(
          streams.map((x) => {
            let progress = 0;
            const done = new Promise<number>((resolve) =>
              x.read((m) => {
                const p = WatchRoutesResponse.decode(m).progress;
                if (p && ++progress === 10) resolve(p.subscribedTopics);
              }),
            );
            return Promise.race([done, x.status]);
          }),
        ),
        120_000,
        'every stream followed its topics or was refused',
      );
      const during = await s.mem();
      const refused = outcomes.filter((o) => typeof o !== 'number');
      t.diagnostic(`${outcomes.length - refused.length} streams followed 100,000 topics, ${refused.length} refused; the server holds ${during.subscriptions} subscriptions`);
      assert.ok(refused.length >= 19, 'at most one stream\'s worth of topics was accepted');
      for (const st of refused) {
        assert.equal(st.code, status.RESOURCE_EXHAUSTED);
        assert.match(st.message, /one connection may follow at most 100000 topics \(--max-subscriptions-per-connection\)/);
      }
      assert.ok(during.subscriptions <= 100_000 + 1, 'the flood connection holds at most 100,000 (plus the bystander\'s one)');
      await by.check();
      flood.destroy();
      const end = await settled(s, 1);
      t.diagnostic(`subscription flood: memory (after GC) before ${mib(held(base))} heap+external (RSS ${mib(base.rss)}), during ${mib(held(during))} (RSS ${mib(during.rss)}), after ${mib(held(end))} (RSS ${mib(end.rss)})`);
      // Before the limit, 2,000,000 subscriptions cost about 700 MB; 100,000 cost a few tens of MB.
      assert.ok(held(during) - held(base) < 100 * 1024 * 1024, `growth during ${mib(held(during) - held(base))} stays under 100 MiB`);
      assert.ok(held(end) - held(base) < 16 * 1024 * 1024, `memory is returned: ${mib(held(end) - held(base))} left over`);
      assert.equal(end.subscriptions, 1);
      by.close();
    } finally {
      await s.stop();
    }
  });

  test('subscriptions over all connections are bounded too (--max-subscriptions)', async () => {
    const s = await startServer({ maxSubscriptions: 150, maxSubscriptionsPerConnection: 100 });
    try {
      const aConn = await rawConnect(s.address);
      const a = rawCall(aConn, WATCH, [watchRequest({ subscribe: names('a', 100).map((topic) => ({ topic, version: '' })) })]);
      a.read();
      await within(new Promise<void>((resolve) => a.stream.on('data', () => s.server.routeWatch.subscriptions() === 100 && resolve())), 30_000, 'first connection subscribed');
      const bConn = await rawConnect(s.address);
      const b = rawCall(bConn, WATCH, [watchRequest({ subscribe: names('b', 100).map((topic) => ({ topic, version: '' })) })]);
      const st = await within(b.status, 30_000, 'second connection refused');
      assert.equal(st.code, status.RESOURCE_EXHAUSTED);
      assert.match(st.message, /at most 150 subscriptions \(--max-subscriptions\)/);
      assert.equal(s.server.routeWatch.subscriptions(), 100, 'the refused stream released what it had taken');
      aConn.destroy();
      bConn.destroy();
    } finally {
      await s.stop();
    }
  });
});

describe('many requests in one TCP write', () => {
  let s: Started;
  before(async () => {
    s = await startServer();
  });
  after(() => s.stop());

  test('20 requests in one write get 20 progress messages', async () => {
    const session = await rawConnect(s.address);
    try {
      const reqs = Array.from({ length: 20 }, (_, i) => watchRequest({ subscribe: [{ topic: `burst-${i}`, version: '' }] }));
      const w = rawCall(session, WATCH, reqs); // one write
      const progress: number[] = [];
      const all = new Promise<void>((resolve) =>
        w.read((m) => {
          const p = WatchRoutesResponse.decode(m).progress;
          if (p) progress.push(p.subscribedTopics);
          if (progress.length === 20) resolve();
        }),
      );
      await within(all, 30_000, '20 progress messages');
      assert.equal(progress.length, 20);
      assert.equal(progress.at(-1), 20);
    } finally {
      session.destroy();
    }
  });
});

describe('a route larger than the message limit', () => {
  const LIMIT = 64 * 1024; // the smallest --max-message-bytes
  let s: Started;
  before(async () => {
    s = await startServer({ maxMessageBytes: LIMIT });
    // 1,000 ordinary topics, about 100 KiB of routes: an all-topics watcher needs several batches.
    await call(s.brokers, 'registerBroker', report('small', 0, names('t', 1000), { leaseTtlMs: 300_000 }));
  });
  after(() => s.stop());

  /** A DNS name of 250 characters. */
  const longHost = (i: number, j: number) => `${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.r${String(i).padStart(4, '0')}a${String(j).padStart(2, '0')}${'d'.repeat(53)}`;
  /** Grow (or shrink) replica set "big" to `replicas` replicas of 16 long addresses: about 4 KiB each. */
  async function bigSet(replicas: number): Promise<void> {
    for (let id = 0; id < 20; id++) {
      if (id < replicas) {
        const addresses = Array.from({ length: 16 }, (_, j) => `${longHost(id, j)}:10911`);
        await call(s.brokers, 'registerBroker', report('big', id, id === 0 ? ['big'] : [], { addresses, leaseTtlMs: 300_000 }));
      } else {
        await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'big', brokerId: id, epoch: '' });
      }
    }
  }

  test('its watchers get a TOO_LARGE event for it and keep every other topic; batches fit the limit', async () => {
    const all = new WatchProbe(s.routes);
    all.send({ allTopics: true });
    const some = new WatchProbe(s.routes);
    some.subscribe('big', 't-1');
    const other = new WatchProbe(s.routes);
    other.subscribe('t-2');
    await Promise.all([all.synced(), some.synced(), other.synced()]);
    assert.equal(new Set(all.events.map((e) => e.topic)).size, 1000, 'all 1,000 routes, in batches under the limit');

    await bigSet(20); // about 80 KiB: more than the limit
    const grown = s.server.core.routes.get('big')!;
    assert.ok(grown.updateEventBytes.length > LIMIT);
    for (const p of [all, some]) {
      await p.until((x) => x.latest('big')?.type === TOO_LARGE, 15_000, 'TOO_LARGE for big');
      const ev = p.latest('big')!;
      assert.match(ev.error, /the route of topic "big" is \d+ bytes encoded, more than this server sends in one message \(65536 bytes, --max-message-bytes\)/);
    }
    // A new all-topics watcher lives too.
    const late = new WatchProbe(s.routes);
    late.send({ allTopics: true });
    await late.synced();
    assert.equal(late.latest('big')?.type, TOO_LARGE);
    assert.equal(late.events.filter((e) => e.type === UPDATED).length, 1000);
    const e = await rejectsWith(call(s.routes, 'getRoute', { topic: 'big' }), status.RESOURCE_EXHAUSTED);
    assert.match(e.details, /route of topic "big" is \d+ bytes/);

    // Every stream lives on: other topics still flow to all of them.
    await call(s.brokers, 'registerBroker', report('small', 0, [...names('t', 1000).map((n) => (n === 't-1' || n === 't-2' ? topic(n, { writeQueueNums: 3 }) : n))], { dataVersion: { epoch: 'boot-small-0', counter: 2 }, leaseTtlMs: 300_000 }));
    for (const [p, t] of [[all, 't-1'], [some, 't-1'], [other, 't-2'], [late, 't-2']] as const) {
      await p.until((x) => x.latest(t)?.route?.brokers[0]?.writeQueueNums === 3, 15_000, `${t} updated`);
    }
    // Once the route fits again, it is sent.
    await bigSet(4);
    for (const p of [all, some, late]) await p.until((x) => x.latest('big')?.type === UPDATED, 15_000, 'big UPDATED again');
    assert.equal(all.error ?? some.error ?? other.error ?? late.error, undefined, 'no stream was ended');
    [all, some, other, late].forEach((p) => p.close());
  });

  test('GetRoutes whose answer would pass the limit is refused naming it', async () => {
    const e = await rejectsWith(call(s.routes, 'getRoutes', { topics: names('t', 1000) }), status.RESOURCE_EXHAUSTED);
    assert.match(e.details, /the 1000 routes asked for are \d+ bytes encoded, more than this server sends in one message \(65536 bytes, --max-message-bytes\); ask for fewer topics/);
    assert.equal((await call(s.routes, 'getRoutes', { topics: names('t', 100) })).routes.length, 100);
  });
});
