/**
 * The console's JSON gateway without a browser (fetch): derived from the proto, unary calls, errors as
 * HTTP status + {code, codeName, message}, per-broker results of incomplete writes, Server-Sent Events
 * streams cancelled on disconnect, the body limit, tokens, and the loopback-only-writes rule on the
 * HTTP side.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdminService } from '../../generated/nameserver/v1/admin';
import { RouteQueryService } from '../../generated/nameserver/v1/route_query';
import { create, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { loadRegistry } from '../../src/console/json';
import { methodTable } from '../../src/console/methods';
import { FakeBroker } from '../fixtures/fake-broker';
import { topic } from '../fixtures/reports';
import { call, startServer, type Started } from '../helpers/server';
import { makePki } from '../helpers/certs';
import { SseReader } from './sse';

const JSON_TYPE = { 'content-type': 'application/json' };

async function post(base: string, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, headers: { ...JSON_TYPE, ...headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** POST with a Host header of our choosing (fetch does not let a caller set it), optionally chunked. */
function rawPost(port: number, path: string, body: string, host: string, chunked = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { host, 'content-type': 'application/json', ...(chunked ? { 'transfer-encoding': 'chunked' } : {}) };
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    if (chunked) {
      // In pieces, so the server sees the limit crossed mid-body.
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

/** Wait until `cond()` holds (polling a server-side counter, which has no event to wait on). */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the method table is derived from the descriptor set: every RPC of Admin and RouteQuery, as the stubs have them', () => {
  const table = methodTable(loadRegistry());
  const expected = [...Object.values(AdminService), ...Object.values(RouteQueryService)].map((d) => d.path).sort();
  assert.deepEqual([...table.values()].map((m) => m.path).sort(), expected);
  const watch = table.get('RouteQuery/WatchRoutes')!;
  assert.equal(watch.requestStream, true);
  assert.equal(watch.responseStream, true);
  assert.equal(watch.input.typeName, 'nameserver.v1.WatchRoutesRequest');
  assert.equal(table.get('Admin/WatchCluster')!.responseStream, true);
  assert.equal(table.get('Admin/GetClusterInfo')!.responseStream, false);
  assert.equal(table.get('Admin/GetClusterInfo')!.output.typeName, 'nameserver.v1.GetClusterInfoResponse');
  assert.equal([...table.keys()].some((k) => k.startsWith('BrokerRegistry/')), false);
});

test('an RPC added to a service appears in the table with no code change; a missing service stops the start', () => {
  // A descriptor set of its own: service x.v1.Foo with a unary and a server-streaming method.
  const msg = (name: string) => ({ name, field: [{ name: 'id', number: 1, type: 9, label: 1, jsonName: 'id' }] });
  const file = create(FileDescriptorProtoSchema, {
    name: 'x/v1/foo.proto',
    package: 'x.v1',
    syntax: 'proto3',
    messageType: [msg('DoThingRequest'), msg('DoThingResponse'), msg('WatchThingsRequest'), msg('WatchThingsResponse')],
    service: [
      {
        name: 'Foo',
        method: [
          { name: 'DoThing', inputType: '.x.v1.DoThingRequest', outputType: '.x.v1.DoThingResponse' },
          { name: 'WatchThings', inputType: '.x.v1.WatchThingsRequest', outputType: '.x.v1.WatchThingsResponse', serverStreaming: true },
        ],
      },
    ],
  });
  const set = toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [file] }));
  const table = methodTable(loadRegistry(set), ['x.v1.Foo']);
  assert.deepEqual([...table.keys()].sort(), ['Foo/DoThing', 'Foo/WatchThings']);
  assert.equal(table.get('Foo/WatchThings')!.responseStream, true);
  assert.equal(table.get('Foo/DoThing')!.path, '/x.v1.Foo/DoThing');
  assert.throws(() => methodTable(loadRegistry(set), ['x.v1.Foo', 'x.v1.Bar']), /the descriptor set has no service x\.v1\.Bar/);
});

test('the page’s browser JavaScript type-checks (tsc -p src/console/static)', () => {
  const root = path.resolve(__dirname, '..', '..');
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'src/console/static')], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

