/**
 * A strict reflection consumer on another stack (issue #12): test/interop/reflection_client.py, with
 * grpcio, grpcio-reflection and protobuf from PyPI (the venv .tools/venv) and NO generated stubs,
 * against a real NameServer. It builds a protobuf DescriptorPool from reflection alone and calls
 * GetRoute, Admin/ListBrokers and a WatchRoutes stream with messages made from that pool.
 *
 * What reflection serves must be what buf compiled (generated/descriptors.binpb): the same files by
 * the same names, with the same dependencies, services, methods and message types (protoc's
 * `<Field>Entry` map entries included), and fields by their .proto names. The answers must equal what
 * the TypeScript client gets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DescriptorProto, FileDescriptorSet, MethodDescriptorProto } from 'google-protobuf/google/protobuf/descriptor_pb';
import { Route } from '../../generated/nameserver/v1/route_query';
import { report, topic } from '../fixtures/reports';
import { call, startServer, type Started } from '../helpers/server';
import { ROOT, tool } from '../helpers/tools';
import { JsonLineProcess } from '../interop/json-lines';

const TOPIC = 'refl-orders';
const MISSING = 'refl-missing';
const BROKER = 'refl-broker';
const ADDRESS = '127.0.0.1:10931';

/** The broker's full report; `queues` changes the route (a new version) when it changes. */
function registration(counter: number, queues: number) {
  return report(BROKER, 0, [topic(TOPIC, { readQueueNums: queues, writeQueueNums: queues })], {
    addresses: [ADDRESS],
    dataVersion: { epoch: 'refl-boot-1', counter },
  });
}

interface ServiceView {
  service: string;
  file: string;
  dependencies: string[];
  methods: { name: string; input: string; output: string; client_streaming: boolean; server_streaming: boolean }[];
}

/** What a protoc-exact reflection service describes: read from the descriptor set buf compiled. */
function expectedFromDescriptorSet(): { services: ServiceView[]; files: Map<string, { package: string; messages: string[] }> } {
  const set = FileDescriptorSet.deserializeBinary(readFileSync(path.join(ROOT, 'generated/descriptors.binpb')));
  const services: ServiceView[] = [];
  const files = new Map<string, { package: string; messages: string[] }>();
  const strip = (typeName: string) => typeName.replace(/^\./, '');
  for (const file of set.getFileList()) {
    const pkg = file.getPackage() ?? '';
    const messages: string[] = [];
    const walk = (prefix: string, list: DescriptorProto[]) => {
      for (const m of list) {
        messages.push(`${prefix}.${m.getName()}`);
        walk(`${prefix}.${m.getName()}`, m.getNestedTypeList());
      }
    };
    walk(pkg, file.getMessageTypeList());
    files.set(file.getName()!, { package: pkg, messages });
    for (const svc of file.getServiceList()) {
      services.push({
        service: `${pkg}.${svc.getName()}`,
        file: file.getName()!,
        dependencies: file.getDependencyList(),
        methods: svc.getMethodList().map((m: MethodDescriptorProto) => ({
          name: m.getName()!,
          input: strip(m.getInputType()!),
          output: strip(m.getOutputType()!),
          client_streaming: m.getClientStreaming() ?? false,
          server_streaming: m.getServerStreaming() ?? false,
        })),
      });
    }
  }
  return { services, files };
}

