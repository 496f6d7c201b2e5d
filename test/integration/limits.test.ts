/** Resource limits: streams per connection and in total, subscriptions per stream, per-peer rate. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { LimitExceeded } from '../../src/server/metadata/errors';
import { PeerRateLimiter } from '../../src/server/network/grpc/rate-limit';
import { peerHost } from '../../src/shared/address';
import { call, connect, startServer } from '../helpers/server';
import { WatchProbe } from '../helpers/watch';

describe('stream limits', () => {
  test('more streams on one connection than allowed: RESOURCE_EXHAUSTED; other connections unaffected', async () => {
    const s = await startServer({ maxStreamsPerConnection: 2 });
    try {
      const a = new WatchProbe(s.routes);
      const b = new WatchProbe(s.routes);
      a.subscribe('x');
      b.subscribe('x');
      await Promise.all([a.synced(), b.synced()]);
      const c = new WatchProbe(s.routes);
      c.subscribe('x');
      await c.until((p) => p.error !== undefined).catch(() => undefined);
      assert.equal(c.error?.code, status.RESOURCE_EXHAUSTED);
      assert.match(c.error!.details, /per connection/);
      const other = connect(s.address, true);
      const d = new WatchProbe(other.routes);
      d.subscribe('x');
      await d.synced();
      [a, b, d].forEach((p) => p.close());
      other.close();
    } finally {
      await s.stop();
    }
  });

  test('more streams in total than allowed: RESOURCE_EXHAUSTED naming the limit', async () => {
    const s = await startServer({ maxStreams: 2 });
    try {
      const other = connect(s.address);
      const a = new WatchProbe(s.routes);
      const b = new WatchProbe(other.routes);
      a.subscribe('x');
      b.subscribe('x');
      await Promise.all([a.synced(), b.synced()]);
      const c = new WatchProbe(other.routes);
      c.subscribe('x');
      await c.until((p) => p.error !== undefined).catch(() => undefined);
      assert.equal(c.error?.code, status.RESOURCE_EXHAUSTED);
      assert.match(c.error!.details, /at most 2 streams/);
      // Unary calls are not streams: still served.
      await call(s.admin, 'getClusterInfo', {});
      [a, b].forEach((p) => p.close());
      other.close();
    } finally {
      await s.stop();
    }
  });

  test('more subscriptions on one stream than allowed: RESOURCE_EXHAUSTED', async () => {
    const s = await startServer({ maxSubscriptionsPerStream: 5 });
    try {
      const p = new WatchProbe(s.routes);
      p.subscribe('a', 'b', 'c', 'd', 'e', 'f');
      await p.until((x) => x.error !== undefined).catch(() => undefined);
      assert.equal(p.error?.code, status.RESOURCE_EXHAUSTED);
      assert.match(p.error!.details, /at most 5 topics/);
    } finally {
      await s.stop();
    }
  });
});

describe('per-peer request rate', () => {
  test('a token bucket per host: a burst, then the refill rate; other hosts unaffected', () => {
    let now = 0;
    const l = new PeerRateLimiter(10, 5, () => now);
    for (let i = 0; i < 5; i++) l.admit('10.0.0.1:4000');
    assert.throws(() => l.admit('10.0.0.1:4001'), LimitExceeded, 'same host, another connection: same bucket');
    l.admit('10.0.0.2:4000');
    now += 100; // 10/s → one token per 100 ms
    l.admit('10.0.0.1:4000');
    assert.throws(() => l.admit('10.0.0.1:4000'), LimitExceeded);
    assert.equal(peerHost('::1:5000'), '::1');
    assert.equal(peerHost('[2001:db8::1]:5000'), '2001:db8::1');
  });

  test('over gRPC: calls beyond the rate get RESOURCE_EXHAUSTED', async () => {
    const s = await startServer({ peerRequestsPerSecond: 1 }); // burst 2
    try {
      const codes = [];
      for (let i = 0; i < 6; i++) {
        codes.push(await call(s.admin, 'getClusterInfo', {}).then(() => status.OK, (e: { code: number }) => e.code));
      }
      assert.ok(codes.slice(0, 2).every((c) => c === status.OK));
      assert.ok(codes.includes(status.RESOURCE_EXHAUSTED));
    } finally {
      await s.stop();
    }
  });
});
