/**
 * Soak for leaks: rounds of Connect and unary brokers registering, reporting and leaving, watchers and
 * consoles coming and going, admin writes carried to brokers. After each round every table, index,
 * session, stream, timer-owning object and listener count must be back to where it started, and the
 * heap must stay flat. SOAK_ROUNDS sets the rounds (default 12 in CI; `npm run soak:leaks` runs 300).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { call, connect, startServer, type Started } from '../helpers/server';
import { WatchProbe } from '../helpers/watch';
import { FakeBroker } from '../fixtures/fake-broker';
import { report, topic } from '../fixtures/reports';

const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 12);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Everything that must return to its baseline once a round's participants are gone. */
function census(s: Started) {
  const r = s.server.core;
  return {
    brokers: r.brokers.size,
    topics: r.routes.size,
    topicEntries: r.topics.entryCount(),
    groups: r.groups.size,
    positions: r.positions.stats().queuePositions + r.positions.stats().consumerPositions,
    instances: r.instances.stats().instances,
    chunked: r.pendingChunkedReports,
    sessions: s.server.sessions.size,
    routeWatchers: s.server.routeWatch.size,
    indexedTopics: s.server.routeWatch.indexedTopics,
    clusterWatchers: s.server.clusterWatch.size,
    streams: s.server.streams.size,
    commands: s.server.commands.size,
    routeListeners: r.routes.listenerCount('changed') + r.routes.listenerCount('removed'),
    brokerListeners: r.brokers.listenerCount('joined') + r.brokers.listenerCount('left') + r.brokers.listenerCount('updated'),
    warmupListeners: s.server.warmup.listenerCount('done'),
  };
}

/** Resolve once the server has no open stream and no broker left. */
async function drained(s: Started): Promise<void> {
  const r = s.server.core;
  while (s.server.streams.size > 0) await once(s.server.streams, 'closed');
  while (r.brokers.size > 0) await new Promise<void>((resolve) => r.brokers.once('left', () => resolve()));
}

/**
 * One round. Watchers and the console use a connection of their own per round: they end their streams
 * by cancelling (RST_STREAM), and Node's HTTP/2 rapid-reset protection (nghttp2: bursts of ~1,000,
 * then ~33 resets/s) rightly closes one connection that cancels streams faster than that for minutes.
 */
async function round(s: Started, n: number): Promise<void> {
  const c = connect(s.address, true);
  const topics = Array.from({ length: 50 }, (_, i) => `soak-${i}`);
  const streamBrokers = [0, 1, 2].map((i) => new FakeBroker(s.address, `sb-${n}-${i}`, topics));
  await Promise.all(streamBrokers.map((b) => b.connect()));
  for (let i = 0; i < 3; i++) {
    await call(s.brokers, 'registerBroker', report(`ub-${n}-${i}`, 0, topics, { groups: [{ name: 'g', consumeMode: 1, subscriptions: [], retryPolicy: undefined, consumeOrderly: false, attributes: {} }] }));
    await call(s.brokers, 'reportPositions', {
      cluster: 'c1', brokerName: `ub-${n}-${i}`, brokerId: 0, full: true,
      queuePositions: [{ topic: 'soak-0', queueId: 0, minOffset: 0, maxOffset: 10 }],
      consumerPositions: [{ group: 'g', topic: 'soak-0', queueId: 0, committedOffset: 5 }],
    });
    await call(s.brokers, 'reportInstances', {
      cluster: 'c1', brokerName: `ub-${n}-${i}`, brokerId: 0, full: true,
      instances: [{ clientId: `app-${n}`, role: 2, group: 'g', topics: ['soak-0'], host: 'h', language: 'GO', version: '1' }],
    });
  }
  const watchers = Array.from({ length: 6 }, () => new WatchProbe(c.routes));
  watchers.forEach((w, i) => (i === 0 ? w.send({ allTopics: true }) : w.subscribe(...topics.slice(i, i + 20), 'never-exists')));
  await Promise.all(watchers.map((w) => w.synced()));
  const console = c.admin.watchCluster({ cluster: '' });
  console.on('error', () => undefined);
  await once(console, 'data');
  await call(s.admin, 'createTopic', { topic: topic(`made-${n}`), cluster: '', brokerNames: streamBrokers.map((b) => b.brokerName) });
  // Everyone leaves.
  watchers.forEach((w) => w.close());
  console.cancel();
  streamBrokers.forEach((b) => b.close());
  for (let i = 0; i < 3; i++) await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: `ub-${n}-${i}`, brokerId: 0, epoch: '' });
  c.close();
  await drained(s);
}

test(`${ROUNDS} rounds of brokers, watchers and consoles coming and going leave nothing behind`, async (t) => {
  const s = await startServer({ streamGraceMs: 20 });
  try {
    const base = census(s);
    const heap: number[] = [];
    for (let n = 0; n < ROUNDS; n++) {
      await round(s, n);
      assert.deepEqual(census(s), base, `round ${n}: something was left behind`);
      gc();
      heap.push(process.memoryUsage().heapUsed);
    }
    const warm = heap[Math.floor(ROUNDS / 3)]!;
    const last = heap[heap.length - 1]!;
    t.diagnostic(`heap after round ${Math.floor(ROUNDS / 3)}: ${(warm / 1e6).toFixed(1)} MB, after round ${ROUNDS}: ${(last / 1e6).toFixed(1)} MB`);
    // Flat: later rounds add no more than a small constant (allocator and JIT noise), not per-round growth.
    assert.ok(last - warm < 8e6, `heap grew by ${((last - warm) / 1e6).toFixed(1)} MB over ${ROUNDS - Math.floor(ROUNDS / 3)} rounds`);
  } finally {
    await s.stop();
  }
});
