/**
 * The metadata core without a network: registration, re-registration, deltas, expiry, unregister,
 * fencing, conflicts, chunked reports, and the routes and route events they produce.
 */
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Permission } from '../../generated/nameserver/v1/common';
import { GetRouteResponse, Route, RouteEventType, WatchRoutesResponse } from '../../generated/nameserver/v1/route_query';
import { BrokerConflict } from '../../src/server/metadata/errors';
import { MetadataCore, type MetadataCoreOptions } from '../../src/server/metadata/core';
import { brokerRef } from '../../src/server/metadata/types';
import { report, topic } from '../fixtures/reports';

const OPTS: MetadataCoreOptions = {
  leaseTtlMs: 30_000,
  minLeaseTtlMs: 1_000,
  maxLeaseTtlMs: 300_000,
  streamGraceMs: 2_000,
  chunkTimeoutMs: 60_000,
};

/** Route events recorded from a registry. */
function recordEvents(r: MetadataCore): { changed: string[]; removed: string[] } {
  const ev = { changed: [] as string[], removed: [] as string[] };
  r.routes.on('changed', (t) => ev.changed.push(t));
  r.routes.on('removed', (t) => ev.removed.push(t));
  return ev;
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe('registration', () => {
  test('a report creates routes with queues, permission and replica addresses', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['orders', topic('audit', { readQueueNums: 4, writeQueueNums: 2, permission: Permission.PERMISSION_READ })]), { kind: 'lease' });
    r.register(report('b1', 1, ['orders']), { kind: 'lease' });
    r.register(report('b2', 0, ['orders']), { kind: 'lease' });
    const orders = r.routes.get('orders')!.route;
    assert.deepEqual(orders.brokers.map((b) => b.brokerName), ['b1', 'b2']);
    assert.deepEqual(
      orders.brokers[0]!.replicas.map((x) => [x.brokerId, x.addresses, x.leader]),
      [
        [0, ['10.0.0.1:10913'], true],
        [1, ['10.0.0.2:10913'], false],
      ],
    );
    const audit = r.routes.get('audit')!.route.brokers[0]!;
    assert.equal(audit.readQueueNums, 4);
    assert.equal(audit.writeQueueNums, 2);
    assert.equal(audit.permission, Permission.PERMISSION_READ);
    // The follower joined the replica set, so audit lists it as a replica even though it does not report audit.
    assert.equal(audit.replicas.length, 2);
  });

  test('re-sending the held data version re-processes nothing and emits nothing', () => {
    const r = new MetadataCore(OPTS);
    const rep = report('b1', 0, ['t1', 't2']);
    r.register(rep, { kind: 'lease' });
    const ev = recordEvents(r);
    const out = r.register(rep, { kind: 'lease' });
    assert.equal(out.unchanged, true);
    assert.deepEqual(ev, { changed: [], removed: [] });
  });

  test('a new counter with the same content changes no route version', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t1']), { kind: 'lease' });
    const v = r.routes.get('t1')!.version;
    const ev = recordEvents(r);
    const out = r.register(report('b1', 0, ['t1'], { dataVersion: { epoch: 'boot-b1-0', counter: 2 } }), { kind: 'lease' });
    assert.equal(out.unchanged, false);
    assert.equal(r.routes.get('t1')!.version, v);
    assert.deepEqual(ev.changed, []);
  });

  test('a full re-register replaces the topic set: only touched topics change', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['a', 'b', 'c']), { kind: 'lease' });
    const ev = recordEvents(r);
    r.register(report('b1', 0, ['a', topic('b', { writeQueueNums: 16 }), 'd'], { dataVersion: { epoch: 'boot-b1-0', counter: 2 } }), { kind: 'lease' });
    assert.deepEqual(ev.changed.sort(), ['b', 'd']);
    assert.deepEqual(ev.removed, ['c']);
  });

  test('versions are content-derived: two registries fed the same reports in another order agree', () => {
    const r1 = new MetadataCore(OPTS);
    const r2 = new MetadataCore(OPTS);
    const reps = [report('b1', 0, ['x', 'y']), report('b2', 0, ['x']), report('b1', 1, ['x'])];
    for (const rep of reps) r1.register(rep, { kind: 'lease' });
    for (const rep of [...reps].reverse()) r2.register(rep, { kind: 'stream' });
    assert.equal(r1.routes.get('x')!.version, r2.routes.get('x')!.version);
    assert.equal(r1.routes.get('y')!.version, r2.routes.get('y')!.version);
    assert.notEqual(r1.routes.get('x')!.version, r1.routes.get('y')!.version);
  });

  test('the served encodings decode to the route, with the version that hashes its canonical form', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    r.register(report('b1', 1, ['t']), { kind: 'lease' });
    const e = r.routes.get('t')!;
    const viaGet = GetRouteResponse.decode(e.getRouteBytes).route!;
    const ev = WatchRoutesResponse.decode(e.updateEventBytes).events;
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.topic, 't');
    assert.equal(ev[0]!.type, RouteEventType.ROUTE_EVENT_TYPE_UPDATED);
    assert.deepEqual(ev[0]!.route, viaGet);
    assert.equal(viaGet.version, e.version);
    assert.equal(viaGet.brokers[0]!.replicas.length, 2);
    const canonical = Route.encode({ ...viaGet, version: '' }).finish();
    assert.equal(createHash('sha256').update(canonical).digest('hex').slice(0, 16), e.version);
    assert.deepEqual(e.route, viaGet);
  });

  test('the GetRoute bytes are encoded once per change, not per read', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    const first = r.routes.get('t')!;
    assert.equal(r.routes.get('t')!.getRouteBytes, first.getRouteBytes);
    r.register(report('b2', 0, ['t']), { kind: 'lease' });
    assert.notEqual(r.routes.get('t')!.getRouteBytes, first.getRouteBytes);
  });
});

