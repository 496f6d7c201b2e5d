/**
 * Polyglot interop (issue #6): brokers and clients written with nothing but the .proto files and
 * their own language's gRPC stack, from that language's registry (grpcio and protobuf from PyPI;
 * grpc-go and protobuf-go from the Go module proxy, with the stubs of sdk/go/nameserverv1), against
 * a real NameServer.
 *
 *  - the Python broker (examples/python/broker.py, on the Python SDK in sdk/python) and the Go broker (examples/go) register over
 *    Connect with an overlapping topic, and report positions;
 *  - the TypeScript SDK (NameServerClient) and the Python client (examples/python/client.py) see the
 *    same routes with the same versions, and the same content (canonical proto3 JSON);
 *  - a topic created through Admin/CreateTopic reaches the Python (and the Go) broker as a command and
 *    comes back in the route;
 *  - SIGKILL of the Go broker removes it from the Python client's watch (and the SDK's) within the
 *    design's 3 s (the stream grace is 300 ms here).
 *
 * The toolchains come from scripts/install-test-tools.sh (`npm test` runs it first). A missing tool
 * fails the test that needs it, with the command that installs it; nothing is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Route } from '../../generated/nameserver/v1/route_query';
import { CommandOutcome, Permission, MessageType } from '../../generated/nameserver/v1/common';
import { NameServerClient } from '../../src/client';
import { call, startServer, type Started } from '../helpers/server';
import { eventually, JsonLineProcess, type Line } from '../interop/json-lines';
import { buildGo, goBinary as goTool, python as venvPython, pythonSdk, pythonVersions, ROOT } from '../interop/toolchain';

const GRACE_MS = 300;
const PY = 'py-broker';
const GO = 'go-broker';
const TOPICS = ['shared', 'py-only', 'go-only', 'made-py', 'made-go'];

/** The Python client's current view: topic -> latest route (canonical JSON) and version. */
function pythonView(client: JsonLineProcess): Map<string, { version: string; route: unknown; brokers: string[] }> {
  const view = new Map<string, { version: string; route: unknown; brokers: string[] }>();
  for (const l of client.lines) {
    const topic = l.topic as string;
    if (l.event === 'get_route') {
      if (typeof l.version === 'string') view.set(topic, { version: l.version, route: l.route, brokers: l.brokers as string[] });
      else view.delete(topic);
    } else if (l.event === 'route') {
      if (l.type === 'ROUTE_EVENT_TYPE_UPDATED') view.set(topic, { version: l.version as string, route: l.route, brokers: l.brokers as string[] });
      else view.delete(topic);
    }
  }
  return view;
}

/** CreateTopic, with UNIMPLEMENTED turned into a clear failure of this subtest. */
async function createTopic(s: Started, name: string, brokerName: string, queues: number) {
  try {
    return await call(s.admin, 'createTopic', {
      topic: { name, readQueueNums: queues, writeQueueNums: queues, permission: Permission.PERMISSION_READ_WRITE, messageType: MessageType.MESSAGE_TYPE_NORMAL, attributes: {} },
      cluster: '',
      brokerNames: [brokerName],
    });
  } catch (err) {
    const e = err as ServiceError;
    if (e.code === status.UNIMPLEMENTED) {
      throw new Error(
        `Admin/CreateTopic answered UNIMPLEMENTED (${e.details}): the server side of admin writes (src/server/network/admin/service.ts, ` +
          'commands over Connect) has not landed, so the polyglot create-topic path cannot be proven yet',
      );
    }
    throw err;
  }
}

