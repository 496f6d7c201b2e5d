/**
 * Registry over the network: unary and Connect brokers register against a real server on
 * 127.0.0.1:0; routes, expiry, stream loss, Admin reads, validation and a 100,000-topic broker.
 * Waits are on the in-process server's route events, never on sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ConnectRequest, ConnectResponse } from '../../generated/nameserver/v1/broker_registry';
import { ClientRole, Permission } from '../../generated/nameserver/v1/common';
import { SessionKind } from '../../generated/nameserver/v1/admin';
import { call, exited, rejectsWith, startServer, type Started } from '../helpers/server';
import { report, topic } from '../fixtures/reports';

/** Resolve when the server's route table removes `topic`. */
function removed(s: Started, topic: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (t: string) => {
      if (t === topic) {
        s.server.core.routes.off('removed', on);
        resolve();
      }
    };
    s.server.core.routes.on('removed', on);
  });
}

/** Next message on a Connect stream. */
async function next(stream: ClientDuplexStream<ConnectRequest, ConnectResponse>): Promise<ConnectResponse> {
  const [m] = (await once(stream, 'data')) as [ConnectResponse];
  return m;
}

describe('the metadata core over gRPC', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ streamGraceMs: 100 });
  });
  after(() => s.stop());

  test('unary and Connect brokers register; GetRoute shows queues, permissions and replica addresses', async () => {
    await call(s.brokers, 'registerBroker', report('ra', 0, [topic('orders', { readQueueNums: 8, writeQueueNums: 4 })]));
    await call(s.brokers, 'registerBroker', report('ra', 1, ['orders']));
    const stream = s.brokers.connect();
    stream.write({ seq: 7, body: { $case: 'register', register: report('rb', 0, [topic('orders', { permission: Permission.PERMISSION_READ })]) } });
    const accepted = await next(stream);
    assert.equal(accepted.body?.$case, 'accepted');
    const ack = await next(stream);
    assert.deepEqual(ack.body, { $case: 'ack', ack: { seq: 7, ok: true, error: '', reregisterRequired: false, stale: false } });

    const { route } = await call(s.routes, 'getRoute', { topic: 'orders' });
    assert.equal(route!.topic, 'orders');
    assert.match(route!.version, /^[0-9a-f]{16}$/);
    const [ra, rb] = route!.brokers;
    assert.equal(ra!.brokerName, 'ra');
    assert.equal(ra!.readQueueNums, 8);
    assert.equal(ra!.writeQueueNums, 4);
    assert.equal(ra!.permission, Permission.PERMISSION_READ_WRITE);
    assert.deepEqual(ra!.replicas.map((r) => [r.brokerId, r.addresses[0], r.leader]), [
      [0, '10.0.0.1:10913', true],
      [1, '10.0.0.2:10913', false],
    ]);
    assert.equal(rb!.permission, Permission.PERMISSION_READ);

    const both = await call(s.routes, 'getRoutes', { topics: ['orders', 'missing', 'orders'] });
    assert.deepEqual(both.routes.map((r) => r.topic), ['orders']);
    assert.deepEqual(both.notFound, ['missing']);
    assert.equal(both.routes[0]!.version, route!.version);

    // The stream's end removes rb's part of the route after the grace period.
    const changed = new Promise<void>((resolve) => s.server.core.routes.once('changed', () => resolve()));
    stream.end();
    await changed;
    const after = await call(s.routes, 'getRoute', { topic: 'orders' });
    assert.deepEqual(after.route!.brokers.map((b) => b.brokerName), ['ra']);
    assert.notEqual(after.route!.version, route!.version);
    await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'ra', brokerId: 0, epoch: '' });
    await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'ra', brokerId: 1, epoch: '' });
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'orders' }), status.NOT_FOUND);
  });

  test('a broker process killed with SIGKILL disappears from GetRoute', async () => {
    const root = path.resolve(__dirname, '..', '..');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/connect-broker.ts'), s.address, 'killme', '0', 'k1,k2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await once(child.stdout!, 'data');
    assert.equal((await call(s.routes, 'getRoute', { topic: 'k1' })).route!.brokers[0]!.brokerName, 'killme');
    const gone = removed(s, 'k1');
    child.kill('SIGKILL');
    await exited(child);
    await gone;
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'k1' }), status.NOT_FOUND);
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'k2' }), status.NOT_FOUND);
  });

  test('a unary broker that stops heartbeating expires after its lease', async () => {
    const r = report('lease', 0, ['leased'], { leaseTtlMs: 1_000 });
    const reg = await call(s.brokers, 'registerBroker', r);
    assert.equal(reg.leaseTtlMs, 1_000);
    assert.ok(reg.heartbeatIntervalMs <= 334);
    const hb = await call(s.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lease', brokerId: 0, dataVersion: r.dataVersion });
    assert.equal(hb.reregisterRequired, false);
    const gone = removed(s, 'leased');
    await gone;
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'leased' }), status.NOT_FOUND);
    const late = await call(s.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lease', brokerId: 0, dataVersion: r.dataVersion });
    assert.equal(late.reregisterRequired, true);
    assert.match(late.reason, /not registered/);
  });

  test('Admin reads agree with what brokers reported', async () => {
    const r = report('adm', 0, ['ta', 'tb'], {
      groups: [{ name: 'billing', consumeMode: 1, subscriptions: [{ topic: 'ta', expression: '*', filterType: 1 }], retryPolicy: undefined, consumeOrderly: false, attributes: {} }],
    });
    await call(s.brokers, 'registerBroker', r);
    await call(s.brokers, 'reportPositions', {
      cluster: 'c1', brokerName: 'adm', brokerId: 0, full: true,
      queuePositions: [{ topic: 'ta', queueId: 0, minOffset: 0, maxOffset: 500 }, { topic: 'ta', queueId: 1, minOffset: 0, maxOffset: 300 }],
      consumerPositions: [{ group: 'billing', topic: 'ta', queueId: 0, committedOffset: 450 }, { group: 'billing', topic: 'ta', queueId: 1, committedOffset: 100 }],
    });
    await call(s.brokers, 'reportInstances', {
      cluster: 'c1', brokerName: 'adm', brokerId: 0, full: true,
      instances: [{ clientId: 'app-1', role: ClientRole.CLIENT_ROLE_CONSUMER, group: 'billing', topics: ['ta'], host: '10.1.1.1', language: 'JAVA', version: '5.0' }],
    });

    const info = await call(s.admin, 'getClusterInfo', {});
    const adm = info.clusters.find((c) => c.name === 'c1')!.replicaSets.find((x) => x.brokerName === 'adm')!;
    assert.equal(adm.replicas[0]!.topicCount, 2);
    assert.equal(adm.replicas[0]!.sessionKind, SessionKind.SESSION_KIND_LEASE);

    const brokers = await call(s.admin, 'listBrokers', { cluster: 'c1', pageSize: 0, pageToken: '' });
    assert.ok(brokers.brokers.some((b) => b.brokerName === 'adm' && b.addresses[0] === r.addresses[0]));

    const topics = await call(s.admin, 'listTopics', { cluster: '', namePrefix: 't', pageSize: 1, pageToken: '' });
    assert.equal(topics.topics[0]!.name, 'ta');
    assert.equal(topics.total, 2);
    const page2 = await call(s.admin, 'listTopics', { cluster: '', namePrefix: 't', pageSize: 1, pageToken: topics.nextPageToken });
    assert.deepEqual(page2.topics.map((t) => t.name), ['tb']);
    assert.equal(page2.nextPageToken, '');

    const ta = await call(s.admin, 'getTopic', { topic: 'ta' });
    assert.equal(ta.brokers[0]!.config!.readQueueNums, 8);
    assert.deepEqual(ta.brokers[0]!.queuePositions.map((q) => q.maxOffset), [500, 300]);

    const groups = await call(s.admin, 'listGroups', { cluster: 'c1', namePrefix: '', pageSize: 10, pageToken: '' });
    const billing = groups.groups.find((g) => g.name === 'billing')!;
    assert.deepEqual(billing.topics, ['ta']);
    assert.equal(billing.totalLag, 250);
    assert.equal(billing.instanceCount, 1);
    assert.equal((await call(s.admin, 'getGroup', { group: 'billing' })).brokers[0]!.brokerName, 'adm');

    const lag = await call(s.admin, 'getConsumerLag', { group: 'billing', topic: '' });
    assert.equal(lag.totalLag, 250);
    assert.deepEqual(lag.topics[0]!.queues.map((q) => q.lag), [50, 200]);

    const inst = await call(s.admin, 'listInstances', { group: 'billing', topic: '', role: 0, pageSize: 0, pageToken: '' });
    assert.deepEqual(inst.instances.map((i) => [i.instance!.clientId, i.brokerNames]), [['app-1', ['adm']]]);

    const versions = await call(s.admin, 'listRouteVersions', { topics: ['ta', 'nope'], pageSize: 0, pageToken: '' });
    assert.deepEqual(versions.versions.map((v) => v.version), [ta.route!.version]);

    await rejectsWith(call(s.admin, 'getTopic', { topic: 'nope' }), status.NOT_FOUND);
    await rejectsWith(call(s.admin, 'getGroup', { group: 'nope' }), status.NOT_FOUND);
    await rejectsWith(call(s.admin, 'getConsumerLag', { group: 'nope', topic: '' }), status.NOT_FOUND);
    await rejectsWith(call(s.admin, 'listTopics', { cluster: '', namePrefix: '', pageSize: 0, pageToken: 'garbage!' }), status.INVALID_ARGUMENT);
  });

  test('bad input gets INVALID_ARGUMENT naming the field, and changes nothing', async () => {
    const before = s.server.core.routes.size;
    const bad = await rejectsWith(call(s.brokers, 'registerBroker', report('bad', 0, [topic('bad name!')])), status.INVALID_ARGUMENT);
    assert.match(bad.details, /topics\[0\]\.name/);
    const q = await rejectsWith(call(s.brokers, 'registerBroker', report('bad', 0, [topic('t', { readQueueNums: 0 })])), status.INVALID_ARGUMENT);
    assert.match(q.details, /read_queue_nums/);
    const a = await rejectsWith(call(s.brokers, 'registerBroker', report('bad', 0, ['t'], { addresses: ['nohost'] })), status.INVALID_ARGUMENT);
    assert.match(a.details, /addresses\[0\]/);
    const g = await rejectsWith(call(s.routes, 'getRoute', { topic: 'x'.repeat(128) }), status.INVALID_ARGUMENT);
    assert.match(g.details, /topic/);
    assert.equal(s.server.core.routes.size, before);
  });

  test('a conflicting second broker with the same id gets ALREADY_EXISTS', async () => {
    await call(s.brokers, 'registerBroker', report('dup', 0, ['dup-t']));
    const e = await rejectsWith(
      call(s.brokers, 'registerBroker', report('dup', 0, ['dup-t'], { addresses: ['10.77.0.1:10911'], dataVersion: { epoch: 'other', counter: 1 } })),
      status.ALREADY_EXISTS,
    );
    assert.match(e.details, /c1\/dup\/0/);
    const stale = await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'dup', brokerId: 0, epoch: 'other' });
    assert.equal(stale.removed, false);
    assert.equal((await call(s.routes, 'getRoute', { topic: 'dup-t' })).route!.brokers.length, 1);
  });

  test('Connect: messages before register end the stream; a bad message is refused and the session stays', async () => {
    const early = s.brokers.connect();
    early.write({ seq: 1, body: { $case: 'heartbeat', heartbeat: { cluster: '', brokerName: '', brokerId: 0, dataVersion: { epoch: 'e', counter: 1 } } } });
    early.on('data', () => undefined);
    const [err] = (await once(early, 'error')) as [{ code: number; details: string }];
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.details, /first message/);

    const stream = s.brokers.connect();
    const r = report('sess', 0, ['s1']);
    stream.write({ seq: 1, body: { $case: 'register', register: r } });
    assert.equal((await next(stream)).body?.$case, 'accepted');
    await next(stream); // ack 1
    stream.write({ seq: 2, body: { $case: 'delta', delta: { cluster: '', brokerName: '', brokerId: 0, baseCounter: 1, dataVersion: { epoch: r.dataVersion!.epoch, counter: 2 }, upsertTopics: [topic('BAD TOPIC')], deleteTopics: [], upsertGroups: [], deleteGroups: [] } } });
    const nack = await next(stream);
    assert.equal(nack.body?.$case === 'ack' && nack.body.ack.ok, false);
    assert.match(nack.body?.$case === 'ack' ? nack.body.ack.error : '', /^upsert_topics\[0\]\.name/);
    const appeared = new Promise<void>((resolve) => s.server.core.routes.once('changed', (t) => t === 's2' && resolve()));
    stream.write({ seq: 3, body: { $case: 'delta', delta: { cluster: '', brokerName: '', brokerId: 0, baseCounter: 1, dataVersion: { epoch: r.dataVersion!.epoch, counter: 2 }, upsertTopics: [topic('s2')], deleteTopics: ['s1'], upsertGroups: [], deleteGroups: [] } } });
    const ok = await next(stream);
    assert.deepEqual(ok.body, { $case: 'ack', ack: { seq: 3, ok: true, error: '', reregisterRequired: false, stale: false } });
    await appeared;
    await rejectsWith(call(s.routes, 'getRoute', { topic: 's1' }), status.NOT_FOUND);
    stream.write({ seq: 4, body: { $case: 'heartbeat', heartbeat: { cluster: '', brokerName: '', brokerId: 0, dataVersion: { epoch: r.dataVersion!.epoch, counter: 9 } } } });
    const hb = await next(stream);
    assert.equal(hb.body?.$case === 'ack' && hb.body.ack.reregisterRequired, true);
    stream.end();
    await removed(s, 's2');
  });

  test('a newer session of the same broker ends the older stream with ABORTED', async () => {
    const r = report('twice', 0, ['tw']);
    const a = s.brokers.connect();
    a.write({ seq: 0, body: { $case: 'register', register: r } });
    assert.equal((await next(a)).body?.$case, 'accepted');
    const ended = once(a, 'error') as Promise<[{ code: number }]>;
    const b = s.brokers.connect();
    b.write({ seq: 0, body: { $case: 'register', register: r } });
    assert.equal((await next(b)).body?.$case, 'accepted');
    const [err] = await ended;
    assert.equal(err.code, status.ABORTED);
    assert.ok((await call(s.routes, 'getRoute', { topic: 'tw' })).route);
    b.end();
    await removed(s, 'tw');
  });

  test('a broker with 100,000 topics registers in chunks', async () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `big-topic-${i}`);
    const chunkCount = 10;
    for (let c = 0; c < chunkCount; c++) {
      const out = await call(s.brokers, 'registerBroker', report('huge', 0, names.slice(c * 10_000, (c + 1) * 10_000), { chunkIndex: c, chunkCount }));
      assert.equal(out.complete, c === chunkCount - 1);
    }
    const some = await call(s.routes, 'getRoutes', { topics: [names[0]!, names[54_321]!, names[99_999]!] });
    assert.equal(some.routes.length, 3);
    const info = await call(s.admin, 'listBrokers', { cluster: 'c1', pageSize: 1000, pageToken: '' });
    assert.equal(info.brokers.find((b) => b.brokerName === 'huge')!.topicCount, 100_000);
    const again = await call(s.brokers, 'registerBroker', report('huge', 0, names.slice(0, 10_000), { chunkIndex: 0, chunkCount }));
    assert.equal(again.unchanged, true, 'a re-sent held version is not re-processed');
  });
});