describe('deltas', () => {
  test('a delta on the held counter adds and removes topics, touching only them', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['a', 'b']), { kind: 'lease' });
    const ev = recordEvents(r);
    const reason = r.delta(brokerRef('c1', 'b1', 0), {
      cluster: 'c1', brokerName: 'b1', brokerId: 0, baseCounter: 1,
      dataVersion: { epoch: 'boot-b1-0', counter: 2 },
      upsertTopics: [topic('c')], deleteTopics: ['a'], upsertGroups: [], deleteGroups: [],
    });
    assert.deepEqual(reason, { reregister: undefined, stale: false });
    assert.deepEqual(ev, { changed: ['c'], removed: ['a'] });
    assert.equal(r.brokers.get('c1/b1/0')!.counter, 2);
  });

  test('a delta on an unknown base counter asks for a re-register and changes nothing', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['a']), { kind: 'lease' });
    const ev = recordEvents(r);
    const reason = r.delta(brokerRef('c1', 'b1', 0), {
      cluster: 'c1', brokerName: 'b1', brokerId: 0, baseCounter: 5,
      dataVersion: { epoch: 'boot-b1-0', counter: 6 },
      upsertTopics: [topic('c')], deleteTopics: [], upsertGroups: [], deleteGroups: [],
    });
    assert.match(reason.reregister!, /base_counter 5/);
    assert.deepEqual(ev, { changed: [], removed: [] });
  });

  test('a delta for an unregistered broker asks for a re-register', () => {
    const r = new MetadataCore(OPTS);
    const reason = r.delta(brokerRef('c1', 'b9', 0), {
      cluster: 'c1', brokerName: 'b9', brokerId: 0, baseCounter: 0,
      dataVersion: { epoch: 'e', counter: 1 }, upsertTopics: [], deleteTopics: [], upsertGroups: [], deleteGroups: [],
    });
    assert.match(reason.reregister!, /not registered/);
  });
});

describe('heartbeats and leases', () => {
  test('a heartbeat at the held version renews the lease; an unknown one asks to re-register', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    const ref = brokerRef('c1', 'b1', 0);
    mock.timers.tick(20_000);
    assert.equal(r.heartbeat(ref, 'boot-b1-0', 1), undefined);
    mock.timers.tick(20_000); // 40 s after registering, 20 s after the heartbeat: still alive
    assert.ok(r.routes.get('t'));
    assert.match(r.heartbeat(ref, 'boot-b1-0', 7)!, /data version 7/);
    assert.match(r.heartbeat(ref, 'other-boot', 1)!, /epoch/);
    assert.match(r.heartbeat(brokerRef('c1', 'nope', 0), 'x', 1)!, /not registered/);
  });

  test('a lease that is not renewed expires and removes the routes', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t'], { leaseTtlMs: 5_000 }), { kind: 'lease' });
    const ev = recordEvents(r);
    mock.timers.tick(4_999);
    assert.ok(r.routes.get('t'));
    mock.timers.tick(2);
    assert.equal(r.routes.get('t'), undefined);
    assert.deepEqual(ev.removed, ['t']);
    assert.equal(r.brokers.size, 0);
  });

  test('the lease asked for is clamped to the configured bounds', () => {
    const r = new MetadataCore(OPTS);
    assert.equal(r.register(report('b1', 0, ['t'], { leaseTtlMs: 10 }), { kind: 'lease' }).leaseTtlMs, 1_000);
    assert.equal(r.register(report('b2', 0, ['t'], { leaseTtlMs: 10_000_000 }), { kind: 'lease' }).leaseTtlMs, 300_000);
  });

  test('expiry costs O(expired): renewing brokers arm no extra timers', () => {
    const r = new MetadataCore(OPTS);
    for (let i = 0; i < 50; i++) r.register(report(`b${i}`, 0, ['t'], { leaseTtlMs: 10_000 }), { kind: 'lease' });
    const before = r.brokers.size;
    for (let round = 0; round < 5; round++) {
      mock.timers.tick(5_000);
      for (let i = 1; i < 50; i++) assert.equal(r.heartbeat(brokerRef('c1', `b${i}`, 0), `boot-b${i}-0`, 1), undefined);
    }
    assert.equal(before, 50);
    assert.equal(r.brokers.size, 49, 'only the silent broker expired');
    assert.deepEqual(r.routes.get('t')!.route.brokers.map((b) => b.brokerName).includes('b0'), false);
  });
});

