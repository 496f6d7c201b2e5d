/**
 * The TypeScript client SDK against real servers: route cache, watch, failover between three
 * NameServer processes with zero route bytes re-sent for unchanged topics, and GetRoute failover.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { status, type ServiceError } from '@grpc/grpc-js';
import { NameServerClient, type RouteChange } from '../../src/client';
import { call, connect, exited, spawnServer, startServer, type Started } from '../helpers/server';
import { report, topic } from '../fixtures/reports';

/** Resolve when `cond` holds, checked after each `route` event of the client. */
function untilRoutes(c: NameServerClient, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cond()) return resolve();
    const timer = setTimeout(() => reject(new Error('route condition not met')), timeoutMs);
    const on = () => {
      if (!cond()) return;
      clearTimeout(timer);
      c.off('route', on);
      resolve();
    };
    c.on('route', on);
  });
}

describe('NameServerClient on one server', () => {
  let s: Started;
  before(async () => {
    s = await startServer();
  });
  after(() => s.stop());

  test('getRoute, watch with a listener, cache, removal and unsubscribe', async () => {
    await call(s.brokers, 'registerBroker', report('sdk-b', 0, ['sdk-t']));
    const c = new NameServerClient({ nameservers: [s.address] });
    try {
      assert.equal((await c.getRoute('sdk-t')).topic, 'sdk-t');
      await assert.rejects(c.getRoute('sdk-missing'), (e: ServiceError) => e.code === status.NOT_FOUND);
      const seen: RouteChange[] = [];
      const w = c.watch(['sdk-t', 'sdk-later'], (ch) => seen.push(ch));
      await untilRoutes(c, () => c.cached('sdk-t') !== undefined);
      assert.equal(seen[0]!.route!.topic, 'sdk-t');
      await call(s.brokers, 'registerBroker', report('sdk-b2', 0, ['sdk-later']));
      await untilRoutes(c, () => c.cached('sdk-later') !== undefined);
      await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'sdk-b2', brokerId: 0, epoch: '' });
      await untilRoutes(c, () => seen.some((ch) => ch.topic === 'sdk-later' && ch.route === undefined));
      assert.equal(c.cached('sdk-later'), undefined);
      // The cached route answers getRoute for a watched topic.
      assert.equal(await c.getRoute('sdk-t'), c.cached('sdk-t'));
      w.close();
      assert.equal(c.cached('sdk-t'), undefined);
    } finally {
      c.close();
    }
  });

  test('getRoute skips a replica that is down', async () => {
    const dead = await startServer();
    const deadAddress = dead.address;
    await dead.stop();
    await call(s.brokers, 'registerBroker', report('skip-b', 0, ['skip-t']));
    const c = new NameServerClient({ nameservers: [deadAddress, s.address], callTimeoutMs: 2_000 });
    try {
      assert.equal((await c.getRoute('skip-t')).topic, 'skip-t');
    } finally {
      c.close();
    }
  });

  test('a host name expands to its addresses', async () => {
    await call(s.brokers, 'registerBroker', report('dns-b', 0, ['dns-t']));
    const c = new NameServerClient({ nameservers: `localhost:${s.port}` });
    try {
      assert.equal((await c.getRoute('dns-t')).topic, 'dns-t');
    } finally {
      c.close();
    }
  });
});

