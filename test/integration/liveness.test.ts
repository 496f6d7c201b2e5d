/**
 * Liveness and report order through real gRPC (issue 13, items 1 and 6): a unary Heartbeat that arrives
 * during the grace after a broker's Connect stream ended does not keep the broker (it is removed when the
 * grace runs out); reports of one process that arrive in reverse order leave the newer one in place and
 * the older one is answered `stale`, so replicas fed the same reports in different orders agree.
 * Waits are on the server's route events and stream ends, never on sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ConnectRequest, ConnectResponse, RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { SessionKind } from '../../generated/nameserver/v1/admin';
import { call, rejectsWith, startServer, type Started } from '../helpers/server';
import { report, topic } from '../fixtures/reports';

type Stream = ClientDuplexStream<ConnectRequest, ConnectResponse>;

/** Resolve when the server's route table removes `topic`. */
function removed(s: Started, topic: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (t: string) => {
      if (t !== topic) return;
      s.server.core.routes.off('removed', on);
      resolve();
    };
    s.server.core.routes.on('removed', on);
  });
}

/** Open a Connect stream, register, and wait for the `accepted` and the ack. */
async function connectAndRegister(s: Started, reg: RegisterBrokerRequest): Promise<Stream> {
  const stream = s.brokers.connect();
  const messages: ConnectResponse[] = [];
  const acked = new Promise<void>((resolve) => {
    stream.on('data', (m: ConnectResponse) => {
      messages.push(m);
      if (m.body?.$case === 'ack' && m.body.ack.seq === 1) resolve();
    });
  });
  stream.write({ seq: 1, body: { $case: 'register', register: reg } });
  await acked;
  assert.deepEqual(messages.map((m) => m.body?.$case), ['accepted', 'ack']);
  return stream;
}

/** Half-close a stream and wait until the server has ended its side (so it processed the close). */
async function endStream(stream: Stream): Promise<void> {
  const ended = once(stream, 'status');
  stream.end();
  const [st] = (await ended) as [{ code: number }];
  assert.equal(st.code, status.OK);
}

async function brokerInfo(s: Started, brokerName: string) {
  const { brokers } = await call(s.admin, 'listBrokers', { cluster: '', pageSize: 1000, pageToken: '' });
  return brokers.find((b) => b.brokerName === brokerName);
}

describe('a Connect broker whose stream ended', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ streamGraceMs: 300 });
  });
  after(() => s.stop());

  test('a unary Heartbeat in the grace (same epoch and counter) asks for a re-register and does not keep it: removed after the grace', async () => {
    const reg = report('lv-grace', 0, ['lv-grace-t'], { dataVersion: { epoch: 'boot-lv-grace', counter: 7 } });
    const stream = await connectAndRegister(s, reg);
    assert.equal((await brokerInfo(s, 'lv-grace'))?.sessionKind, SessionKind.SESSION_KIND_STREAM);

    const gone = removed(s, 'lv-grace-t');
    await endStream(stream);
    // The grace is running: the broker is still routed, and a Heartbeat of the same epoch and counter arrives.
    assert.equal((await call(s.routes, 'getRoute', { topic: 'lv-grace-t' })).route!.brokers[0]!.brokerName, 'lv-grace');
    const hb = await call(s.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lv-grace', brokerId: 0, dataVersion: reg.dataVersion });
    assert.equal(hb.reregisterRequired, true, 'the ended stream session is not revived');
    assert.match(hb.reason, /Connect stream .* has ended/);
    assert.equal(hb.leaseTtlMs, 0, 'no lease granted');

    await gone;
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'lv-grace-t' }), status.NOT_FOUND);
    assert.equal(await brokerInfo(s, 'lv-grace'), undefined);
    assert.equal(s.server.sessions.get('c1/lv-grace/0'), undefined);
    const late = await call(s.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lv-grace', brokerId: 0, dataVersion: reg.dataVersion });
    assert.match(late.reason, /not registered/);
  });

  test('a unary Heartbeat while the stream is open renews nothing (lease 0): the stream end still removes the broker', async () => {
    const reg = report('lv-open', 0, ['lv-open-t'], { dataVersion: { epoch: 'boot-lv-open', counter: 3 } });
    const stream = await connectAndRegister(s, reg);
    const hb = await call(s.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lv-open', brokerId: 0, dataVersion: reg.dataVersion });
    assert.deepEqual({ reregister: hb.reregisterRequired, lease: hb.leaseTtlMs }, { reregister: false, lease: 0 });
    // A unary RegisterBroker of the same process while its stream is open grants no lease either.
    const again = await call(s.brokers, 'registerBroker', reg);
    assert.deepEqual({ unchanged: again.unchanged, lease: again.leaseTtlMs, stale: again.stale }, { unchanged: true, lease: 0, stale: false });
    assert.equal((await brokerInfo(s, 'lv-open'))?.sessionKind, SessionKind.SESSION_KIND_STREAM);

    const gone = removed(s, 'lv-open-t');
    await endStream(stream);
    await gone;
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'lv-open-t' }), status.NOT_FOUND);
  });

  test('after the stream ended, the broker falls back to RegisterBroker: it gets a lease and is held by it', async () => {
    const reg = report('lv-fallback', 0, ['lv-fallback-t'], { dataVersion: { epoch: 'boot-lv-fb', counter: 4 }, leaseTtlMs: 1_000 });
    const stream = await connectAndRegister(s, reg);
    await endStream(stream);
    const hb = await call(s.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lv-fallback', brokerId: 0, dataVersion: reg.dataVersion });
    assert.equal(hb.reregisterRequired, true);
    const out = await call(s.brokers, 'registerBroker', reg);
    assert.equal(out.leaseTtlMs, 1_000);
    const info = await brokerInfo(s, 'lv-fallback');
    assert.equal(info?.sessionKind, SessionKind.SESSION_KIND_LEASE);
    assert.ok(Number(info!.leaseExpiresAtMs) > 0);
    // Held by the lease now, so it goes when the lease runs out without heartbeats.
    await removed(s, 'lv-fallback-t');
    assert.equal(await brokerInfo(s, 'lv-fallback'), undefined);
  });
});