describe('stream sessions', () => {
  test('a closed stream removes the broker after the grace period', () => {
    const r = new MetadataCore(OPTS);
    const out = r.register(report('b1', 0, ['t']), { kind: 'stream' });
    r.streamClosed(brokerRef('c1', 'b1', 0), out.session!);
    mock.timers.tick(1_999);
    assert.ok(r.routes.get('t'));
    mock.timers.tick(2);
    assert.equal(r.routes.get('t'), undefined);
  });

  test('a reconnect within the grace period keeps the broker, and the old session cannot remove it', () => {
    const r = new MetadataCore(OPTS);
    const first = r.register(report('b1', 0, ['t']), { kind: 'stream' });
    const ref = brokerRef('c1', 'b1', 0);
    r.streamClosed(ref, first.session!);
    mock.timers.tick(1_000);
    const second = r.register(report('b1', 0, ['t']), { kind: 'stream' });
    assert.notEqual(second.session, first.session);
    assert.equal(second.unchanged, true, 'same data version: nothing re-processed');
    mock.timers.tick(5_000);
    assert.ok(r.routes.get('t'), 'the first session\'s grace did not remove the new session');
    r.streamClosed(ref, first.session!); // a late close of the old stream
    mock.timers.tick(5_000);
    assert.ok(r.routes.get('t'));
    assert.throws(() => r.reportPositions(ref, { cluster: 'c1', brokerName: 'b1', brokerId: 0, queuePositions: [], consumerPositions: [], full: true }, first.session), /superseded/);
  });

  test('a restarted broker (new epoch, same addresses) takes over a live session', () => {
    const r = new MetadataCore(OPTS);
    const first = r.register(report('b1', 0, ['t']), { kind: 'stream' });
    const second = r.register(report('b1', 0, ['u'], { dataVersion: { epoch: 'boot-2', counter: 1 } }), { kind: 'stream' });
    assert.notEqual(second.session, first.session);
    assert.equal(r.routes.get('t'), undefined);
    assert.ok(r.routes.get('u'));
  });

  test('two live sessions from different addresses claiming one broker id conflict', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'stream' });
    assert.throws(
      () => r.register(report('b1', 0, ['t'], { addresses: ['10.9.9.9:10911'], dataVersion: { epoch: 'other', counter: 1 } }), { kind: 'stream' }),
      (err: unknown) => err instanceof BrokerConflict && /10\.0\.0\.1:10913/.test(err.message),
    );
    assert.deepEqual(r.routes.get('t')!.route.brokers[0]!.replicas[0]!.addresses, ['10.0.0.1:10913']);
  });

  test('after the old session is gone, another address may take the identity', () => {
    const r = new MetadataCore(OPTS);
    const first = r.register(report('b1', 0, ['t']), { kind: 'stream' });
    r.streamClosed(brokerRef('c1', 'b1', 0), first.session!); // in grace: not alive any more
    r.register(report('b1', 0, ['t'], { addresses: ['10.9.9.9:10911'], dataVersion: { epoch: 'other', counter: 1 } }), { kind: 'stream' });
    assert.deepEqual(r.routes.get('t')!.route.brokers[0]!.replicas[0]!.addresses, ['10.9.9.9:10911']);
  });
});

