/** Route contents that must not depend on which topic is asked: the zone of a replica set. No network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, type RegistryOptions } from '../../src/metadata/registry';
import { brokerRef } from '../../src/metadata/types';
import { report } from '../fixtures/reports';

const OPTS: RegistryOptions = { leaseTtlMs: 30_000, minLeaseTtlMs: 1_000, maxLeaseTtlMs: 300_000, streamGraceMs: 2_000, chunkTimeoutMs: 60_000 };

describe('replica set zone', () => {
  test('without a leader, every topic of the replica set reports the zone of its lowest live broker_id', () => {
    const r = new Registry(OPTS);
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
