/**
 * Routes served by a warming replica say they may be incomplete (GetRoute, GetRoutes, WatchRoutes
 * events), and the client SDK prefers a warm replica: it takes a warming replica's answer only when no
 * warm replica answers, and confirms a flagged route once its replica is warm.
 *
 * The setting: brokers wr-1 and wr-2 both hold topic "shared"; the warm replica heard from both, the
 * warming one (restarted) so far only from wr-1, so its route of "shared" lists 1 replica set of 2.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { NameServerClient, type RouteChange } from '../../src/client';
import { call, startServer, type Started } from '../helpers/server';
import { WatchProbe } from '../helpers/watch';
import { report } from '../fixtures/reports';

/** A loopback address nothing listens on (connections are refused at once). */
const NOBODY = '127.0.0.1:1';

let warm: Started;
let warming: Started;

beforeEach(async () => {
  warm = await startServer();
  warming = await startServer({ warmupMs: 120_000 });
  await call(warm.brokers, 'registerBroker', report('wr-1', 0, ['shared']));
  await call(warm.brokers, 'registerBroker', report('wr-2', 0, ['shared']));
  await call(warming.brokers, 'registerBroker', report('wr-1', 0, ['shared']));
});

afterEach(async () => {
  await warm.stop();
  await warming.stop();
});

/** Resolve with the first change the listener gets that satisfies `cond`. */
function nextChange(c: NameServerClient, cond: (ch: RouteChange) => boolean): Promise<RouteChange> {
  return new Promise((resolve) => {
    const on = (ch: RouteChange) => {
      if (!cond(ch)) return;
      c.off('route', on);
      resolve(ch);
    };
    c.on('route', on);
  });
}

describe('routes served during warm-up', () => {
  test('GetRoute, GetRoutes and WatchRoutes events say the route may be incomplete, until warm-up ends', async () => {
    const one = await call(warming.routes, 'getRoute', { topic: 'shared' });
    assert.equal(one.route!.brokers.length, 1, 'the warming replica knows 1 replica set of 2');
    assert.equal(one.mayBeIncomplete, true);
    const many = await call(warming.routes, 'getRoutes', { topics: ['shared'] });
    assert.equal(many.mayBeIncomplete, true);
    assert.deepEqual(many.routes, [one.route], 'the same pre-encoded route in both answers');
    const p = new WatchProbe(warming.routes);
    p.subscribe('shared');
    await p.until((x) => x.latest('shared') !== undefined);
    assert.equal(p.latest('shared')!.mayBeIncomplete, true);
    assert.equal(p.latest('shared')!.route!.version, one.route!.version);
    // A warm replica never sets the flag.
    const full = await call(warm.routes, 'getRoute', { topic: 'shared' });
    assert.equal(full.mayBeIncomplete, false);
    assert.equal((await call(warm.routes, 'getRoutes', { topics: ['shared'] })).mayBeIncomplete, false);
    // Warm-up ends: a progress message says so at once, and the next route pushed is not flagged.
    const progressBefore = p.progressCount;
    warming.server.warmup.finish();
    await p.until((x) => x.progressCount > progressBefore && x.messages.at(-1)!.progress?.warmingUp === false);
    assert.equal((await call(warming.routes, 'getRoute', { topic: 'shared' })).mayBeIncomplete, false);
    await call(warming.brokers, 'registerBroker', report('wr-2', 0, ['shared']));
    await p.until((x) => x.latest('shared')!.route?.brokers.length === 2);
    assert.equal(p.latest('shared')!.mayBeIncomplete, false);
    p.close();
  });
});

describe('the client SDK prefers a warm replica', () => {
  test('getRoute: a warm replica\'s route over a warming one\'s; the warming one when no warm replica answers', async () => {
    const c = new NameServerClient({ nameservers: [warming.address, warm.address] });
    const alone = new NameServerClient({ nameservers: [warming.address, NOBODY], callTimeoutMs: 2_000 });
    try {
      assert.equal((await c.getRoute('shared')).brokers.length, 2, 'asked the warming replica first, answered from the warm one');
      assert.equal((await alone.getRoute('shared')).brokers.length, 1, 'no warm replica reachable: the warming answer');
    } finally {
      c.close();
      alone.close();
    }
  });

  test('getRoute: a warm replica\'s NOT_FOUND wins over a warming replica\'s route', async () => {
    // Only the warming replica has heard of the topic (the broker has not reached the warm one yet).
    await call(warming.brokers, 'registerBroker', report('wr-3', 0, ['only-warming']));
    const c = new NameServerClient({ nameservers: [warming.address, warm.address] });
    const alone = new NameServerClient({ nameservers: [warming.address, NOBODY], callTimeoutMs: 2_000 });
    try {
      await assert.rejects(c.getRoute('only-warming'), (e: ServiceError) => e.code === status.NOT_FOUND);
      assert.equal((await alone.getRoute('only-warming')).brokers[0]!.brokerName, 'wr-3');
    } finally {
      c.close();
      alone.close();
    }
  });

  test('watch: the stream leaves a warming replica for a warm one', async () => {
    const c = new NameServerClient({ nameservers: [warming.address, warm.address] });
    try {
      const first = nextChange(c, (ch) => ch.topic === 'shared');
      const w = c.watch(['shared'], () => undefined);
      const ch = await first;
      assert.equal(ch.route!.brokers.length, 2);
      assert.equal(ch.mayBeIncomplete, false);
      assert.equal(c.address, warm.address);
      assert.equal(c.stats.warmingSkipped, 1);
      w.close();
    } finally {
      c.close();
    }
  });

  test('watch: with no warm replica reachable it follows the warming one, and confirms the route when it is warm', async () => {
    const c = new NameServerClient({ nameservers: [warming.address, NOBODY], backoff: { initialMs: 10, maxMs: 50 } });
    try {
      const seen: RouteChange[] = [];
      const first = nextChange(c, (ch) => ch.topic === 'shared');
      const w = c.watch(['shared'], (ch) => seen.push(ch));
      const flagged = await first;
      assert.equal(flagged.route!.brokers.length, 1);
      assert.equal(flagged.mayBeIncomplete, true);
      assert.equal(c.address, warming.address);
      // getRoute for the watched topic does not trust the flagged cache: it asks, and a warm answer
      // would win; here the only answer is the warming one.
      assert.equal((await c.getRoute('shared')).brokers.length, 1);
      const confirmed = nextChange(c, (ch) => ch.topic === 'shared' && !ch.mayBeIncomplete);
      warming.server.warmup.finish();
      const ch = await confirmed;
      assert.equal(ch.route!.version, flagged.route!.version, 'the same route, now confirmed');
      assert.deepEqual(seen.map((x) => x.mayBeIncomplete), [true, false]);
      w.close();
    } finally {
      c.close();
    }
  });
});