describe('unregister and fencing', () => {
  test('unregister removes the broker at once', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    assert.equal(r.unregister(brokerRef('c1', 'b1', 0), 'boot-b1-0'), undefined);
    assert.equal(r.routes.get('t'), undefined);
    assert.match(r.unregister(brokerRef('c1', 'b1', 0), '')!, /not registered/);
  });

  test('a late unregister of an older epoch never removes a fresher registration', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    r.register(report('b1', 0, ['t'], { dataVersion: { epoch: 'boot-new', counter: 1 } }), { kind: 'lease' });
    assert.match(r.unregister(brokerRef('c1', 'b1', 0), 'boot-b1-0')!, /stale/);
    assert.ok(r.routes.get('t'));
  });

  test('a stale lease timer does not expire a re-registered broker', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t'], { leaseTtlMs: 5_000 }), { kind: 'lease' });
    mock.timers.tick(4_000);
    r.register(report('b1', 0, ['t'], { leaseTtlMs: 5_000, dataVersion: { epoch: 'boot-new', counter: 1 } }), { kind: 'lease' });
    mock.timers.tick(2_000); // the first lease's timer fires here
    assert.ok(r.routes.get('t'));
    mock.timers.tick(3_100);
    assert.equal(r.routes.get('t'), undefined);
  });

  test('removing a follower updates the replica list of every route of its replica set', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['a', 'b']), { kind: 'lease' });
    r.register(report('b1', 1, []), { kind: 'lease' });
    assert.equal(r.routes.get('a')!.route.brokers[0]!.replicas.length, 2);
    const ev = recordEvents(r);
    r.unregister(brokerRef('c1', 'b1', 1), '');
    assert.deepEqual(ev.changed.sort(), ['a', 'b']);
    assert.equal(r.routes.get('b')!.route.brokers[0]!.replicas.length, 1);
  });

  test('a departed broker takes its positions and instances with it', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    const ref = brokerRef('c1', 'b1', 0);
    r.reportPositions(ref, {
      cluster: 'c1', brokerName: 'b1', brokerId: 0, full: true,
      queuePositions: [{ topic: 't', queueId: 0, minOffset: 0, maxOffset: 100 }],
      consumerPositions: [{ group: 'g', topic: 't', queueId: 0, committedOffset: 40 }],
    });
    r.reportInstances(ref, {
      cluster: 'c1', brokerName: 'b1', brokerId: 0, full: true,
      instances: [{ clientId: 'c-1', role: 2, group: 'g', topics: ['t'], host: 'h', language: 'GO', version: '1' }],
    });
    assert.equal(r.positions.lag('g').totalLag, 60);
    assert.equal(r.instances.stats().instances, 1);
    r.unregister(ref, '');
    assert.equal(r.positions.lag('g').totalLag, 0);
    assert.equal(r.instances.stats().instances, 0);
  });

  test('reports from an unregistered broker are refused', () => {
    const r = new MetadataCore(OPTS);
    assert.throws(() =>
      r.reportPositions(brokerRef('c1', 'b1', 0), { cluster: 'c1', brokerName: 'b1', brokerId: 0, full: true, queuePositions: [], consumerPositions: [] }),
    /register first/);
  });
});

describe('broker permission', () => {
  test('a drained broker caps its topics at READ; restoring brings WRITE back', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['t']), { kind: 'lease' });
    r.setBrokerPermission(brokerRef('c1', 'b1', 0), Permission.PERMISSION_READ);
    assert.equal(r.routes.get('t')!.route.brokers[0]!.permission, Permission.PERMISSION_READ);
    r.setBrokerPermission(brokerRef('c1', 'b1', 0), Permission.PERMISSION_READ_WRITE);
    assert.equal(r.routes.get('t')!.route.brokers[0]!.permission, Permission.PERMISSION_READ_WRITE);
  });
});

describe('chunked registration', () => {
  test('a 100,000-topic report in chunks applies atomically on the last chunk', () => {
    const r = new MetadataCore(OPTS);
    const names = Array.from({ length: 100_000 }, (_, i) => `topic-${i}`);
    const chunks = 10;
    for (let c = 0; c < chunks; c++) {
      const out = r.register(
        report('big', 0, names.slice(c * 10_000, (c + 1) * 10_000), { chunkIndex: c, chunkCount: chunks }),
        { kind: 'lease' },
      );
      assert.equal(out.complete, c === chunks - 1);
      assert.equal(r.routes.size, c === chunks - 1 ? 100_000 : 0, 'no route before the last chunk');
    }
    assert.equal(r.topics.countOf('c1/big/0'), 100_000);
  });

  test('a newer data version discards a half-received older report', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['old-1'], { chunkIndex: 0, chunkCount: 2 }), { kind: 'lease' });
    const v2 = { epoch: 'boot-b1-0', counter: 2 };
    r.register(report('b1', 0, ['new-1'], { chunkIndex: 0, chunkCount: 2, dataVersion: v2 }), { kind: 'lease' });
    r.register(report('b1', 0, ['new-2'], { chunkIndex: 1, chunkCount: 2, dataVersion: v2 }), { kind: 'lease' });
    assert.deepEqual([...r.routes.sortedTopics()], ['new-1', 'new-2']);
  });

  test('the same topic in two chunks is an invalid report', () => {
    const r = new MetadataCore(OPTS);
    r.register(report('b1', 0, ['x'], { chunkIndex: 0, chunkCount: 2 }), { kind: 'lease' });
    assert.throws(() => r.register(report('b1', 0, ['x'], { chunkIndex: 1, chunkCount: 2 }), { kind: 'lease' }), /two chunks/);
    assert.equal(r.routes.size, 0);
  });
});