describe('console gateway', () => {
  let s: Started;
  let base: string;
  const fakes: FakeBroker[] = [];

  before(async () => {
    s = await startServer({ httpListen: '127.0.0.1:0', console: true });
    base = `http://127.0.0.1:${s.server.httpPort}`;
    for (const [name, topics] of [['gw1', ['gw-topic', topic('gw-dup', { readQueueNums: 8, writeQueueNums: 8 })]], ['gw2', ['gw-topic']]] as const) {
      const b = new FakeBroker(s.address, name, []);
      for (const t of topics) {
        const cfg = typeof t === 'string' ? topic(t) : t;
        b.topics.set(cfg.name, cfg);
      }
      await b.connect();
      fakes.push(b);
    }
  });
  after(async () => {
    for (const b of fakes) b.close();
    await s.stop();
  });

  test('GET /api/ lists the methods with their URLs', async () => {
    const res = await fetch(`${base}/api/`);
    assert.equal(res.status, 200);
    const { methods } = (await res.json()) as { methods: { service: string; method: string; url: string; write: boolean }[] };
    const byName = new Map(methods.map((m) => [`${m.service}/${m.method}`, m]));
    assert.equal(byName.get('Admin/CreateTopic')!.url, '/api/Admin/CreateTopic');
    assert.equal(byName.get('Admin/CreateTopic')!.write, true);
    assert.equal(byName.get('Admin/ListTopics')!.write, false);
    assert.equal(byName.get('RouteQuery/WatchRoutes')!.url, '/api/stream/RouteQuery/WatchRoutes');
  });

  test('a unary call answers the same as gRPC, in proto-JSON (snake_case or camelCase in)', async () => {
    const viaGrpc = await call(s.routes, 'getRoute', { topic: 'gw-topic' });
    const r = await post(base, '/api/RouteQuery/GetRoute', '{"topic":"gw-topic"}');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^application\/json/);
    assert.equal(r.body.route.topic, 'gw-topic');
    assert.equal(r.body.route.version, viaGrpc.route!.version);
    assert.deepEqual(r.body.route.brokers.map((b: { brokerName: string }) => b.brokerName), ['gw1', 'gw2']);
    const listed = await post(base, '/api/Admin/ListBrokers', '{"page_size": 1}');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.brokers.length, 1);
    assert.ok(listed.body.nextPageToken);
    const empty = await post(base, '/api/Admin/GetClusterInfo', '');
    assert.equal(empty.status, 200);
    assert.equal(empty.body.serverId, s.server.serverId);
    // Canonical proto3 JSON (@bufbuild/protobuf's codec): 64-bit integers as strings, enums by name.
    const info = await call(s.admin, 'getClusterInfo', {});
    assert.equal(empty.body.startedAtMs, String(info.startedAtMs));
    const brokers = await post(base, '/api/Admin/ListBrokers', '{"pageSize":"1"}');
    assert.equal(brokers.body.brokers.length, 1, '64-bit and 32-bit integers may come as strings');
    assert.equal(brokers.body.brokers[0].permission, 'PERMISSION_READ_WRITE');
    assert.match(brokers.body.brokers[0].lastSeenAtMs, /^\d+$/);
  });

  test('a gRPC error becomes its HTTP status and {code, codeName, message}', async () => {
    const r = await post(base, '/api/RouteQuery/GetRoute', '{"topic":"no-such-topic"}');
    assert.equal(r.status, 404);
    assert.equal(r.body.code, grpc.status.NOT_FOUND);
    assert.equal(r.body.codeName, 'NOT_FOUND');
    assert.match(r.body.message, /no-such-topic/);
    const invalid = await post(base, '/api/RouteQuery/GetRoute', '{"topic":"bad topic!"}');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.codeName, 'INVALID_ARGUMENT');
  });

  test('unknown methods and services: 404', async () => {
    for (const path of ['/api/Admin/NoSuchMethod', '/api/NoSuchService/GetRoute', '/api/BrokerRegistry/RegisterBroker', '/api/stream/Admin/Nope', '/api/a/b/c']) {
      const r = await post(base, path, '{}');
      assert.equal(r.status, 404, path);
      assert.equal(r.body.codeName, 'NOT_FOUND', path);
    }
  });

  test('bad JSON, unknown fields, bad enum values and wrong types: 400 naming the problem', async () => {
    const cases: [string, string, RegExp][] = [
      ['/api/RouteQuery/GetRoute', '{"topic":', /not valid JSON/],
      ['/api/RouteQuery/GetRoute', '[1,2]', /must be a JSON object/],
      ['/api/RouteQuery/GetRoute', '{"topik":"x"}', /unknown field "topik"/],
      ['/api/Admin/CreateTopic', '{"topic":{"name":"x","colour":"red"},"cluster":"c1"}', /unknown field "topic\.colour"/],
      ['/api/Admin/ListBrokers', '{"page_size":true}', /field "page_size": expected number \(uint32\), got true/],
      ['/api/stream/RouteQuery/WatchRoutes', '{"all_topics":"yes"}', /field "all_topics": expected boolean, got "yes"/],
      ['/api/Admin/CreateTopic', '{"topic":{"name":"x","permission":"PERMISSION_RW"},"cluster":"c1"}', /field "topic\.permission": unknown enum value "PERMISSION_RW" \(not a value of nameserver\.v1\.Permission\)/],
      ['/api/Admin/CreateTopic', '{"topic":{"name":"x","read_queue_nums":"many"},"cluster":"c1"}', /field "topic\.read_queue_nums": expected number \(uint32\), got "many"/],
      ['/api/Admin/CreateTopic', '{"topic":{"name":"x","read_queue_nums":-1},"cluster":"c1"}', /field "topic\.read_queue_nums": .*-1 out of range/],
      ['/api/Admin/CreateTopic', '{"topic":"x"}', /field "topic": expected an object \(nameserver\.v1\.TopicConfig\), got "x"/],
      ['/api/RouteQuery/GetRoutes', '{"topics":"x"}', /field "topics": expected Array, got "x"/],
      ['/api/Admin/CreateTopic', '{"topic":{"name":"x","attributes":[1]},"cluster":"c1"}', /field "topic\.attributes": expected object, got Array/],
      ['/api/Admin/CreateTopic', '{"topic":{"name":"x","read_queue_nums":1.5},"cluster":"c1"}', /field "topic\.read_queue_nums": expected number \(uint32\), got 1\.5/],
      [
        '/api/Admin/CreateGroup',
        '{"group":{"name":"g","subscriptions":[{"topic":"a"},{"topic":"b","filterType":"SQL9"}]},"cluster":"c1"}',
        /field "group\.subscriptions\[1\]\.filterType": unknown enum value "SQL9"/,
      ],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(base, path, body);
      assert.equal(r.status, 400, body);
      assert.equal(r.body.codeName, 'INVALID_ARGUMENT', body);
      assert.match(r.body.message, message, body);
    }
    // Nothing reached the brokers.
    assert.equal(fakes[0]!.commands.length, 0);
  });

  test('HTTP misuse: wrong verb 405, not JSON 415, body over 1 MiB 413, streaming vs unary URL 400', async () => {
    const get = await fetch(`${base}/api/RouteQuery/GetRoute`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const form = await fetch(`${base}/api/RouteQuery/GetRoute`, { method: 'POST', body: 'topic=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415);
    const big = await post(base, '/api/RouteQuery/GetRoutes', JSON.stringify({ topics: Array.from({ length: 100_000 }, (_, i) => `topic-${i}`) }));
    assert.equal(big.status, 413);
    assert.equal(big.body.codeName, 'RESOURCE_EXHAUSTED');
    // The same without a content-length (chunked): still a 413 answer, not a reset connection.
    const chunked = await rawPost(s.server.httpPort, '/api/RouteQuery/GetRoutes', 'x'.repeat(1024 * 1024 + 10), `127.0.0.1:${s.server.httpPort}`, true);
    assert.equal(chunked.status, 413);
    const streamAsUnary = await post(base, '/api/Admin/WatchCluster', '{}');
    assert.equal(streamAsUnary.status, 400);
    assert.match(streamAsUnary.body.message, /GET \/api\/stream\/Admin\/WatchCluster/);
    const unaryAsStream = await fetch(`${base}/api/stream/Admin/GetClusterInfo`);
    assert.equal(unaryAsStream.status, 400);
    // The server still answers after all that.
    assert.equal((await post(base, '/api/Admin/GetClusterInfo', '{}')).status, 200);
  });

  test('an incomplete write answers the status and every broker result from the trailer', async () => {
    // gw1 holds gw-dup with 8/8 queues; creating it with 4/4 on the cluster conflicts there only.
    const r = await post(base, '/api/Admin/CreateTopic', JSON.stringify({ topic: { name: 'gw-dup', read_queue_nums: 4, write_queue_nums: 4 }, cluster: 'c1' }));
    assert.equal(r.status, 409);
    assert.equal(r.body.codeName, 'ALREADY_EXISTS');
    const outcomes = Object.fromEntries(r.body.results.map((x: { brokerName: string; outcome: string }) => [x.brokerName, x.outcome]));
    assert.deepEqual(outcomes, { gw1: 'COMMAND_OUTCOME_ALREADY_EXISTS', gw2: 'COMMAND_OUTCOME_OK' });
    // A complete write answers 200 with the results.
    const ok = await post(base, '/api/Admin/CreateTopic', JSON.stringify({ topic: { name: 'gw-new', readQueueNums: 2, writeQueueNums: 2 }, brokerNames: ['gw2'] }));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.results.map((x: { brokerName: string; outcome: string }) => [x.brokerName, x.outcome]), [['gw2', 'COMMAND_OUTCOME_OK']]);
    assert.equal((await call(s.routes, 'getRoute', { topic: 'gw-new' })).route!.brokers[0]!.readQueueNums, 2);
  });

  test('SSE: WatchCluster delivers the snapshot and a broker joining; a disconnect cancels the gRPC stream', async () => {
    const before = s.server.clusterWatch.size;
    const sse = await SseReader.open(`${base}/api/stream/Admin/WatchCluster?body=${encodeURIComponent('{}')}`);
    try {
      assert.equal(sse.response.status, 200);
      assert.match(sse.response.headers.get('content-type')!, /^text\/event-stream/);
      const existing = await sse.waitFor((e) => e.data.type === 'CLUSTER_EVENT_TYPE_EXISTING' && e.data.broker.brokerName === 'gw1');
      assert.equal(existing.event, 'message');
      await sse.waitFor((e) => e.data.snapshotDone === true);
      const joining = new FakeBroker(s.address, 'gw3', ['gw3-topic']);
      await joining.connect();
      fakes.push(joining);
      await sse.waitFor((e) => e.data.type === 'CLUSTER_EVENT_TYPE_JOINED' && e.data.broker.brokerName === 'gw3');
      assert.equal(s.server.clusterWatch.size, before + 1);
    } finally {
      sse.close();
    }
    await until(() => s.server.clusterWatch.size === before, 'the WatchCluster stream was not cancelled after the browser left');
  });

  test('SSE: WatchRoutes with a fixed subscription (query string or JSON body)', async () => {
    const sse = await SseReader.open(`${base}/api/stream/RouteQuery/WatchRoutes?body=${encodeURIComponent('{"subscribe":[{"topic":"gw-topic"}]}')}`);
    const all = await SseReader.open(`${base}/api/stream/RouteQuery/WatchRoutes`, { method: 'POST', body: '{"all_topics":true}', headers: JSON_TYPE });
    try {
      const ev = await sse.waitFor((e) => e.data.events?.some((x: { topic: string }) => x.topic === 'gw-topic'));
      assert.equal(ev.data.events[0].type, 'ROUTE_EVENT_TYPE_UPDATED');
      await sse.waitFor((e) => e.data.progress?.subscribedTopics === 1);
      await all.waitFor((e) => e.data.events?.some((x: { topic: string }) => x.topic === 'gw-dup'));
      await all.waitFor((e) => e.data.progress?.allTopics === true);
      // A change is pushed: delete the topic through the gateway, the watch sees the removal.
      const del = await post(base, '/api/Admin/DeleteTopic', '{"topic":"gw-new"}');
      assert.equal(del.status, 200);
      await all.waitFor((e) => e.data.events?.some((x: { topic: string; type: string }) => x.topic === 'gw-new' && x.type === 'ROUTE_EVENT_TYPE_REMOVED'));
    } finally {
      sse.close();
      all.close();
    }
    const bad = await fetch(`${base}/api/stream/RouteQuery/WatchRoutes?body=${encodeURIComponent('{"subscribe":"x"}')}`);
    assert.equal(bad.status, 400);
  });

  test('SSE: an error status ends the stream as an "event: status"', async () => {
    const sse = await SseReader.open(`${base}/api/stream/RouteQuery/WatchRoutes?body=${encodeURIComponent('{"subscribe":[{"topic":"bad topic!"}]}')}`);
    const st = await sse.waitFor((e) => e.event === 'status');
    assert.equal(st.data.codeName, 'INVALID_ARGUMENT');
    sse.close();
  });

  test('loopback-only writes hold on the HTTP side: proxied or remote-named requests may read, not write', async () => {
    const body = JSON.stringify({ topic: { name: 'gw-remote', readQueueNums: 1, writeQueueNums: 1 }, cluster: 'c1' });
    const proxied = await post(base, '/api/Admin/CreateTopic', body, { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(proxied.status, 403);
    assert.equal(proxied.body.codeName, 'PERMISSION_DENIED');
    assert.match(proxied.body.message, /admin token/);
    // A page of a DNS name rebound to 127.0.0.1 is not a local page (Host names it); localhost is.
    const rebound = await rawPost(s.server.httpPort, '/api/Admin/DeleteTopic', '{"topic":"gw-topic"}', 'evil.example:80');
    assert.equal(rebound.status, 403);
    assert.equal(JSON.parse(rebound.body).codeName, 'PERMISSION_DENIED');
    const localhost = await rawPost(s.server.httpPort, '/api/Admin/UpdateTopic', JSON.stringify({ topic: topic('gw-topic') }), `localhost:${s.server.httpPort}`);
    assert.equal(localhost.status, 200, localhost.body);
    const read = await post(base, '/api/Admin/ListTopics', '{}', { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(read.status, 200);
    await assert.rejects(call(s.routes, 'getRoute', { topic: 'gw-remote' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  test('cross-site requests are refused (CSRF)', async () => {
    const r = await post(base, '/api/Admin/DeleteTopic', '{"topic":"gw-topic"}', { origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    const fetchSite = await post(base, '/api/Admin/DeleteTopic', '{"topic":"gw-topic"}', { 'sec-fetch-site': 'cross-site' });
    assert.equal(fetchSite.status, 403);
    const sameOrigin = await post(base, '/api/Admin/ListTopics', '{}', { origin: base });
    assert.equal(sameOrigin.status, 200);
    await call(s.routes, 'getRoute', { topic: 'gw-topic' }); // still there
  });

  test('the page and its assets are served under /console/ with a strict CSP', async () => {
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '/console/');
    const page = await fetch(`${base}/console/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="app.js">/);
    for (const asset of ['app.js', 'api.js', 'chart.js', 'dom.js', 'table.js', 'store.js', 'writes.js', 'forms.js', 'page-cluster.js', 'page-topics.js', 'page-groups.js', 'page-instances.js', 'console.css']) assert.equal((await fetch(`${base}/console/${asset}`)).status, 200, asset);
    for (const missing of ['/console/nope.js', '/console/..%2F..%2Fpackage.json', '/console/tsconfig.json']) {
      assert.equal((await fetch(`${base}${missing}`)).status, 404, missing);
    }
    // Other routes of the HTTP port are untouched.
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });
});

describe('console gateway with tokens', () => {
  let s: Started;
  let base: string;
  let b: FakeBroker;
  before(async () => {
    s = await startServer({ httpListen: '127.0.0.1:0', console: true, adminToken: 'admin-secret', brokerToken: 'broker-secret' });
    base = `http://127.0.0.1:${s.server.httpPort}`;
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer broker-secret');
    b = new FakeBroker(s.address, 'tk1', ['tk-topic'], md);
    await b.connect();
  });
  after(async () => {
    b.close();
    await s.stop();
  });

  test('the Authorization header is forwarded: none or unknown 401, another role 403, the admin token 200', async () => {
    const none = await post(base, '/api/Admin/GetClusterInfo', '{}');
    assert.equal(none.status, 401);
    assert.equal(none.body.codeName, 'UNAUTHENTICATED');
    const wrong = await post(base, '/api/Admin/GetClusterInfo', '{}', { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    const broker = await post(base, '/api/Admin/GetClusterInfo', '{}', { authorization: 'Bearer broker-secret' });
    assert.equal(broker.status, 403);
    assert.equal(broker.body.codeName, 'PERMISSION_DENIED');
    const ok = await post(base, '/api/Admin/GetClusterInfo', '{}', { authorization: 'Bearer admin-secret' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.brokerCount, 1);
    const sse = await SseReader.open(`${base}/api/stream/Admin/WatchCluster`);
    const st = await sse.waitFor((e) => e.event === 'status');
    assert.equal(st.data.codeName, 'UNAUTHENTICATED');
    sse.close();
  });

  test('with an admin token configured, a proxied write with the token is accepted (the server checks it)', async () => {
    const body = JSON.stringify({ topic: { name: 'tk-proxied', readQueueNums: 1, writeQueueNums: 1 }, cluster: 'c1' });
    const without = await post(base, '/api/Admin/CreateTopic', body, { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(without.status, 401);
    const withToken = await post(base, '/api/Admin/CreateTopic', body, { 'x-forwarded-for': '203.0.113.9', authorization: 'Bearer admin-secret' });
    assert.equal(withToken.status, 200);
    assert.equal((await call(s.routes, 'getRoute', { topic: 'tk-proxied' })).route!.topic, 'tk-proxied');
  });
});

test('the console works whatever TLS the public listener uses (it reaches the server over a private socket)', async () => {
  const pki = makePki();
  for (const tls of [
    { tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey },
    { tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCaFile: pki.caCert },
  ]) {
    const s = await startServer({ httpListen: '127.0.0.1:0', console: true, ...tls });
    try {
      const res = await fetch(`http://127.0.0.1:${s.server.httpPort}/api/Admin/GetClusterInfo`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { serverId: string }).serverId, s.server.serverId);
    } finally {
      await s.stop();
    }
  }
});
