/** Route contents that must not depend on which topic is asked: the zone of a replica set. No network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataCore, type MetadataCoreOptions } from '../../src/server/metadata/core';
import { brokerRef } from '../../src/server/metadata/types';
import { report } from '../fixtures/reports';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { GetRouteResponse, Route, RouteEventType, WatchRoutesResponse } from '../../generated/nameserver/v1/route_query';

const OPTS: MetadataCoreOptions = { leaseTtlMs: 30_000, minLeaseTtlMs: 1_000, maxLeaseTtlMs: 300_000, streamGraceMs: 2_000, chunkTimeoutMs: 60_000 };

describe('replica set zone', () => {
  test('without a leader, every topic of the replica set reports the zone of its lowest live broker_id', () => {
    const r = new MetadataCore(OPTS);
    // Followers 1 and 2 of replica set rs in different zones; follower 2 alone reports topic "only-2".
    r.register(report('rs', 1, ['both'], { zone: 'zone-a' }), { kind: 'lease' });
    r.register(report('rs', 2, ['both', 'only-2'], { zone: 'zone-b' }), { kind: 'lease' });
    const zones = ['both', 'only-2'].map((t) => r.routes.get(t)!.route.brokers[0]!.zone);
    assert.deepEqual(zones, ['zone-a', 'zone-a'], 'one zone per replica set, whichever replica reports the topic');
    // The leader arrives: its zone, for every topic.
    r.register(report('rs', 0, ['leader-only'], { zone: 'zone-c' }), { kind: 'lease' });
    assert.deepEqual(['both', 'only-2', 'leader-only'].map((t) => r.routes.get(t)!.route.brokers[0]!.zone), ['zone-c', 'zone-c', 'zone-c']);
    // The leader leaves: back to the lowest live broker_id.
    r.unregister(brokerRef('c1', 'rs', 0), '');
    assert.deepEqual(['both', 'only-2'].map((t) => r.routes.get(t)!.route.brokers[0]!.zone), ['zone-a', 'zone-a']);
    r.close();
  });
});

describe('compact routes', () => {
  test('routes on the same replica sets share one section; the assembled bytes are the canonical encoding with the version appended', () => {
    const r = new MetadataCore(OPTS);
    const topics = Array.from({ length: 50 }, (_, i) => `t${i}`);
    for (const rs of ['rs-a', 'rs-b']) for (const id of [0, 1]) r.register(report(rs, id, topics), { kind: 'lease' });
    r.register(report('rs-c', 0, ['t0']), { kind: 'lease' });
    // t1..t49 list rs-a and rs-b the same way; t0 lists rs-c too.
    assert.equal(r.footprint().routeSections, 2);
    for (const t of topics) {
      const e = r.routes.get(t)!;
      const route = GetRouteResponse.decode(e.getRouteBytes).route!;
      // What the route table served before routes were kept compact: Route encoded whole without its
      // version (the canonical form), the version field appended, wrapped.
      const routeBytes = Buffer.concat([Route.encode({ ...route, version: '' }).finish(), new BinaryWriter().uint32(18).string(e.version).finish()]);
      assert.deepEqual(Buffer.from(new BinaryWriter().uint32(10).bytes(routeBytes).finish()), e.getRouteBytes);
      const event = new BinaryWriter().uint32(10).string(t).uint32(16).int32(RouteEventType.ROUTE_EVENT_TYPE_UPDATED).uint32(26).bytes(routeBytes).finish();
      assert.deepEqual(Buffer.from(new BinaryWriter().uint32(10).bytes(event).finish()), e.updateEventBytes);
      assert.deepEqual(WatchRoutesResponse.decode(e.updateEventBytes).events[0]!.route, route);
    }
    assert.deepEqual(r.routes.get('t0')!.route.brokers.map((b) => b.brokerName), ['rs-a', 'rs-b', 'rs-c']);
    // A change on one replica set makes new sections; the old ones go with their last route.
    r.register(report('rs-c', 0, ['t0'], { addresses: ['127.0.0.9:10911'] }), { kind: 'lease' });
    assert.equal(r.footprint().routeSections, 2);
    for (const rs of ['rs-a', 'rs-b', 'rs-c']) for (const id of [0, 1]) r.unregister(brokerRef('c1', rs, id), '');
    assert.equal(r.footprint().routeSections, 0);
    r.close();
  });

  test('routes read past the budget of assembled bytes are assembled again, the same', () => {
    const r = new MetadataCore(OPTS);
    // ~20,000 topics × 2 encodings of a few hundred bytes: more than the 8 MiB kept assembled.
    const topics = Array.from({ length: 20_000 }, (_, i) => `topic-with-a-rather-long-name-${i}`);
    for (const rs of ['rs-a', 'rs-b', 'rs-c', 'rs-d']) for (const id of [0, 1, 2]) r.register(report(rs, id, topics), { kind: 'lease' });
    const first = r.routes.get(topics[0]!)!;
    const bytes = first.getRouteBytes;
    const event = first.updateEventBytes;
    assert.equal(first.getRouteBytes, bytes, 'kept once assembled');
    let read = 0;
    for (const t of topics) read += r.routes.get(t)!.getRouteBytes.length + r.routes.get(t)!.updateEventBytes.length;
    assert.ok(read > 8 * 1024 * 1024, `more than the budget was read (${read} bytes)`);
    assert.notEqual(first.getRouteBytes, bytes, 'reassembled (a new buffer)');
    assert.deepEqual(first.getRouteBytes, bytes);
    assert.deepEqual(first.updateEventBytes, event);
    assert.equal(first.getRouteBytes, first.getRouteBytes, 'kept while recent');
    r.close();
  });
});
