/** The operations HTTP port: Prometheus metrics scraped and parsed, and readiness following warm-up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { call, rejectsWith, startServer } from '../helpers/server';
import { WatchProbe } from '../helpers/watch';
import { report } from '../fixtures/reports';
import { RemotingTestClient } from '../helpers/rocketmq';
import { RequestCode } from '../../src/server/network/remoting/codes';

/** Parse the Prometheus text format into `name{k="v",...}` → value (labels sorted). */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = m[3] ? [...m[3].matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x) => `${x[1]}="${x[2]}"`).sort().join(',') : '';
    out.set(labels ? `${m[1]}{${labels}}` : m[1]!, Number(m[4]));
  }
  return out;
}

test('/metrics reports brokers, topics, watches, RPCs by method and code, and report sizes', async () => {
  const s = await startServer({ httpListen: '127.0.0.1:0' });
  try {
    await call(s.brokers, 'registerBroker', report('m1', 0, ['ma', 'mb']));
    await call(s.routes, 'getRoute', { topic: 'ma' });
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'nope' }), status.NOT_FOUND);
    const w = new WatchProbe(s.routes);
    w.subscribe('ma', 'mb', 'mc');
    await w.until((p) => p.events.length === 2);
    const res = await fetch(`http://127.0.0.1:${s.server.httpPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/plain/);
    const m = parseProm(await res.text());
    assert.equal(m.get('nameserver_brokers{session_kind="lease"}'), 1);
    assert.equal(m.get('nameserver_brokers{session_kind="stream"}'), 0);
    assert.equal(m.get('nameserver_topics'), 2);
    assert.equal(m.get('nameserver_watch_streams'), 1);
    assert.equal(m.get('nameserver_watch_subscriptions'), 3);
    assert.equal(m.get('nameserver_warming_up'), 0);
    assert.equal(m.get('nameserver_rpc_total{code="OK",method="GetRoute"}'), 1);
    assert.equal(m.get('nameserver_rpc_total{code="NOT_FOUND",method="GetRoute"}'), 1);
    assert.equal(m.get('nameserver_rpc_total{code="OK",method="RegisterBroker"}'), 1);
    assert.equal(m.get('nameserver_rpc_duration_seconds_count{method="GetRoute"}'), 2);
    assert.equal(m.get('nameserver_report_topics_sum{kind="full"}'), 2);
    assert.ok((m.get('nameserver_watch_messages_total') ?? 0) >= 1);
    assert.ok((m.get('nameserver_process_resident_memory_bytes') ?? 0) > 0);
    w.close();
    assert.equal((await fetch(`http://127.0.0.1:${s.server.httpPort}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${s.server.httpPort}/nope`)).status, 404);
  } finally {
    await s.stop();
  }
});

test('readiness and the warm-up gauge follow the warm-up', async () => {
  const s = await startServer({ httpListen: '127.0.0.1:0', warmupMs: 60_000 });
  try {
    const base = `http://127.0.0.1:${s.server.httpPort}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    assert.equal(parseProm(await (await fetch(`${base}/metrics`)).text()).get('nameserver_warming_up'), 1);
    s.server.warmup.finish();
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  } finally {
    await s.stop();
  }
});

test('/metrics counts RocketMQ remoting requests by request and response, and open remoting connections', async () => {
  const s = await startServer({ httpListen: '127.0.0.1:0' });
  const client = new RemotingTestClient(s.port);
  try {
    await client.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'no-such-topic' });
    await client.request(RequestCode.GET_BROKER_CLUSTER_INFO);
    await client.request(9999);
    const m = parseProm(await (await fetch(`http://127.0.0.1:${s.server.httpPort}/metrics`)).text());
    assert.equal(m.get('nameserver_remoting_requests_total{request="GET_ROUTEINFO_BY_TOPIC",response="TOPIC_NOT_EXIST"}'), 1);
    assert.equal(m.get('nameserver_remoting_requests_total{request="GET_BROKER_CLUSTER_INFO",response="SUCCESS"}'), 1);
    assert.equal(m.get('nameserver_remoting_requests_total{request="UNKNOWN",response="REQUEST_CODE_NOT_SUPPORTED"}'), 1);
    assert.equal(m.get('nameserver_remoting_connections'), 1);
  } finally {
    client.close();
    await s.stop();
  }
});

test('calls refused by the rate limit or the token check never reach their handler and are still counted', async () => {
  const s = await startServer({ httpListen: '127.0.0.1:0', clientToken: 'client-secret', peerRequestsPerSecond: 1 });
  try {
    // No token: refused by the token check, until the peer's bucket is empty: then by the rate limit.
    const seen = new Map<number, number>();
    for (let i = 0; i < 100 && !seen.has(status.RESOURCE_EXHAUSTED); i++) {
      const err = await call(s.routes, 'getRoute', { topic: 'ma' }).then(() => undefined, (e: { code: number }) => e);
      assert.ok(err && (err.code === status.UNAUTHENTICATED || err.code === status.RESOURCE_EXHAUSTED), `refused: ${JSON.stringify(err)}`);
      seen.set(err.code, (seen.get(err.code) ?? 0) + 1);
    }
    assert.ok(seen.get(status.UNAUTHENTICATED)! >= 1 && seen.get(status.RESOURCE_EXHAUSTED) === 1);
    const m = parseProm(await (await fetch(`http://127.0.0.1:${s.server.httpPort}/metrics`)).text());
    assert.equal(m.get('nameserver_rpc_total{code="UNAUTHENTICATED",method="GetRoute"}'), seen.get(status.UNAUTHENTICATED));
    assert.equal(m.get('nameserver_rpc_total{code="RESOURCE_EXHAUSTED",method="GetRoute"}'), 1);
    assert.equal(m.get('nameserver_rpc_duration_seconds_count{method="GetRoute"}'), seen.get(status.UNAUTHENTICATED)! + 1, 'unary refusals are timed like any call');
  } finally {
    await s.stop();
  }
});
