/** PositionManager unit tests: no network, no server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PositionManager } from '../../src/server/metadata/position-manager';
import { brokerRef } from '../../src/server/metadata/types';
import type { ConsumerPosition, QueuePosition } from '../../generated/nameserver/v1/common';

function broker(brokerName: string, brokerId = 0, cluster = 'c1') {
  return brokerRef(cluster, brokerName, brokerId);
}
function qp(topic: string, queueId: number, maxOffset: number, minOffset = 0): QueuePosition {
  return { topic, queueId, minOffset, maxOffset };
}
function cp(group: string, topic: string, queueId: number, committedOffset: number): ConsumerPosition {
  return { group, topic, queueId, committedOffset };
}

const b1 = broker('b1');
const b2 = broker('b2');

test('merge report updates named entries and keeps the others', () => {
  const pm = new PositionManager();
  assert.deepEqual(pm.report(b1, [qp('t', 0, 10), qp('t', 1, 20)], [cp('g', 't', 0, 5)], true), { queues: 2, consumers: 1 });
  assert.deepEqual(pm.report(b1, [qp('t', 1, 25), qp('u', 0, 3)], [cp('g', 't', 1, 7)], false), { queues: 3, consumers: 2 });
  assert.deepEqual(pm.queuePositions(b1.key), [qp('t', 0, 10), qp('t', 1, 25), qp('u', 0, 3)]);
  assert.deepEqual(pm.stats(), { brokers: 1, queuePositions: 3, consumerPositions: 2 });
});

test('full report replaces everything held for that broker only', () => {
  const pm = new PositionManager();
  pm.report(b1, [qp('t', 0, 10), qp('t', 1, 20)], [cp('g', 't', 0, 5), cp('h', 't', 0, 1)], true);
  pm.report(b2, [qp('t', 0, 99)], [cp('g', 't', 0, 90)], true);
  assert.deepEqual(pm.report(b1, [qp('t', 1, 30)], [cp('g', 't', 1, 30)], true), { queues: 1, consumers: 1 });
  assert.deepEqual(pm.queuePositions(b1.key), [qp('t', 1, 30)]);
  assert.deepEqual(pm.queuePositions(b2.key), [qp('t', 0, 99)]);
  // Group h was only on b1's old report: it is gone from the index.
  assert.deepEqual(pm.groupsWithPositions(), ['g']);
  assert.deepEqual(pm.stats(), { brokers: 2, queuePositions: 2, consumerPositions: 2 });
});

test('queuePositions: sorted copies, topic filter, unknown broker', () => {
  const pm = new PositionManager();
  pm.report(b1, [qp('z', 1, 1), qp('a', 2, 2), qp('z', 0, 3), qp('a', 0, 4)], [], true);
  assert.deepEqual(pm.queuePositions(b1.key).map((q) => `${q.topic}:${q.queueId}`), ['a:0', 'a:2', 'z:0', 'z:1']);
  assert.deepEqual(pm.queuePositions(b1.key, 'z'), [qp('z', 0, 3), qp('z', 1, 1)]);
  assert.deepEqual(pm.queuePositions(b1.key, 'nope'), []);
  assert.deepEqual(pm.queuePositions('c1/none/0'), []);
  // Mutating what we got back, or what we passed in, does not change the stored state.
  pm.queuePositions(b1.key)[0]!.maxOffset = 1000;
  const input = [qp('m', 0, 5)];
  pm.report(b1, input, [], false);
  input[0]!.maxOffset = 1000;
  assert.equal(pm.queuePositions(b1.key, 'a')[0]!.maxOffset, 4);
  assert.equal(pm.queuePositions(b1.key, 'm')[0]!.maxOffset, 5);
});

test('removeBroker drops its positions and its lag', () => {
  const pm = new PositionManager();
  pm.report(b1, [qp('t', 0, 10)], [cp('g', 't', 0, 4)], true);
  pm.report(b2, [qp('t', 0, 10)], [cp('g', 't', 0, 8)], true);
  assert.equal(pm.totalLag('g'), 8);
  assert.equal(pm.removeBroker(b1.key), true);
  assert.equal(pm.removeBroker(b1.key), false);
  assert.equal(pm.totalLag('g'), 2);
  assert.deepEqual(pm.queuePositions(b1.key), []);
  pm.removeBroker(b2.key);
  assert.deepEqual(pm.groupsWithPositions(), []);
  assert.deepEqual(pm.stats(), { brokers: 0, queuePositions: 0, consumerPositions: 0 });
  assert.deepEqual(pm.lag('g'), { group: 'g', totalLag: 0, topics: [] });
});

test('lag math: per queue, clamped at zero, missing max offset, totals and order', () => {
  const pm = new PositionManager();
  pm.report(b2, [qp('orders', 0, 100), qp('orders', 1, 50)], [cp('g', 'orders', 1, 60), cp('g', 'orders', 0, 40)], true);
  // b1 reports a committed offset on queue 3 but no max offset for it.
  pm.report(b1, [qp('orders', 0, 10), qp('audit', 0, 7)], [cp('g', 'orders', 0, 10), cp('g', 'orders', 3, 5), cp('g', 'audit', 0, 2)], true);
  assert.deepEqual(pm.lag('g'), {
    group: 'g',
    totalLag: 65,
    topics: [
      { topic: 'audit', lag: 5, queues: [{ brokerName: 'b1', brokerId: 0, queueId: 0, maxOffset: 7, committedOffset: 2, lag: 5 }] },
      {
        topic: 'orders',
        lag: 60,
        queues: [
          { brokerName: 'b1', brokerId: 0, queueId: 0, maxOffset: 10, committedOffset: 10, lag: 0 },
          // Missing max offset: listed, maxOffset 0, lag 0 (unknown, not guessed).
          { brokerName: 'b1', brokerId: 0, queueId: 3, maxOffset: 0, committedOffset: 5, lag: 0 },
          { brokerName: 'b2', brokerId: 0, queueId: 0, maxOffset: 100, committedOffset: 40, lag: 60 },
          // Committed ahead of max (reports taken at different instants): clamped, never negative.
          { brokerName: 'b2', brokerId: 0, queueId: 1, maxOffset: 50, committedOffset: 60, lag: 0 },
        ],
      },
    ],
  });
  assert.equal(pm.totalLag('g'), 65);
});

test('lag topic filter', () => {
  const pm = new PositionManager();
  pm.report(b1, [qp('a', 0, 10), qp('b', 0, 10)], [cp('g', 'a', 0, 1), cp('g', 'b', 0, 3)], true);
  const onlyB = pm.lag('g', 'b');
  assert.equal(onlyB.totalLag, 7);
  assert.deepEqual(onlyB.topics.map((t) => t.topic), ['b']);
  assert.deepEqual(pm.lag('g', 'missing'), { group: 'g', totalLag: 0, topics: [] });
  assert.equal(pm.lag('g', '').totalLag, 16);
});

test('replicas of one replica set are not double counted; lowest brokerId wins per queue', () => {
  const pm = new PositionManager();
  const leader = broker('b1', 0);
  const follower = broker('b1', 1);
  const otherCluster = broker('b1', 1, 'c2');
  pm.report(follower, [qp('t', 0, 100), qp('t', 1, 100)], [cp('g', 't', 0, 10), cp('g', 't', 1, 10)], true);
  pm.report(leader, [qp('t', 0, 100)], [cp('g', 't', 0, 90)], true);
  pm.report(otherCluster, [qp('t', 0, 5)], [cp('g', 't', 0, 1)], true);
  const lag = pm.lag('g', 't');
  assert.deepEqual(
    lag.topics[0]!.queues.map((q) => [q.brokerName, q.brokerId, q.queueId, q.lag]),
    [
      ['b1', 0, 0, 10], // leader's view of queue 0, not the follower's
      ['b1', 1, 0, 4], // same name in another cluster is a different replica set
      ['b1', 1, 1, 90], // only the follower reports queue 1, so it counts
    ],
  );
  assert.equal(lag.totalLag, 104);
  assert.equal(pm.totalLag('g'), 104);
  // The leader leaves: the follower's numbers take over for queue 0.
  pm.removeBroker(leader.key);
  assert.equal(pm.totalLag('g'), 90 + 90 + 4);
});

test('unknown group and groupsWithPositions', () => {
  const pm = new PositionManager();
  assert.deepEqual(pm.lag('nobody'), { group: 'nobody', totalLag: 0, topics: [] });
  assert.equal(pm.totalLag('nobody'), 0);
  pm.report(b1, [], [cp('zeta', 't', 0, 1), cp('alpha', 't', 0, 1)], false);
  assert.deepEqual(pm.groupsWithPositions(), ['alpha', 'zeta']);
});

test('an empty full report leaves no broker record', () => {
  const pm = new PositionManager();
  pm.report(b1, [qp('t', 0, 1)], [], true);
  assert.deepEqual(pm.report(b1, [], [], true), { queues: 0, consumers: 0 });
  assert.deepEqual(pm.stats(), { brokers: 0, queuePositions: 0, consumerPositions: 0 });
});