describe('NameServerClient failover across three NameServer processes', () => {
  const replicas: { child: ChildProcess; address: string }[] = [];
  after(async () => {
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => exited(r.child)));
  });

  test('losing its replica (SIGKILL), the client follows another and receives zero route messages for 100 unchanged topics, then the next real change', async () => {
    for (let i = 0; i < 3; i++) replicas.push(await spawnServer(['--warmup-ms', '0']));
    const topics = Array.from({ length: 100 }, (_, i) => `fo-${i}`);
    const brokers = [report('fo-a', 0, topics.slice(0, 60), { leaseTtlMs: 300_000 }), report('fo-b', 0, topics.slice(40), { leaseTtlMs: 300_000 })];
    const clients = replicas.map((r) => connect(r.address));
    for (const c of clients) for (const b of brokers) await call(c.brokers, 'registerBroker', b);
    // The replicas agree on every version: content-derived.
    const versions = await Promise.all(clients.map((c) => call(c.admin, 'listRouteVersions', { topics: [], pageSize: 0, pageToken: '' })));
    assert.deepEqual(versions[1]!.versions, versions[0]!.versions);
    assert.deepEqual(versions[2]!.versions, versions[0]!.versions);

    const sdk = new NameServerClient({ nameservers: replicas.map((r) => r.address), backoff: { initialMs: 50, maxMs: 1000 } });
    try {
      const first = once(sdk, 'connected');
      sdk.watch(topics, () => undefined);
      const [firstAddress] = (await first) as [string];
      assert.equal(firstAddress, replicas[0]!.address);
      await untilRoutes(sdk, () => topics.every((t) => sdk.cached(t)));
      assert.equal(sdk.stats.routeEvents, 100);
      const bytesBefore = sdk.stats.routeEventBytes;

      const reconnected = once(sdk, 'connected');
      replicas[0]!.child.kill('SIGKILL');
      const [nextAddress] = (await reconnected) as [string];
      assert.notEqual(nextAddress, replicas[0]!.address);
      assert.equal(sdk.stats.failovers, 1);
      // The 'connected' event fires on the new replica's first progress message, which follows the
      // answers to the resubscription: nothing was re-sent.
      assert.equal(sdk.stats.routeEvents, 100, 'zero route messages for unchanged topics');
      assert.equal(sdk.stats.routeEventBytes, bytesBefore);

      const changed = brokers[0]!;
      const update = { ...changed, dataVersion: { epoch: changed.dataVersion!.epoch, counter: 2 }, topics: [...changed.topics.slice(1), topic('fo-0', { writeQueueNums: 3 })] };
      for (const c of clients.slice(1)) await call(c.brokers, 'registerBroker', update);
      await untilRoutes(sdk, () => sdk.cached('fo-0')?.brokers[0]?.writeQueueNums === 3);
      assert.equal(sdk.stats.routeEvents, 101, 'exactly the one real change');
    } finally {
      sdk.close();
      clients.forEach((c) => c.close());
    }
  });

  test('a replica shut down gracefully (SIGTERM): the client moves on with no gap in route knowledge', async () => {
    const pair = [await spawnServer(['--warmup-ms', '0']), await spawnServer(['--warmup-ms', '0'])];
    replicas.push(...pair);
    const topics = ['gs-1', 'gs-2', 'gs-3'];
    const b = report('gs', 0, topics, { leaseTtlMs: 300_000 });
    const clients = pair.map((r) => connect(r.address));
    for (const c of clients) await call(c.brokers, 'registerBroker', b);
    const sdk = new NameServerClient({ nameservers: pair.map((r) => r.address), backoff: { initialMs: 20, maxMs: 500 } });
    const removals: string[] = [];
    try {
      const first = once(sdk, 'connected');
      sdk.watch(topics, (ch) => ch.route === undefined && removals.push(ch.topic));
      await first;
      await untilRoutes(sdk, () => topics.every((t) => sdk.cached(t)));
      const events = sdk.stats.routeEvents;
      const moved = once(sdk, 'connected');
      const disconnected = once(sdk, 'disconnected');
      pair[0]!.child.kill('SIGTERM');
      const [, err] = (await disconnected) as [string, ServiceError];
      assert.equal(err.code, status.UNAVAILABLE, 'the stream ended UNAVAILABLE (shutting down)');
      assert.ok(topics.every((t) => sdk.cached(t)), 'routes stay known while moving');
      const [address] = (await moved) as [string];
      assert.equal(address, pair[1]!.address);
      assert.equal((await exited(pair[0]!.child)).code, 0);
      assert.deepEqual(removals, []);
      assert.equal(sdk.stats.routeEvents, events, 'nothing re-sent');
    } finally {
      sdk.close();
      clients.forEach((c) => c.close());
    }
  });
});