describe('interop: Python and Go brokers, Python and TypeScript clients', () => {
  let buildDir = '';
  let pySdk: string | undefined;
  let goBinary: string | undefined;
  let s: Started;
  let sdk: NameServerClient;
  const sdkEvents: { topic: string; version: string | undefined }[] = [];
  const procs: JsonLineProcess[] = [];
  let pyBroker: JsonLineProcess | undefined;
  let goBroker: JsonLineProcess | undefined;
  let pyClient: JsonLineProcess | undefined;

  const python = (script: string, args: string[], name: string) => {
    const p = new JsonLineProcess(name, venvPython(), ['-u', path.join(ROOT, 'examples/python', script), ...args]);
    procs.push(p);
    return p;
  };

  before(async () => {
    buildDir = mkdtempSync(path.join(os.tmpdir(), 'ns-interop-'));
    s = await startServer({ streamGraceMs: GRACE_MS });
    sdk = new NameServerClient({ nameservers: [s.address] });
    sdk.watch(TOPICS, ({ topic, route }) => sdkEvents.push({ topic, version: route?.version }));
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 3_000)));
    sdk?.close();
    await s?.stop();
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  test('the toolchains from PyPI and the Go module proxy are installed, at the pinned versions', (t) => {
    const { installed, pinned } = pythonVersions();
    assert.deepEqual(installed, pinned, 'the venv .tools/venv differs from test/interop/requirements.txt: run bash scripts/install-test-tools.sh');
    const go = execFileSync(goTool(), ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
    const [major, minor] = /^go(\d+)\.(\d+)/.exec(go)!.slice(1).map(Number) as [number, number];
    assert.ok(major > 1 || minor >= 26, `examples/go and sdk/go need Go 1.26 or newer, found ${go}`);
    t.diagnostic(`${go}; ${Object.entries(installed).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });

  test('the Python SDK (sdk/python, stubs generated from proto/) imports from the venv', (t) => {
    pySdk = pythonSdk();
    t.diagnostic(`mq_nameserver at ${path.relative(ROOT, pySdk)}`);
  });

  test('the Go broker builds offline from its module (examples/go, sdk/go by replace; GOPROXY=off)', (t) => {
    const started = Date.now();
    goBinary = buildGo(path.join(buildDir, 'go'));
    t.diagnostic(`go build: ${Date.now() - started} ms`);
  });

  test('the Python and Go brokers register over Connect (overlapping topic) and report positions', async () => {
    assert.ok(pySdk, 'the Python SDK does not import (see the earlier failure)');
    assert.ok(goBinary, 'the Go broker was not built (see the earlier failure)');
    const common = ['--nameservers', s.address, '--cluster', 'c1', '--group', 'billing', '--heartbeat-ms', '500', '--positions-ms', '1000'];
    pyBroker = python('broker.py', [...common, '--broker-name', PY, '--address', '127.0.0.1:10911', '--topic', 'shared:4', '--topic', 'py-only:2'], PY);
    goBroker = new JsonLineProcess(GO, goBinary, [...common, '--broker-name', GO, '--address', '127.0.0.1:10921', '--topic', 'shared:8', '--topic', 'go-only:4']);
    procs.push(goBroker);
    const [py, go] = await Promise.all([
      pyBroker.waitFor('"registered"', (l) => l.event === 'registered', 15_000),
      goBroker.waitFor('"registered"', (l) => l.event === 'registered', 15_000),
    ]);
    assert.equal(py.server_id, go.server_id);
    assert.equal(py.grace_ms, GRACE_MS);

    const { brokers } = await call(s.admin, 'listBrokers', { cluster: 'c1', pageSize: 0, pageToken: '' });
    assert.deepEqual(
      brokers.map((b) => [b.brokerName, b.addresses, b.dataVersion?.epoch, b.topicCount, b.groupCount]),
      [
        [GO, ['127.0.0.1:10921'], go.epoch, 2, 1],
        [PY, ['127.0.0.1:10911'], py.epoch, 2, 1],
      ],
    );
    // Positions travelled too: the group's lag on the shared topic covers both brokers' queues
    // (4 Python + 8 Go), 10 messages each.
    const lag = await eventually('lag of billing on shared from both brokers', async () => {
      const r = await call(s.admin, 'getConsumerLag', { group: 'billing', topic: 'shared' });
      const queues = r.topics.find((x) => x.topic === 'shared')?.queues ?? [];
      assert.deepEqual([...new Set(queues.map((q) => q.brokerName))], [GO, PY]);
      assert.equal(queues.length, 12);
      return r;
    });
    assert.equal(lag.totalLag, 120);
  });

  test('the TypeScript SDK and the Python client see the same routes with the same versions', async (t) => {
    assert.ok(pyBroker && goBroker, 'the brokers did not start (see the earlier failure)');
    pyClient = python('client.py', ['--nameservers', s.address, ...TOPICS.flatMap((x) => ['--topic', x])], 'py-client');
    await pyClient.waitFor('the first watch progress', (l) => l.event === 'progress', 10_000);
    const existing = ['shared', 'py-only', 'go-only'];
    await eventually('SDK cache of the existing topics', () => existing.forEach((x) => assert.ok(sdk.cached(x), `SDK has no route for ${x}`)));
    const py = pythonView(pyClient);
    for (const topic of existing) {
      const viaRpc = (await call(s.routes, 'getRoute', { topic })).route!;
      const viaSdk = await sdk.getRoute(topic);
      const viaPy = py.get(topic);
      assert.ok(viaPy, `the Python client has no route for ${topic}:\n${pyClient.describe()}`);
      assert.equal(viaSdk.version, viaRpc.version, topic);
      assert.equal(viaPy.version, viaRpc.version, topic);
      // Same content, not only the same version: canonical proto3 JSON from both runtimes.
      assert.deepEqual(viaPy.route, Route.toJSON(viaSdk), topic);
      t.diagnostic(`${topic}: version ${viaRpc.version} on ${viaRpc.brokers.map((b) => b.brokerName).join(', ')}`);
    }
    const shared = (await sdk.getRoute('shared')).brokers;
    assert.deepEqual(
      shared.map((b) => [b.brokerName, b.readQueueNums, b.replicas.map((r) => r.addresses)]),
      [
        [GO, 8, [['127.0.0.1:10921']]],
        [PY, 4, [['127.0.0.1:10911']]],
      ],
    );
    assert.deepEqual(py.get('go-only')!.brokers, [GO]);
    assert.deepEqual(py.get('py-only')!.brokers, [PY]);
    // Topics that do not exist yet: NOT_FOUND for the Python GetRoute, nothing in either view.
    assert.equal(pyClient.find((l) => l.event === 'get_route' && l.topic === 'made-py')?.code, 'NOT_FOUND');
    assert.equal(sdk.cached('made-py'), undefined);
  });

  test('a topic created through Admin/CreateTopic reaches the Python broker as a command and comes back in the route', async () => {
    assert.ok(pyBroker && pyClient, 'the Python broker or client did not start (see the earlier failures)');
    const since = pyBroker.lines.length;
    const res = await createTopic(s, 'made-py', PY, 3);
    assert.deepEqual(
      res.results.map((r) => [r.brokerName, r.outcome, r.message]),
      [[PY, CommandOutcome.COMMAND_OUTCOME_OK, '']],
    );
    // The broker saw the command, reported the delta, THEN answered.
    const cmd = pyBroker.find((l) => l.event === 'command' && l.action === 'create_topic', since);
    assert.ok(cmd, `the Python broker printed no create_topic command:\n${pyBroker.describe()}`);
    assert.deepEqual(cmd.detail, { topic: 'made-py', read_queue_nums: 3, write_queue_nums: 3 });
    const order = pyBroker.lines.slice(since).filter((l) => ['command', 'delta', 'command_result'].includes(l.event)).map((l) => l.event);
    assert.deepEqual(order, ['command', 'delta', 'command_result']);
    assert.equal(pyBroker.find((l) => l.event === 'command_result', since)?.command_id, cmd.command_id);

    // The route is there when the call answers, and both clients were pushed the same version.
    const route = (await call(s.routes, 'getRoute', { topic: 'made-py' })).route!;
    assert.deepEqual(route.brokers.map((b) => [b.brokerName, b.readQueueNums, b.writeQueueNums]), [[PY, 3, 3]]);
    await pyClient.waitFor('the made-py route', (l) => l.event === 'route' && l.topic === 'made-py' && l.version === route.version, 5_000);
    await eventually('SDK route of made-py', () => assert.equal(sdk.cached('made-py')?.version, route.version));
    assert.deepEqual(pythonView(pyClient).get('made-py')!.route, Route.toJSON(sdk.cached('made-py')!));
  });

  test('the Go broker answers a CreateTopic command the same way', async () => {
    assert.ok(goBroker && pyClient, 'the Go broker or the Python client did not start (see the earlier failures)');
    const since = goBroker.lines.length;
    const res = await createTopic(s, 'made-go', GO, 2);
    assert.deepEqual(res.results.map((r) => [r.brokerName, r.outcome]), [[GO, CommandOutcome.COMMAND_OUTCOME_OK]]);
    const order = goBroker.lines.slice(since).filter((l) => ['command', 'delta', 'command_result'].includes(l.event)).map((l) => l.event);
    assert.deepEqual(order, ['command', 'delta', 'command_result']);
    const route = (await call(s.routes, 'getRoute', { topic: 'made-go' })).route!;
    assert.deepEqual(route.brokers.map((b) => b.brokerName), [GO]);
    await pyClient.waitFor('the made-go route', (l) => l.event === 'route' && l.topic === 'made-go' && l.version === route.version, 5_000);
    await eventually('SDK route of made-go', () => assert.equal(sdk.cached('made-go')?.version, route.version));
  });

  test("SIGKILL of the Go broker removes it from the Python client's watch (and the SDK's) by push", async (t) => {
    assert.ok(goBroker && pyClient, 'the Go broker or the Python client did not start (see the earlier failures)');
    const since = pyClient.lines.length;
    const killedAt = Date.now();
    goBroker.child.kill('SIGKILL');
    const removed = (l: Line) => l.event === 'route' && l.topic === 'go-only' && l.type === 'ROUTE_EVENT_TYPE_REMOVED';
    const shrunk = (l: Line) =>
      l.event === 'route' && l.topic === 'shared' && l.type === 'ROUTE_EVENT_TYPE_UPDATED' && JSON.stringify(l.brokers) === JSON.stringify([PY]);
    await Promise.all([
      pyClient.waitFor('removal of go-only', removed, 5_000, since),
      pyClient.waitFor('shared without the Go broker', shrunk, 5_000, since),
    ]);
    const elapsed = Date.now() - killedAt;
    t.diagnostic(`Go broker gone from the Python client's view ${elapsed} ms after SIGKILL (grace ${GRACE_MS} ms)`);
    // How fast is measured by bench/failover (the design's 3 s); here only that the push arrives.
    if (pyClient.find((l) => l.event === 'route' && l.topic === 'made-go' && l.type === 'ROUTE_EVENT_TYPE_REMOVED', since) === undefined) {
      await pyClient.waitFor('removal of made-go', (l) => l.event === 'route' && l.topic === 'made-go' && l.type === 'ROUTE_EVENT_TYPE_REMOVED', 2_000, since);
    }
    // The SDK agrees, version for version.
    const shared = pythonView(pyClient).get('shared')!;
    await eventually('SDK view after the kill', () => {
      assert.equal(sdk.cached('go-only'), undefined);
      assert.equal(sdk.cached('made-go'), undefined);
      assert.equal(sdk.cached('shared')?.version, shared.version);
    });
    assert.ok(sdkEvents.some((e) => e.topic === 'go-only' && e.version === undefined), 'the SDK listener got no removal of go-only');
    await assert.rejects(call(s.routes, 'getRoute', { topic: 'go-only' }), (e: ServiceError) => e.code === status.NOT_FOUND);
    // The Python broker is untouched.
    assert.equal(pyBroker!.exited, false);
    assert.deepEqual((await call(s.routes, 'getRoute', { topic: 'py-only' })).route!.brokers.map((b) => b.brokerName), [PY]);
  });
});