describe('reports of one broker process arriving out of order', () => {
  let a: Started;
  let b: Started;
  before(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
  });
  after(() => Promise.all([a.stop(), b.stop()]));

  const epoch = 'boot-lv-order';
  const at5 = report('lv-order', 0, ['lv-o-kept'], { dataVersion: { epoch, counter: 5 } });
  const at6 = report('lv-order', 0, ['lv-o-kept', topic('lv-o-new', { writeQueueNums: 2 })], { dataVersion: { epoch, counter: 6 } });
  const versions = async (s: Started) => {
    const { routes, notFound } = await call(s.routes, 'getRoutes', { topics: ['lv-o-kept', 'lv-o-new'] });
    return { versions: Object.fromEntries(routes.map((r) => [r.topic, r.version])), notFound };
  };

  test('two unary RegisterBroker reports, 6 then 5: the older is answered stale and ignored; both replicas agree', async () => {
    // Replica a gets them in order, replica b in reverse (a late retry of 5).
    const a5 = await call(a.brokers, 'registerBroker', at5);
    const a6 = await call(a.brokers, 'registerBroker', at6);
    const b6 = await call(b.brokers, 'registerBroker', at6);
    const b5 = await call(b.brokers, 'registerBroker', at5);

    const va = await versions(a);
    assert.deepEqual(va.notFound, []);
    assert.deepEqual(await versions(b), va, 'same reports, same routes and versions, whatever the order');
    const info = await brokerInfo(b, 'lv-order');
    assert.equal(Number(info!.dataVersion!.counter), 6);
    // The broker is told the late report was ignored.
    assert.deepEqual([a5.stale, a6.stale, b6.stale], [false, false, false]);
    assert.deepEqual({ stale: b5.stale, unchanged: b5.unchanged, lease: b5.leaseTtlMs }, { stale: true, unchanged: false, lease: 0 });
  });

  test('deltas: a retried delta (5→6 after 6→7) is answered stale; a heartbeat at the held version still renews', async () => {
    const delta = (base: number, counter: number, up: string[]) => ({
      cluster: 'c1', brokerName: 'lv-order', brokerId: 0, baseCounter: base, dataVersion: { epoch, counter },
      upsertTopics: up.map((n) => topic(n)), deleteTopics: [], upsertGroups: [], deleteGroups: [],
    });
    const d7 = await call(b.brokers, 'reportDelta', delta(6, 7, ['lv-o-7']));
    assert.deepEqual({ re: d7.reregisterRequired, stale: d7.stale }, { re: false, stale: false });
    const retried = await call(b.brokers, 'reportDelta', delta(5, 6, ['lv-o-new']));
    assert.deepEqual({ re: retried.reregisterRequired, stale: retried.stale }, { re: false, stale: true });
    const again = await call(b.brokers, 'reportDelta', delta(6, 7, ['lv-o-7']));
    assert.equal(again.stale, true, 'the same delta twice is applied once');
    assert.equal(Number((await brokerInfo(b, 'lv-order'))!.dataVersion!.counter), 7);
    const hb = await call(b.brokers, 'heartbeat', { cluster: 'c1', brokerName: 'lv-order', brokerId: 0, dataVersion: { epoch, counter: 7 } });
    assert.equal(hb.reregisterRequired, false);
  });

  test('a late unary report racing the Connect stream is answered stale and leaves the stream session alone', async () => {
    const st = report('lv-race', 0, ['lv-r-a', 'lv-r-b'], { dataVersion: { epoch: 'boot-lv-race', counter: 9 } });
    const stream = await connectAndRegister(a, st);
    const late = await call(a.brokers, 'registerBroker', report('lv-race', 0, ['lv-r-a'], { dataVersion: { epoch: 'boot-lv-race', counter: 8 } }));
    assert.deepEqual({ stale: late.stale, lease: late.leaseTtlMs }, { stale: true, lease: 0 });
    assert.equal((await call(a.routes, 'getRoute', { topic: 'lv-r-b' })).route!.brokers[0]!.brokerName, 'lv-race');
    // And on the stream: an older register is acknowledged as stale, the session stays.
    const ack = new Promise<ConnectResponse>((resolve) => stream.once('data', resolve));
    stream.write({ seq: 2, body: { $case: 'register', register: report('lv-race', 0, ['lv-r-a'], { dataVersion: { epoch: 'boot-lv-race', counter: 8 } }) } });
    assert.deepEqual((await ack).body, { $case: 'ack', ack: { seq: 2, ok: true, error: '', reregisterRequired: false, stale: true } });
    const info = await brokerInfo(a, 'lv-race');
    assert.deepEqual({ kind: info?.sessionKind, counter: Number(info?.dataVersion?.counter) }, { kind: SessionKind.SESSION_KIND_STREAM, counter: 9 });
    const gone = removed(a, 'lv-r-b');
    await endStream(stream);
    await gone;
  });
});
