/**
 * Admin writes carried to brokers over their Connect sessions: per-broker results, idempotent and
 * conflicting creates, a target with no session, a silent broker, drain/restore, and the change
 * visible in routes (and pushed) by the time the call answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { CreateTopicResponse } from '../../generated/nameserver/v1/admin';
import { CommandOutcome, Permission } from '../../generated/nameserver/v1/common';
import { RESULTS_TRAILER } from '../../src/shared/contract';
import { call, rejectsWith, startServer, type Started } from '../helpers/server';
import { WatchProbe } from '../helpers/watch';
import { FakeBroker } from '../fixtures/fake-broker';
import { report, topic } from '../fixtures/reports';

describe('Admin writes', () => {
  let s: Started;
  let b1: FakeBroker;
  let b2: FakeBroker;
  before(async () => {
    s = await startServer({ streamGraceMs: 100 });
    b1 = new FakeBroker(s.address, 'w1', ['base']);
    b2 = new FakeBroker(s.address, 'w2', ['base']);
    await b1.connect();
    await b2.connect();
  });
  after(async () => {
    b1.close();
    b2.close();
    await s.stop();
  });

  test('CreateTopic on a cluster of two brokers: two successes, the route exists and was pushed before the answer', async () => {
    const watch = new WatchProbe(s.routes);
    watch.subscribe('orders');
    await watch.synced();
    const res = await call(s.admin, 'createTopic', { topic: topic('orders', { readQueueNums: 4, writeQueueNums: 4 }), cluster: 'c1', brokerNames: [] });
    assert.deepEqual(res.results.map((r) => [r.brokerName, r.outcome]), [
      ['w1', CommandOutcome.COMMAND_OUTCOME_OK],
      ['w2', CommandOutcome.COMMAND_OUTCOME_OK],
    ]);
    const { route } = await call(s.routes, 'getRoute', { topic: 'orders' });
    assert.deepEqual(route!.brokers.map((b) => [b.brokerName, b.writeQueueNums]), [['w1', 4], ['w2', 4]]);
    await watch.until((p) => p.latest('orders')?.route?.version === route!.version);
    watch.close();
    // Same config again: idempotent.
    const again = await call(s.admin, 'createTopic', { topic: topic('orders', { readQueueNums: 4, writeQueueNums: 4 }), cluster: 'c1', brokerNames: [] });
    assert.equal(again.results.every((r) => r.outcome === CommandOutcome.COMMAND_OUTCOME_OK), true);
  });

  test('a conflicting create is ALREADY_EXISTS with per-broker outcomes', async () => {
    const e = await rejectsWith(call(s.admin, 'createTopic', { topic: topic('orders', { readQueueNums: 16, writeQueueNums: 16 }), cluster: '', brokerNames: ['w1'] }), status.ALREADY_EXISTS);
    assert.match(e.details, /c1\/w1\/0 ALREADY_EXISTS/);
    const detail = CreateTopicResponse.decode(e.metadata.get(RESULTS_TRAILER)[0] as Buffer);
    assert.equal(detail.results[0]!.outcome, CommandOutcome.COMMAND_OUTCOME_ALREADY_EXISTS);
  });

  test('a target with no live session is named in the failure, and the others still apply', async () => {
    await call(s.brokers, 'registerBroker', report('unary-only', 0, ['x']));
    const e = await rejectsWith(
      call(s.admin, 'createTopic', { topic: topic('partial'), cluster: '', brokerNames: ['w1', 'unary-only', 'ghost'] }),
      status.UNAVAILABLE,
    );
    assert.match(e.details, /1 of 3 brokers applied it/);
    assert.match(e.details, /c1\/unary-only\/0 NO_SESSION/);
    assert.match(e.details, /ghost\/0 NO_SESSION/);
    assert.deepEqual((await call(s.routes, 'getRoute', { topic: 'partial' })).route!.brokers.map((b) => b.brokerName), ['w1']);
  });

  test('update and delete go where the topic exists; unknown topic is NOT_FOUND', async () => {
    const up = await call(s.admin, 'updateTopic', { topic: topic('orders', { readQueueNums: 6, writeQueueNums: 6 }), cluster: '', brokerNames: [] });
    assert.equal(up.results.length, 2);
    assert.equal((await call(s.routes, 'getRoute', { topic: 'orders' })).route!.brokers[0]!.readQueueNums, 6);
    await call(s.admin, 'deleteTopic', { topic: 'orders', cluster: '', brokerNames: [] });
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'orders' }), status.NOT_FOUND);
    await rejectsWith(call(s.admin, 'deleteTopic', { topic: 'orders', cluster: '', brokerNames: [] }), status.NOT_FOUND);
  });

  test('drain removes write permission from the route; restore brings it back', async () => {
    const drained = await call(s.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'w1', permission: Permission.PERMISSION_READ });
    assert.equal(drained.results[0]!.outcome, CommandOutcome.COMMAND_OUTCOME_OK);
    let route = (await call(s.routes, 'getRoute', { topic: 'base' })).route!;
    assert.deepEqual(route.brokers.map((b) => [b.brokerName, b.permission]), [['w1', Permission.PERMISSION_READ], ['w2', Permission.PERMISSION_READ_WRITE]]);
    await call(s.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'w1', permission: Permission.PERMISSION_READ_WRITE });
    route = (await call(s.routes, 'getRoute', { topic: 'base' })).route!;
    assert.equal(route.brokers[0]!.permission, Permission.PERMISSION_READ_WRITE);
  });

  test('a broker that never answers is reported as TIMEOUT within the call deadline', async () => {
    b2.silent = true;
    try {
      const e = await rejectsWith(
        call(s.admin, 'createTopic', { topic: topic('slow'), cluster: '', brokerNames: ['w2'] }, { deadline: Date.now() + 1_000 }),
        status.DEADLINE_EXCEEDED,
      );
      assert.match(e.details, /c1\/w2\/0 TIMEOUT/);
      assert.equal(s.server.commands.size, 0, 'no pending command left behind');
    } finally {
      b2.silent = false;
    }
  });

  test('bad write requests are INVALID_ARGUMENT naming the field', async () => {
    const e = await rejectsWith(call(s.admin, 'createTopic', { topic: topic('x'), cluster: 'c1', brokerNames: ['w1'] }), status.INVALID_ARGUMENT);
    assert.match(e.details, /cluster/);
    const p = await rejectsWith(call(s.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'w1', permission: 0 }), status.INVALID_ARGUMENT);
    assert.match(p.details, /permission/);
    await rejectsWith(call(s.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'nope', permission: 2 }), status.NOT_FOUND);
  });
});