describe('a strict Python reflection client (grpcio + grpcio-reflection + protobuf, no stubs)', () => {
  let s: Started;
  let client: JsonLineProcess;

  before(async () => {
    s = await startServer();
    await call(s.brokers, 'registerBroker', registration(1, 4));
    client = new JsonLineProcess('reflection_client.py', tool('python'), [
      '-u',
      path.join(ROOT, 'test/interop/reflection_client.py'),
      '--target',
      s.address,
      '--topic',
      TOPIC,
      '--topic',
      MISSING,
      '--cluster',
      'c1',
      '--watch-events',
      '2',
    ]);
  });

  after(async () => {
    await client?.stop('SIGTERM', 3_000);
    await s?.stop();
  });

  test('lists the services and resolves each one, with the files, methods and message types buf compiled', async () => {
    const expected = expectedFromDescriptorSet();
    const listed = await client.waitFor('the "services" line', (l) => l.event === 'services');
    assert.deepEqual(listed.services, expected.services.map((x) => x.service).sort());

    // Each service resolved by symbol: its file (by the name protoc gives it), the file's imports, methods.
    await client.waitFor('every "service" line', () => client.lines.filter((l) => l.event === 'service').length === expected.services.length);
    const seen = client.lines.filter((l) => l.event === 'service').map(({ event: _e, ...rest }) => rest as unknown as ServiceView);
    assert.deepEqual(
      seen.sort((a, b) => a.service.localeCompare(b.service)),
      [...expected.services].sort((a, b) => a.service.localeCompare(b.service)),
    );

    // Every file involved, resolved by name, with every message type (map entries as protoc names them).
    await client.waitFor('the first GetRoute answer (all "file" lines before it)', (l) => l.event === 'get_route');
    const files = new Map(client.lines.filter((l) => l.event === 'file').map((l) => [l.file as string, { package: l.package, messages: l.messages }]));
    assert.deepEqual(files, expected.files);
    assert.ok(
      (files.get('nameserver/v1/common.proto')?.messages as string[]).includes('nameserver.v1.TopicConfig.AttributesEntry'),
      'map<string,string> attributes has the entry type protoc generates (TopicConfig.AttributesEntry)',
    );
  });

  test('GetRoute, with a request made from the pool, answers what the TypeScript client gets', async () => {
    const viaTs = (await call(s.routes, 'getRoute', { topic: TOPIC })).route!;
    const got = await client.waitFor(`GetRoute of ${TOPIC}`, (l) => l.event === 'get_route' && l.topic === TOPIC);
    assert.equal(got.code, undefined, `GetRoute failed: ${JSON.stringify(got)}`);
    assert.equal(got.version, viaTs.version);
    assert.deepEqual(got.brokers, [BROKER]);
    // Same content: canonical proto3 JSON from protobuf's Python runtime and from ts-proto.
    assert.deepEqual(got.route, Route.toJSON(viaTs));
    const missing = await client.waitFor(`GetRoute of ${MISSING}`, (l) => l.event === 'get_route' && l.topic === MISSING);
    assert.equal(missing.code, 'NOT_FOUND');
  });

  test('Admin/ListBrokers includes the registered broker', async () => {
    const got = await client.waitFor('the ListBrokers answer', (l) => l.event === 'list_brokers');
    const { brokers } = await call(s.admin, 'listBrokers', { cluster: 'c1', pageSize: 0, pageToken: '' });
    assert.deepEqual(got.names, brokers.map((b) => b.brokerName));
    assert.ok((got.names as string[]).includes(BROKER));
    const py = (got.brokers as Record<string, unknown>[]).find((b) => b.brokerName === BROKER)!;
    const ts = brokers.find((b) => b.brokerName === BROKER)!;
    assert.deepEqual(
      [py.cluster, py.addresses, py.dataVersion, py.topicCount, py.registeredAtMs],
      // proto3 JSON writes 64-bit integers as strings.
      ['c1', [ADDRESS], { epoch: 'refl-boot-1', counter: '1' }, 1, String(ts.registeredAtMs)],
    );
  });

  test('a WatchRoutes stream (messages from the pool) delivers the route, then a change', async () => {
    const first = await client.waitFor('the first route event', (l) => l.event === 'route');
    const before = (await call(s.routes, 'getRoute', { topic: TOPIC })).route!;
    assert.deepEqual([first.topic, first.type, first.version], [TOPIC, 'ROUTE_EVENT_TYPE_UPDATED', before.version]);

    // A change: the broker reports 16 queues (a new full report, next counter).
    await call(s.brokers, 'registerBroker', registration(2, 16));
    const after = (await call(s.routes, 'getRoute', { topic: TOPIC })).route!;
    assert.notEqual(after.version, before.version);
    const second = await client.waitFor('the changed route', (l) => l.event === 'route' && l.version !== before.version);
    assert.deepEqual([second.topic, second.type, second.version], [TOPIC, 'ROUTE_EVENT_TYPE_UPDATED', after.version]);
    assert.deepEqual(second.route, Route.toJSON(after));
    assert.equal(((second.route as { brokers: { readQueueNums: number }[] }).brokers[0]!).readQueueNums, 16);

    // Two route events were asked for: the client ends the stream and exits cleanly.
    const done = await client.waitFor('"done"', (l) => l.event === 'done');
    assert.equal(done.route_events, 2);
    if (!client.exited) await once(client.child, 'exit');
    assert.equal(client.child.exitCode, 0, client.describe());
  });
});
