/**
 * Request validators: for each checker a valid base request passes, a table of
 * mutations each fails with the exact field and a reason, and a seeded fuzz run shows that nothing but
 * InvalidArgument ever escapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgument } from '../../src/server/metadata/errors';
import * as v from '../../src/server/network/validate';
import {
  ClientRole,
  CommandOutcome,
  ConsumeMode,
  FilterType,
  MessageType,
  Permission,
  type ClientInstance,
  type GroupConfig,
  type TopicConfig,
} from '../../generated/nameserver/v1/common';
import type {
  CommandResult,
  HeartbeatRequest,
  RegisterBrokerRequest,
  ReportDeltaRequest,
  ReportInstancesRequest,
  ReportPositionsRequest,
  UnregisterBrokerRequest,
} from '../../generated/nameserver/v1/broker_registry';
import type { GetRouteRequest, GetRoutesRequest, WatchRoutesRequest } from '../../generated/nameserver/v1/route_query';
import type {
  CheckReplicasRequest,
  CreateGroupRequest,
  CreateTopicRequest,
  DeleteGroupRequest,
  DeleteTopicRequest,
  GetConsumerLagRequest,
  GetGroupRequest,
  GetTopicRequest,
  ListBrokersRequest,
  ListGroupsRequest,
  ListInstancesRequest,
  ListRouteVersionsRequest,
  ListTopicsRequest,
  SetBrokerPermissionRequest,
  UpdateGroupRequest,
  UpdateTopicRequest,
  WatchClusterRequest,
} from '../../generated/nameserver/v1/admin';

const NAME_RULE = 'must match ^[%|a-zA-Z0-9_-]+$';

// ---------------------------------------------------------------------------------------------------
// Table machinery

/** [label, mutation of a fresh base request, expected field, expected reason substring]. */
type Bad<T> = readonly [label: string, mutate: (r: T) => void, field: string, reason: string];
/** [label, mutation that keeps the request valid]. */
type Good<T> = readonly [label: string, mutate: (r: T) => void];

/** Escape hatch for writing values of the wrong type into a typed request. */
function loose(o: unknown): Record<string, unknown> {
  return o as Record<string, unknown>;
}

function expectInvalid(fn: () => void, field: string, reason: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgument, `expected InvalidArgument, got ${String(err)}`);
    assert.equal(err.field, field, `field (reason: ${err.reason})`);
    assert.ok(err.reason.includes(reason), `reason ${JSON.stringify(err.reason)} lacks ${JSON.stringify(reason)}`);
    return true;
  });
}

function table<T>(title: string, base: () => T, check: (r: T) => void, bad: readonly Bad<T>[], good: readonly Good<T>[] = []): void {
  test(`${title}: valid base passes`, () => {
    check(base());
  });
  for (const [label, mutate] of good) {
    test(`${title}: accepts ${label}`, () => {
      const r = base();
      mutate(r);
      check(r);
    });
  }
  for (const [label, mutate, field, reason] of bad) {
    test(`${title}: ${label} -> ${field}`, () => {
      const r = base();
      mutate(r);
      expectInvalid(() => check(r), field, reason);
    });
  }
}

function many<T>(n: number, item: T): T[] {
  return new Array<T>(n).fill(item);
}

// ---------------------------------------------------------------------------------------------------
// Valid bases

function topicCfg(name = 'TopicA'): TopicConfig {
  return {
    name,
    readQueueNums: 8,
    writeQueueNums: 8,
    permission: Permission.PERMISSION_READ_WRITE,
    messageType: MessageType.MESSAGE_TYPE_NORMAL,
    attributes: { '+retention.hours': '72' },
  };
}

function groupCfg(name = 'GroupA'): GroupConfig {
  return {
    name,
    consumeMode: ConsumeMode.CONSUME_MODE_CLUSTERING,
    subscriptions: [{ topic: 'TopicA', expression: 'TagA || TagB', filterType: FilterType.FILTER_TYPE_TAG }],
    retryPolicy: { maxAttempts: 16, initialBackoffMs: 1000, maxBackoffMs: 60_000 },
    consumeOrderly: false,
    attributes: {},
  };
}

function instance(role = ClientRole.CLIENT_ROLE_PRODUCER, group = ''): ClientInstance {
  return { clientId: '10.0.0.9@12345#orders-svc', role, group, topics: ['TopicA', 'TopicB'], host: '10.0.0.9', language: 'JAVA', version: '5.0.7' };
}

const register = (): RegisterBrokerRequest => ({
  cluster: 'DefaultCluster',
  brokerName: 'broker-a',
  brokerId: 0,
  addresses: ['10.0.0.1:10911', 'broker-a.svc.cluster.local:10911', '[::1]:10911'],
  zone: 'az-1',
  softwareVersion: '5.3.1',
  dataVersion: { epoch: 'boot-7f3a', counter: 7 },
  topics: [topicCfg('TopicA'), topicCfg('%RETRY%GroupA')],
  groups: [groupCfg('GroupA'), groupCfg('GroupB')],
  permission: Permission.PERMISSION_READ_WRITE,
  chunkIndex: 0,
  chunkCount: 0,
  leaseTtlMs: 30_000,
});

const heartbeat = (): HeartbeatRequest => ({
  cluster: 'DefaultCluster', brokerName: 'broker-a', brokerId: 1, dataVersion: { epoch: 'boot-7f3a', counter: 7 },
});

const unregister = (): UnregisterBrokerRequest => ({ cluster: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0, epoch: 'boot-7f3a' });

const delta = (): ReportDeltaRequest => ({
  cluster: 'DefaultCluster',
  brokerName: 'broker-a',
  brokerId: 0,
  baseCounter: 7,
  dataVersion: { epoch: 'boot-7f3a', counter: 8 },
  upsertTopics: [topicCfg('TopicB')],
  deleteTopics: ['TopicC'],
  upsertGroups: [groupCfg('GroupB')],
  deleteGroups: ['GroupC'],
});

const positions = (): ReportPositionsRequest => ({
  cluster: 'DefaultCluster',
  brokerName: 'broker-a',
  brokerId: 0,
  queuePositions: [{ topic: 'TopicA', queueId: 0, minOffset: 0, maxOffset: 100 }, { topic: 'TopicA', queueId: 1, minOffset: 5, maxOffset: 5 }],
  consumerPositions: [{ group: 'GroupA', topic: 'TopicA', queueId: 3, committedOffset: 50 }],
  full: true,
});

const instances = (): ReportInstancesRequest => ({
  cluster: 'DefaultCluster',
  brokerName: 'broker-a',
  brokerId: 0,
  instances: [instance(), instance(ClientRole.CLIENT_ROLE_CONSUMER, 'GroupA')],
  full: true,
});

const commandResult = (): CommandResult => ({ commandId: 'cmd-1', outcome: CommandOutcome.COMMAND_OUTCOME_OK, message: '' });
const getRoute = (): GetRouteRequest => ({ topic: 'TopicA' });
const getRoutes = (): GetRoutesRequest => ({ topics: ['TopicA', 'TopicB', 'TopicA'] });
const watchRoutes = (): WatchRoutesRequest => ({
  subscribe: [{ topic: 'TopicA', version: '' }, { topic: 'TopicB', version: 'v-9c1e' }],
  unsubscribe: ['TopicC'],
  allTopics: false,
});
const listBrokers = (): ListBrokersRequest => ({ cluster: 'DefaultCluster', pageSize: 100, pageToken: 'opaque-token' });
const listTopics = (): ListTopicsRequest => ({ cluster: '', namePrefix: 'Order', pageSize: 0, pageToken: '' });
const getTopic = (): GetTopicRequest => ({ topic: 'TopicA' });
const listGroups = (): ListGroupsRequest => ({ cluster: '', namePrefix: '', pageSize: 1000, pageToken: '' });
const getGroup = (): GetGroupRequest => ({ group: 'GroupA' });
const consumerLag = (): GetConsumerLagRequest => ({ group: 'GroupA', topic: 'TopicA' });
const listInstances = (): ListInstancesRequest => ({ group: 'GroupA', topic: '', role: ClientRole.CLIENT_ROLE_CONSUMER, pageSize: 50, pageToken: '' });
const watchCluster = (): WatchClusterRequest => ({ cluster: 'DefaultCluster' });
const routeVersions = (): ListRouteVersionsRequest => ({ topics: [], pageSize: 10_000, pageToken: '' });
const checkReplicas = (): CheckReplicasRequest => ({ nameservers: ['ns-1:9876', '10.0.0.2:9876'], topics: ['TopicA'] });
const createTopic = (): CreateTopicRequest => ({ topic: topicCfg(), cluster: 'DefaultCluster', brokerNames: [] });
const updateTopic = (): UpdateTopicRequest => ({ topic: topicCfg(), cluster: '', brokerNames: [] });
const deleteTopic = (): DeleteTopicRequest => ({ topic: 'TopicA', cluster: '', brokerNames: ['broker-a'] });
const createGroup = (): CreateGroupRequest => ({ group: groupCfg(), cluster: '', brokerNames: ['broker-a', 'broker-b'] });
const updateGroup = (): UpdateGroupRequest => ({ group: groupCfg(), cluster: 'DefaultCluster', brokerNames: [] });
const deleteGroup = (): DeleteGroupRequest => ({ group: 'GroupA', cluster: '', brokerNames: [] });
const setPermission = (): SetBrokerPermissionRequest => ({ cluster: 'DefaultCluster', brokerName: 'broker-a', permission: Permission.PERMISSION_READ });

// ---------------------------------------------------------------------------------------------------
// Building blocks

test('checkTopicName and checkGroupName', () => {
  v.checkTopicName('x'.repeat(127), 'topic');
  v.checkTopicName('%RETRY%my|group_1-a', 'topic');
  v.checkGroupName('g'.repeat(120), 'group');
  expectInvalid(() => v.checkTopicName('', 'topics[3]'), 'topics[3]', 'is required');
  expectInvalid(() => v.checkTopicName('x'.repeat(128), 'topic'), 'topic', 'must be at most 127 characters, got 128');
  expectInvalid(() => v.checkTopicName('a b', 'topic'), 'topic', `${NAME_RULE}, got "a b"`);
  expectInvalid(() => v.checkTopicName('tópico', 'topic'), 'topic', NAME_RULE);
  expectInvalid(() => v.checkTopicName('a.b', 'topic'), 'topic', NAME_RULE);
  expectInvalid(() => v.checkGroupName('g'.repeat(121), 'group'), 'group', 'must be at most 120 characters, got 121');
  expectInvalid(() => v.checkGroupName(7 as never, 'group'), 'group', 'must be a string');
});

test('echoed input is truncated and escaped', () => {
  const cases: [string, string][] = [
    [`a b${'x'.repeat(120)}`, '... (123 characters)'],
    ['a\u0000b', '"a\\u0000b"'],
    ['a\ud800b', '"a\\ud800b"'],
    ['a\u202eb', '"a\\u202eb"'],
    ['ab\n', '"ab\\u000a"'],
    ['"q"\\', '"\\"q\\"\\\\"'],
    ['\ud800'.repeat(100), '... (100 characters)'],
  ];
  for (const [input, expected] of cases) {
    assert.throws(() => v.checkTopicName(input, 'topic'), (err: unknown) => {
      assert.ok(err instanceof InvalidArgument);
      assert.ok(err.reason.includes(expected), err.reason);
      assert.ok(err.reason.length < 160, err.reason);
      assert.match(err.message, /^[\x20-\x7e]*$/);
      return true;
    });
  }
  // An attribute key of 100,000 characters is echoed as 64.
  const cfg = topicCfg();
  cfg.attributes = { ['k'.repeat(100_000)]: 'v' };
  assert.throws(() => v.checkTopicConfig(cfg, 'topic'), (err: unknown) => {
    assert.ok(err instanceof InvalidArgument);
    assert.equal(err.field, 'topic.attributes');
    assert.ok(err.reason.length < 200, err.reason);
    return true;
  });
});

table('checkAddress', () => 'localhost:9876', (a) => v.checkAddress(a, 'addresses[0]'), [], []);
test('checkAddress accepts hostnames, IPv4 and bracketed IPv6', () => {
  for (const a of [
    'localhost:1', '10.0.0.1:65535', '0.0.0.0:9876', 'broker-a.svc.cluster.local:10911', 'my_host:80', 'a:1',
    '[::1]:10911', '[::]:1', '[2001:db8::1]:80', '[1:2:3:4:5:6:7:8]:9876', '[::ffff:10.0.0.1]:9876', '[fe80::]:1', '[1::]:2',
  ]) {
    v.checkAddress(a, 'addresses[0]');
  }
});
test('checkAddress rejects anything but host:port', () => {
  const cases: [unknown, string][] = [
    ['', 'is required'],
    ['localhost', 'must be host:port'],
    ['localhost:', 'port 1..65535'],
    ['localhost:0', 'port 1..65535'],
    ['localhost:65536', 'port 1..65535'],
    ['localhost:08080', 'port 1..65535'],
    ['localhost:80a', 'port 1..65535'],
    ['localhost:-1', 'port 1..65535'],
    [':80', 'hostname'],
    ['::1:10911', 'IPv6 hosts in brackets'],
    ['2001:db8::1:80', 'IPv6 hosts in brackets'],
    ['[::1]', 'must be host:port'],
    ['[::1]10911', 'must be host:port'],
    ['[::1', 'must be host:port'],
    ['[zz::1]:1', 'IPv6'],
    ['[1:2:3:4:5:6:7:8:9]:1', 'IPv6'],
    ['[1::2::3]:1', 'IPv6'],
    ['[:::]:1', 'IPv6'],
    ['[1.2.3.4::]:1', 'IPv6'],
    ['[localhost]:1', 'IPv6'],
    ['256.1.1.1:80', 'hostname'],
    ['1.2.3:80', 'hostname'],
    ['01.2.3.4:80', 'hostname'],
    ['-bad.example:80', 'hostname'],
    ['a..b:80', 'hostname'],
    ['bad host:80', 'hostname'],
    ['hé:80', 'hostname'],
    [`${'a'.repeat(300)}:80`, 'at most 261 characters'],
    [`${'a'.repeat(64)}.com:80`, 'hostname'],
    [42, 'must be a string'],
  ];
  for (const [input, reason] of cases) expectInvalid(() => v.checkAddress(input as string, 'addresses[2]'), 'addresses[2]', reason);
});

test('checkTopicConfig and checkGroupConfig take limits', () => {
  const cfg = topicCfg();
  cfg.readQueueNums = 2048;
  expectInvalid(() => v.checkTopicConfig(cfg, 'topic'), 'topic.read_queue_nums', 'must be 1..1024, got 2048');
  v.checkTopicConfig(cfg, 'topic', { maxQueueNums: 4096 });
  expectInvalid(() => v.checkTopicConfig(topicCfg(), 'topic', { maxQueueNums: 4 }), 'topic.read_queue_nums', 'must be 1..4, got 8');
  expectInvalid(() => v.checkTopicConfig(undefined, 'topic'), 'topic', 'is required');
  const g = groupCfg();
  g.attributes = { a: '1', b: '2' };
  expectInvalid(() => v.checkGroupConfig(g, 'group', { maxAttributes: 1 }), 'group.attributes', 'at most 1 entries, got 2');
  v.checkGroupConfig(g, 'group');
});

// ---------------------------------------------------------------------------------------------------
// BrokerRegistry

const tooManyAttributes = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));

table('checkRegisterBrokerRequest', register, (r) => v.checkRegisterBrokerRequest(r), [
  ['empty cluster', (r) => { r.cluster = ''; }, 'cluster', 'is required'],
  ['bad cluster', (r) => { r.cluster = 'my cluster'; }, 'cluster', NAME_RULE],
  ['cluster of the wrong type', (r) => { loose(r).cluster = 5; }, 'cluster', 'must be a string'],
  ['empty broker_name', (r) => { r.brokerName = ''; }, 'broker_name', 'is required'],
  ['long broker_name', (r) => { r.brokerName = 'b'.repeat(128); }, 'broker_name', 'must be at most 127 characters, got 128'],
  ['negative broker_id', (r) => { r.brokerId = -1; }, 'broker_id', 'must not be negative, got -1'],
  ['fractional broker_id', (r) => { r.brokerId = 1.5; }, 'broker_id', 'must be an integer, got 1.5'],
  ['no addresses', (r) => { r.addresses = []; }, 'addresses', 'must have at least one host:port'],
  ['17 addresses', (r) => { r.addresses = many(17, 'h:1'); }, 'addresses', 'must have at most 16 entries, got 17'],
  ['addresses not a list', (r) => { loose(r).addresses = 'h:1'; }, 'addresses', 'must be a list'],
  ['bad address', (r) => { r.addresses[1] = 'nope'; }, 'addresses[1]', 'must be host:port'],
  ['bad port', (r) => { r.addresses[2] = '[::1]:0'; }, 'addresses[2]', 'port 1..65535'],
  ['long zone', (r) => { r.zone = 'z'.repeat(257); }, 'zone', 'must be at most 256 characters'],
  ['broken software_version', (r) => { r.softwareVersion = '5\udc00'; }, 'software_version', 'valid UTF-8'],
  ['no data_version', (r) => { r.dataVersion = undefined; }, 'data_version', 'is required'],
  ['data_version not a message', (r) => { loose(r).dataVersion = 'v1'; }, 'data_version', 'must be a message'],
  ['empty epoch', (r) => { r.dataVersion!.epoch = ''; }, 'data_version.epoch', 'is required'],
  ['long epoch', (r) => { r.dataVersion!.epoch = 'e'.repeat(129); }, 'data_version.epoch', 'must be at most 128 characters, got 129'],
  ['epoch with a lone surrogate', (r) => { r.dataVersion!.epoch = 'e\ud800'; }, 'data_version.epoch', 'valid UTF-8'],
  ['negative counter', (r) => { r.dataVersion!.counter = -1; }, 'data_version.counter', 'must not be negative'],
  ['unsafe counter', (r) => { r.dataVersion!.counter = 2 ** 60; }, 'data_version.counter', 'must be at most 9007199254740991'],
  ['topics not a list', (r) => { loose(r).topics = {}; }, 'topics', 'must be a list'],
  ['missing topic', (r) => { loose(r.topics)[1] = undefined; }, 'topics[1]', 'is required'],
  ['bad topic name', (r) => { r.topics[1]!.name = 'bad topic'; }, 'topics[1].name', NAME_RULE],
  ['zero read queues', (r) => { r.topics[0]!.readQueueNums = 0; }, 'topics[0].read_queue_nums', 'must be 1..1024, got 0'],
  ['too many write queues', (r) => { r.topics[0]!.writeQueueNums = 1025; }, 'topics[0].write_queue_nums', 'must be 1..1024, got 1025'],
  ['queue count as a string', (r) => { loose(r.topics[0]).writeQueueNums = '8'; }, 'topics[0].write_queue_nums', 'must be 1..1024, got "8"'],
  ['undefined topic permission', (r) => { r.topics[0]!.permission = 9 as Permission; }, 'topics[0].permission', 'must be one of PERMISSION_UNSPECIFIED, PERMISSION_NONE'],
  ['UNRECOGNIZED topic permission', (r) => { r.topics[0]!.permission = Permission.UNRECOGNIZED; }, 'topics[0].permission', 'got -1'],
  ['undefined message_type', (r) => { r.topics[1]!.messageType = 7 as MessageType; }, 'topics[1].message_type', 'got 7'],
  ['65 attributes', (r) => { r.topics[0]!.attributes = tooManyAttributes; }, 'topics[0].attributes', 'must have at most 64 entries, got 65'],
  ['empty attribute key', (r) => { r.topics[0]!.attributes = { '': 'x' }; }, 'topics[0].attributes', 'keys must be non-empty'],
  ['257-byte attribute key', (r) => { r.topics[0]!.attributes = { ['é'.repeat(129)]: 'x' }; }, 'topics[0].attributes', 'must be at most 256 bytes, got 258'],
  ['257-byte attribute value', (r) => { r.topics[0]!.attributes = { k: 'x'.repeat(257) }; }, 'topics[0].attributes', 'value of "k" must be at most 256 bytes, got 257'],
  ['non-string attribute value', (r) => { r.topics[0]!.attributes = { k: 1 as never }; }, 'topics[0].attributes', 'value of "k" must be a string'],
  ['attributes not a map', (r) => { loose(r.topics[0]).attributes = ['a']; }, 'topics[0].attributes', 'must be a map'],
  ['duplicate topic', (r) => { r.topics.push(topicCfg('%RETRY%GroupA')); }, 'topics[2].name', 'duplicates topics[1].name'],
  ['long group name', (r) => { r.groups[0]!.name = 'g'.repeat(121); }, 'groups[0].name', 'must be at most 120 characters, got 121'],
  ['duplicate group', (r) => { r.groups[1]!.name = 'GroupA'; }, 'groups[1].name', 'duplicates groups[0].name'],
  ['undefined consume_mode', (r) => { r.groups[0]!.consumeMode = 3 as ConsumeMode; }, 'groups[0].consume_mode', 'must be one of CONSUME_MODE_UNSPECIFIED'],
  ['missing subscription', (r) => { loose(r.groups[1]!.subscriptions)[0] = null; }, 'groups[1].subscriptions[0]', 'is required'],
  ['bad subscription topic', (r) => { r.groups[0]!.subscriptions[0]!.topic = ''; }, 'groups[0].subscriptions[0].topic', 'is required'],
  ['undefined filter_type', (r) => { r.groups[0]!.subscriptions[0]!.filterType = 5 as FilterType; }, 'groups[0].subscriptions[0].filter_type', 'got 5'],
  ['negative max_attempts', (r) => { r.groups[0]!.retryPolicy!.maxAttempts = -1; }, 'groups[0].retry_policy.max_attempts', 'must not be negative'],
  ['group attribute value too long', (r) => { r.groups[1]!.attributes = { k: 'x'.repeat(300) }; }, 'groups[1].attributes', 'at most 256 bytes'],
  ['undefined broker permission', (r) => { r.permission = 5 as Permission; }, 'permission', 'got 5'],
  ['chunk_count above 100000', (r) => { r.chunkCount = 100_001; }, 'chunk_count', 'must be at most 100000, got 100001'],
  ['chunk_index = chunk_count', (r) => { r.chunkCount = 3; r.chunkIndex = 3; }, 'chunk_index', 'must be less than chunk_count (3), got 3'],
  ['negative lease', (r) => { r.leaseTtlMs = -5; }, 'lease_ttl_ms', 'must not be negative'],
], [
  ['UNSPECIFIED permissions (they mean the default)', (r) => { r.permission = 0; r.topics[0]!.permission = 0; r.topics[0]!.messageType = 0; r.groups[0]!.consumeMode = 0; }],
  ['chunk_index ignored when chunk_count <= 1', (r) => { r.chunkCount = 1; r.chunkIndex = 9; }],
  ['the last chunk', (r) => { r.chunkCount = 100_000; r.chunkIndex = 99_999; }],
  ['no topics or groups', (r) => { r.topics = []; r.groups = []; }],
  ['a group without retry policy or subscriptions', (r) => { r.groups[0]!.retryPolicy = undefined; r.groups[0]!.subscriptions = []; }],
  ['64 attributes of 256 bytes', (r) => { r.topics[0]!.attributes = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`${i}`.padEnd(256, 'k'), 'v'.repeat(256)])); }],
  ['16 addresses', (r) => { r.addresses = many(16, 'h:1'); }],
]);

test('checkRegisterBrokerRequest: a missing request is InvalidArgument', () => {
  expectInvalid(() => v.checkRegisterBrokerRequest(undefined as never), 'request', 'is required');
  expectInvalid(() => v.checkRegisterBrokerRequest([] as never), 'request', 'must be a message');
});

test('checkRegisterBrokerRequest: options', () => {
  const big = register();
  big.topics[0]!.readQueueNums = 4096;
  expectInvalid(() => v.checkRegisterBrokerRequest(big), 'topics[0].read_queue_nums', 'must be 1..1024, got 4096');
  v.checkRegisterBrokerRequest(big, { limits: { maxQueueNums: 4096 } });
  v.checkRegisterBrokerRequest(big, { limits: { maxQueueNums: 4096, maxAddresses: undefined } });
});

test('checkRegisterBrokerRequest: 100,000 topics in one request', () => {
  const r = register();
  r.topics = Array.from({ length: 100_000 }, (_, i) => topicCfg(`Topic-${i}`));
  v.checkRegisterBrokerRequest(r);
  r.topics[99_999] = topicCfg('Topic-5');
  expectInvalid(() => v.checkRegisterBrokerRequest(r), 'topics[99999].name', 'duplicates topics[5].name');
});

table('checkHeartbeatRequest', heartbeat, (r) => v.checkHeartbeatRequest(r), [
  ['empty cluster', (r) => { r.cluster = ''; }, 'cluster', 'is required'],
  ['bad broker_name', (r) => { r.brokerName = 'broker/a'; }, 'broker_name', NAME_RULE],
  ['no data_version', (r) => { r.dataVersion = undefined; }, 'data_version', 'is required'],
  ['empty epoch', (r) => { r.dataVersion = { epoch: '', counter: 1 }; }, 'data_version.epoch', 'is required'],
  ['fractional counter', (r) => { r.dataVersion!.counter = 0.5; }, 'data_version.counter', 'must be an integer'],
]);

table('checkUnregisterBrokerRequest', unregister, (r) => v.checkUnregisterBrokerRequest(r), [
  ['empty cluster', (r) => { r.cluster = ''; }, 'cluster', 'is required'],
  ['empty broker_name', (r) => { r.brokerName = ''; }, 'broker_name', 'is required'],
  ['huge broker_id', (r) => { r.brokerId = 2 ** 32; }, 'broker_id', 'must be at most 4294967295'],
  ['long epoch', (r) => { r.epoch = 'e'.repeat(129); }, 'epoch', 'must be at most 128 characters'],
], [
  ['an empty epoch', (r) => { r.epoch = ''; }],
]);

table('checkReportDeltaRequest', delta, (r) => v.checkReportDeltaRequest(r), [
  ['empty cluster', (r) => { r.cluster = ''; }, 'cluster', 'is required'],
  ['negative base_counter', (r) => { r.baseCounter = -1; }, 'base_counter', 'must not be negative'],
  ['no data_version', (r) => { r.dataVersion = undefined; }, 'data_version', 'is required'],
  ['empty epoch', (r) => { r.dataVersion!.epoch = ''; }, 'data_version.epoch', 'is required'],
  ['counter = base_counter', (r) => { r.dataVersion!.counter = 7; }, 'data_version.counter', 'must be greater than base_counter (7), got 7'],
  ['counter < base_counter', (r) => { r.dataVersion!.counter = 3; }, 'data_version.counter', 'must be greater than base_counter (7), got 3'],
  ['bad upsert topic', (r) => { r.upsertTopics[0]!.readQueueNums = 0; }, 'upsert_topics[0].read_queue_nums', 'must be 1..1024, got 0'],
  ['duplicate upsert topic', (r) => { r.upsertTopics.push(topicCfg('TopicX'), topicCfg('TopicB')); }, 'upsert_topics[2].name', 'duplicates upsert_topics[0].name'],
  ['bad delete topic', (r) => { r.deleteTopics = ['TopicD', 'bad topic']; }, 'delete_topics[1]', NAME_RULE],
  ['duplicate delete topic', (r) => { r.deleteTopics = ['TopicC', 'TopicC']; }, 'delete_topics[1]', 'duplicates delete_topics[0]'],
  ['topic upserted and deleted', (r) => { r.deleteTopics = ['TopicC', 'TopicB']; }, 'delete_topics[1]', 'is also upserted in upsert_topics[0].name'],
  ['bad upsert group', (r) => { r.upsertGroups[0]!.name = ''; }, 'upsert_groups[0].name', 'is required'],
  ['duplicate upsert group', (r) => { r.upsertGroups.push(groupCfg('GroupB')); }, 'upsert_groups[1].name', 'duplicates upsert_groups[0].name'],
  ['long delete group', (r) => { r.deleteGroups = ['g'.repeat(121)]; }, 'delete_groups[0]', 'must be at most 120 characters'],
  ['group upserted and deleted', (r) => { r.deleteGroups = ['GroupB']; }, 'delete_groups[0]', 'is also upserted in upsert_groups[0].name'],
  ['delete_topics not a list', (r) => { loose(r).deleteTopics = 'TopicC'; }, 'delete_topics', 'must be a list'],
], [
  ['an empty delta', (r) => { r.upsertTopics = []; r.deleteTopics = []; r.upsertGroups = []; r.deleteGroups = []; }],
  ['a topic and a group of the same name deleted', (r) => { r.deleteTopics = ['Same']; r.deleteGroups = ['Same']; }],
]);

test('checkReportDeltaRequest: options', () => {
  const r = delta();
  r.upsertTopics[0]!.writeQueueNums = 2000;
  expectInvalid(() => v.checkReportDeltaRequest(r), 'upsert_topics[0].write_queue_nums', 'must be 1..1024, got 2000');
  v.checkReportDeltaRequest(r, { limits: { maxQueueNums: 2000 } });
});

table('checkReportPositionsRequest', positions, (r) => v.checkReportPositionsRequest(r), [
  ['empty broker_name', (r) => { r.brokerName = ''; }, 'broker_name', 'is required'],
  ['missing queue position', (r) => { loose(r.queuePositions)[1] = undefined; }, 'queue_positions[1]', 'is required'],
  ['bad queue topic', (r) => { r.queuePositions[0]!.topic = ''; }, 'queue_positions[0].topic', 'is required'],
  ['queue_id 65536', (r) => { r.queuePositions[1]!.queueId = 65_536; }, 'queue_positions[1].queue_id', 'must be at most 65535, got 65536'],
  ['negative min_offset', (r) => { r.queuePositions[0]!.minOffset = -1; }, 'queue_positions[0].min_offset', 'must not be negative, got -1'],
  ['negative max_offset', (r) => { r.queuePositions[0]!.maxOffset = -1; }, 'queue_positions[0].max_offset', 'must not be negative, got -1'],
  ['min_offset > max_offset', (r) => { r.queuePositions[0]!.minOffset = 200; }, 'queue_positions[0].min_offset', 'must not exceed max_offset (100), got 200'],
  ['NaN max_offset', (r) => { r.queuePositions[0]!.maxOffset = NaN; }, 'queue_positions[0].max_offset', 'must be an integer, got NaN'],
  ['bad consumer group', (r) => { r.consumerPositions[0]!.group = 'bad group'; }, 'consumer_positions[0].group', NAME_RULE],
  ['bad consumer topic', (r) => { r.consumerPositions[0]!.topic = 't'.repeat(128); }, 'consumer_positions[0].topic', 'at most 127'],
  ['consumer queue_id 70000', (r) => { r.consumerPositions[0]!.queueId = 70_000; }, 'consumer_positions[0].queue_id', 'must be at most 65535'],
  ['negative committed_offset', (r) => { r.consumerPositions[0]!.committedOffset = -3; }, 'consumer_positions[0].committed_offset', 'must not be negative, got -3'],
], [
  ['no positions', (r) => { r.queuePositions = []; r.consumerPositions = []; }],
  ['queue_id 65535', (r) => { r.queuePositions[0]!.queueId = 65_535; }],
]);

table('checkReportInstancesRequest', instances, (r) => v.checkReportInstancesRequest(r), [
  ['empty cluster', (r) => { r.cluster = ''; }, 'cluster', 'is required'],
  ['10001 instances', (r) => { r.instances = many(10_001, instance()); }, 'instances', 'must have at most 10000 entries, got 10001'],
  ['missing instance', (r) => { loose(r.instances)[0] = undefined; }, 'instances[0]', 'is required'],
  ['empty client_id', (r) => { r.instances[0]!.clientId = ''; }, 'instances[0].client_id', 'is required'],
  ['long client_id', (r) => { r.instances[1]!.clientId = 'c'.repeat(256); }, 'instances[1].client_id', 'must be at most 255 characters, got 256'],
  ['UNSPECIFIED role', (r) => { r.instances[0]!.role = ClientRole.CLIENT_ROLE_UNSPECIFIED; }, 'instances[0].role', 'must be one of CLIENT_ROLE_PRODUCER, CLIENT_ROLE_CONSUMER, got CLIENT_ROLE_UNSPECIFIED'],
  ['undefined role', (r) => { r.instances[0]!.role = 3 as ClientRole; }, 'instances[0].role', 'got 3'],
  ['bad group', (r) => { r.instances[1]!.group = 'bad group'; }, 'instances[1].group', NAME_RULE],
  ['bad topic', (r) => { r.instances[0]!.topics[1] = ''; }, 'instances[0].topics[1]', 'is required'],
  ['long host', (r) => { r.instances[0]!.host = 'h'.repeat(257); }, 'instances[0].host', 'at most 256'],
], [
  ['10000 instances', (r) => { r.instances = many(10_000, instance()); }],
  ['a consumer without group', (r) => { r.instances[1]!.group = ''; }],
]);

test('checkReportInstancesRequest: options', () => {
  expectInvalid(() => v.checkReportInstancesRequest(instances(), { limits: { maxInstancesPerReport: 1 } }), 'instances', 'must have at most 1 entries, got 2');
});

table('checkCommandResult', commandResult, (r) => v.checkCommandResult(r), [
  ['empty command_id', (r) => { r.commandId = ''; }, 'command_id', 'is required'],
  ['long command_id', (r) => { r.commandId = 'c'.repeat(129); }, 'command_id', 'at most 128'],
  ['undefined outcome', (r) => { r.outcome = 99 as CommandOutcome; }, 'outcome', 'got 99'],
  ['long message', (r) => { r.message = 'm'.repeat(4097); }, 'message', 'at most 4096'],
], [
  ['UNSPECIFIED outcome (treated as failed)', (r) => { r.outcome = CommandOutcome.COMMAND_OUTCOME_UNSPECIFIED; }],
]);

// ---------------------------------------------------------------------------------------------------
// RouteQuery

table('checkGetRouteRequest', getRoute, (r) => v.checkGetRouteRequest(r), [
  ['empty topic', (r) => { r.topic = ''; }, 'topic', 'is required'],
  ['bad topic', (r) => { r.topic = 'a/b'; }, 'topic', NAME_RULE],
  ['long topic', (r) => { r.topic = 't'.repeat(128); }, 'topic', 'at most 127'],
]);

table('checkGetRoutesRequest', getRoutes, (r) => v.checkGetRoutesRequest(r), [
  ['no topics', (r) => { r.topics = []; }, 'topics', 'must have 1..1000 entries, got 0'],
  ['1001 topics', (r) => { r.topics = many(1001, 'TopicA'); }, 'topics', 'must have 1..1000 entries, got 1001'],
  ['bad topic', (r) => { r.topics[2] = 'bad topic'; }, 'topics[2]', NAME_RULE],
], [
  ['1000 topics', (r) => { r.topics = many(1000, 'TopicA'); }],
]);

table('checkWatchRoutesRequest', watchRoutes, (r) => v.checkWatchRoutesRequest(r), [
  ['missing subscription', (r) => { loose(r.subscribe)[0] = undefined; }, 'subscribe[0]', 'is required'],
  ['bad subscribe topic', (r) => { r.subscribe[1]!.topic = ''; }, 'subscribe[1].topic', 'is required'],
  ['long version', (r) => { r.subscribe[0]!.version = 'v'.repeat(129); }, 'subscribe[0].version', 'must be at most 128 characters'],
  ['bad unsubscribe', (r) => { r.unsubscribe = ['TopicC', 'bad topic']; }, 'unsubscribe[1]', NAME_RULE],
  ['10001 subscriptions', (r) => { r.subscribe = many(10_001, { topic: 'TopicA', version: '' }); }, 'subscribe', 'must have at most 10000 entries, got 10001'],
  ['10001 entries together', (r) => { r.subscribe = many(5000, { topic: 'TopicA', version: '' }); r.unsubscribe = many(5001, 'TopicB'); }, 'unsubscribe', 'at most 10000 entries together with subscribe, got 10001'],
], [
  ['an all_topics message', (r) => { r.subscribe = []; r.unsubscribe = []; r.allTopics = true; }],
  ['10000 entries together', (r) => { r.subscribe = many(5000, { topic: 'TopicA', version: '' }); r.unsubscribe = many(5000, 'TopicB'); }],
]);

// ---------------------------------------------------------------------------------------------------
// Admin

table('checkListBrokersRequest', listBrokers, (r) => v.checkListBrokersRequest(r), [
  ['bad cluster', (r) => { r.cluster = 'bad cluster'; }, 'cluster', NAME_RULE],
  ['page_size 1001', (r) => { r.pageSize = 1001; }, 'page_size', 'must be at most 1000, got 1001'],
  ['long page_token', (r) => { r.pageToken = 't'.repeat(1025); }, 'page_token', 'must be at most 1024 characters'],
], [
  ['an empty request', (r) => { r.cluster = ''; r.pageSize = 0; r.pageToken = ''; }],
]);

table('checkListTopicsRequest', listTopics, (r) => v.checkListTopicsRequest(r), [
  ['bad cluster', (r) => { r.cluster = '-'.repeat(128); }, 'cluster', 'at most 127'],
  ['bad name_prefix', (r) => { r.namePrefix = 'Order '; }, 'name_prefix', NAME_RULE],
  ['long name_prefix', (r) => { r.namePrefix = 'p'.repeat(128); }, 'name_prefix', 'at most 127'],
  ['negative page_size', (r) => { r.pageSize = -1; }, 'page_size', 'must not be negative'],
], [
  ['a %RETRY% prefix', (r) => { r.namePrefix = '%RETRY%'; }],
]);

table('checkGetTopicRequest', getTopic, (r) => v.checkGetTopicRequest(r), [
  ['empty topic', (r) => { r.topic = ''; }, 'topic', 'is required'],
  ['bad topic', (r) => { r.topic = 'a\u0000'; }, 'topic', NAME_RULE],
]);

table('checkListGroupsRequest', listGroups, (r) => v.checkListGroupsRequest(r), [
  ['long name_prefix', (r) => { r.namePrefix = 'p'.repeat(121); }, 'name_prefix', 'at most 120'],
  ['page_size 1001', (r) => { r.pageSize = 1001; }, 'page_size', 'must be at most 1000'],
  ['page_token of the wrong type', (r) => { loose(r).pageToken = 12; }, 'page_token', 'must be a string'],
]);

table('checkGetGroupRequest', getGroup, (r) => v.checkGetGroupRequest(r), [
  ['empty group', (r) => { r.group = ''; }, 'group', 'is required'],
  ['long group', (r) => { r.group = 'g'.repeat(121); }, 'group', 'at most 120'],
]);

table('checkGetConsumerLagRequest', consumerLag, (r) => v.checkGetConsumerLagRequest(r), [
  ['empty group', (r) => { r.group = ''; }, 'group', 'is required'],
  ['bad topic', (r) => { r.topic = 'bad topic'; }, 'topic', NAME_RULE],
], [
  ['no topic (all of them)', (r) => { r.topic = ''; }],
]);

table('checkListInstancesRequest', listInstances, (r) => v.checkListInstancesRequest(r), [
  ['bad group', (r) => { r.group = 'bad group'; }, 'group', NAME_RULE],
  ['bad topic', (r) => { r.topic = 'bad topic'; }, 'topic', NAME_RULE],
  ['undefined role', (r) => { r.role = 7 as ClientRole; }, 'role', 'must be one of CLIENT_ROLE_UNSPECIFIED, CLIENT_ROLE_PRODUCER, CLIENT_ROLE_CONSUMER, got 7'],
  ['page_size 2000', (r) => { r.pageSize = 2000; }, 'page_size', 'must be at most 1000, got 2000'],
], [
  ['UNSPECIFIED role (both)', (r) => { r.role = ClientRole.CLIENT_ROLE_UNSPECIFIED; r.group = ''; }],
]);

table('checkWatchClusterRequest', watchCluster, (r) => v.checkWatchClusterRequest(r), [
  ['bad cluster', (r) => { r.cluster = 'bad cluster'; }, 'cluster', NAME_RULE],
], [
  ['every cluster', (r) => { r.cluster = ''; }],
]);

table('checkListRouteVersionsRequest', routeVersions, (r) => v.checkListRouteVersionsRequest(r), [
  ['page_size 10001', (r) => { r.pageSize = 10_001; }, 'page_size', 'must be at most 10000, got 10001'],
  ['bad topic', (r) => { r.topics = ['']; }, 'topics[0]', 'is required'],
  ['10001 topics', (r) => { r.topics = many(10_001, 'TopicA'); }, 'topics', 'must have at most 10000 entries, got 10001'],
  ['long page_token', (r) => { r.pageToken = 't'.repeat(1025); }, 'page_token', 'at most 1024'],
], [
  ['named topics', (r) => { r.topics = ['TopicA', 'TopicB']; }],
]);

table('checkCheckReplicasRequest', checkReplicas, (r) => v.checkCheckReplicasRequest(r), [
  ['bad nameserver', (r) => { r.nameservers[1] = 'nope'; }, 'nameservers[1]', 'must be host:port'],
  ['17 nameservers', (r) => { r.nameservers = many(17, 'ns:9876'); }, 'nameservers', 'must have at most 16 entries, got 17'],
  ['bad topic', (r) => { r.topics = ['bad topic']; }, 'topics[0]', NAME_RULE],
  ['10001 topics', (r) => { r.topics = many(10_001, 'TopicA'); }, 'topics', 'must have at most 10000 entries, got 10001'],
], [
  ['the configured peers and all topics', (r) => { r.nameservers = []; r.topics = []; }],
]);

table('checkCreateTopicRequest', createTopic, (r) => v.checkCreateTopicRequest(r), [
  ['no topic', (r) => { r.topic = undefined; }, 'topic', 'is required'],
  ['bad topic name', (r) => { r.topic!.name = 'bad topic'; }, 'topic.name', NAME_RULE],
  ['zero read queues', (r) => { r.topic!.readQueueNums = 0; }, 'topic.read_queue_nums', 'must be 1..1024, got 0'],
  ['bad attributes', (r) => { r.topic!.attributes = { '': '' }; }, 'topic.attributes', 'keys must be non-empty'],
  ['no target', (r) => { r.cluster = ''; }, 'cluster', 'is required unless broker_names is given'],
  ['both targets', (r) => { r.brokerNames = ['broker-a']; }, 'cluster', 'must be empty when broker_names is given'],
  ['bad cluster', (r) => { r.cluster = 'bad cluster'; }, 'cluster', NAME_RULE],
  ['bad broker name', (r) => { r.cluster = ''; r.brokerNames = ['broker-a', '']; }, 'broker_names[1]', 'is required'],
], [
  ['broker_names instead of cluster', (r) => { r.cluster = ''; r.brokerNames = ['broker-a', 'broker-b']; }],
]);

table('checkUpdateTopicRequest', updateTopic, (r) => v.checkUpdateTopicRequest(r), [
  ['no topic', (r) => { r.topic = undefined; }, 'topic', 'is required'],
  ['too many queues', (r) => { r.topic!.writeQueueNums = 1025; }, 'topic.write_queue_nums', 'must be 1..1024, got 1025'],
  ['bad cluster', (r) => { r.cluster = 'a b'; }, 'cluster', NAME_RULE],
  ['bad broker name', (r) => { r.brokerNames = ['b'.repeat(128)]; }, 'broker_names[0]', 'at most 127'],
], [
  ['both restrictions', (r) => { r.cluster = 'DefaultCluster'; r.brokerNames = ['broker-a']; }],
]);

table('checkDeleteTopicRequest', deleteTopic, (r) => v.checkDeleteTopicRequest(r), [
  ['empty topic', (r) => { r.topic = ''; }, 'topic', 'is required'],
  ['bad broker name', (r) => { r.brokerNames = ['bad name']; }, 'broker_names[0]', NAME_RULE],
  ['bad cluster', (r) => { r.cluster = 'bad cluster'; }, 'cluster', NAME_RULE],
], [
  ['no restriction', (r) => { r.brokerNames = []; }],
]);

table('checkCreateGroupRequest', createGroup, (r) => v.checkCreateGroupRequest(r), [
  ['no group', (r) => { r.group = undefined; }, 'group', 'is required'],
  ['empty group name', (r) => { r.group!.name = ''; }, 'group.name', 'is required'],
  ['bad subscription', (r) => { r.group!.subscriptions[0]!.topic = 'bad topic'; }, 'group.subscriptions[0].topic', NAME_RULE],
  ['no target', (r) => { r.brokerNames = []; }, 'cluster', 'is required unless broker_names is given'],
  ['both targets', (r) => { r.cluster = 'DefaultCluster'; }, 'cluster', 'must be empty when broker_names is given'],
  ['bad broker name', (r) => { r.brokerNames[1] = 'b c'; }, 'broker_names[1]', NAME_RULE],
], [
  ['cluster instead of broker_names', (r) => { r.cluster = 'DefaultCluster'; r.brokerNames = []; }],
]);

table('checkUpdateGroupRequest', updateGroup, (r) => v.checkUpdateGroupRequest(r), [
  ['no group', (r) => { r.group = undefined; }, 'group', 'is required'],
  ['undefined consume_mode', (r) => { r.group!.consumeMode = 9 as ConsumeMode; }, 'group.consume_mode', 'got 9'],
  ['bad retry policy', (r) => { loose(r.group!.retryPolicy).initialBackoffMs = 'soon'; }, 'group.retry_policy.initial_backoff_ms', 'must be an integer, got "soon"'],
], [
  ['no restriction', (r) => { r.cluster = ''; }],
]);

table('checkDeleteGroupRequest', deleteGroup, (r) => v.checkDeleteGroupRequest(r), [
  ['bad group', (r) => { r.group = 'bad group'; }, 'group', NAME_RULE],
  ['bad cluster', (r) => { r.cluster = 'bad cluster'; }, 'cluster', NAME_RULE],
  ['broker_names not a list', (r) => { loose(r).brokerNames = 'broker-a'; }, 'broker_names', 'must be a list'],
]);

table('checkSetBrokerPermissionRequest', setPermission, (r) => v.checkSetBrokerPermissionRequest(r), [
  ['empty cluster', (r) => { r.cluster = ''; }, 'cluster', 'is required'],
  ['empty broker_name', (r) => { r.brokerName = ''; }, 'broker_name', 'is required'],
  ['UNSPECIFIED permission', (r) => { r.permission = Permission.PERMISSION_UNSPECIFIED; }, 'permission', 'must be one of PERMISSION_NONE, PERMISSION_READ, PERMISSION_WRITE, PERMISSION_READ_WRITE, got PERMISSION_UNSPECIFIED'],
  ['undefined permission', (r) => { r.permission = 9 as Permission; }, 'permission', 'got 9'],
  ['UNRECOGNIZED permission', (r) => { r.permission = Permission.UNRECOGNIZED; }, 'permission', 'got -1'],
  ['permission as a string', (r) => { loose(r).permission = 'PERMISSION_READ'; }, 'permission', 'got "PERMISSION_READ"'],
], [
  ['PERMISSION_READ_WRITE', (r) => { r.permission = Permission.PERMISSION_READ_WRITE; }],
  ['PERMISSION_NONE', (r) => { r.permission = Permission.PERMISSION_NONE; }],
]);

// ---------------------------------------------------------------------------------------------------
// Every checker at once: purity and fuzzing

/** Each checker with a valid base request of its own type. */
const CHECKERS: readonly (readonly [string, (r: never) => void, () => unknown])[] = [
  ['RegisterBroker', v.checkRegisterBrokerRequest, register],
  ['Heartbeat', v.checkHeartbeatRequest, heartbeat],
  ['UnregisterBroker', v.checkUnregisterBrokerRequest, unregister],
  ['ReportDelta', v.checkReportDeltaRequest, delta],
  ['ReportPositions', v.checkReportPositionsRequest, positions],
  ['ReportInstances', v.checkReportInstancesRequest, instances],
  ['CommandResult', v.checkCommandResult, commandResult],
  ['GetRoute', v.checkGetRouteRequest, getRoute],
  ['GetRoutes', v.checkGetRoutesRequest, getRoutes],
  ['WatchRoutes', v.checkWatchRoutesRequest, watchRoutes],
  ['ListBrokers', v.checkListBrokersRequest, listBrokers],
  ['ListTopics', v.checkListTopicsRequest, listTopics],
  ['GetTopic', v.checkGetTopicRequest, getTopic],
  ['ListGroups', v.checkListGroupsRequest, listGroups],
  ['GetGroup', v.checkGetGroupRequest, getGroup],
  ['GetConsumerLag', v.checkGetConsumerLagRequest, consumerLag],
  ['ListInstances', v.checkListInstancesRequest, listInstances],
  ['CreateTopic', v.checkCreateTopicRequest, createTopic],
  ['UpdateTopic', v.checkUpdateTopicRequest, updateTopic],
  ['DeleteTopic', v.checkDeleteTopicRequest, deleteTopic],
  ['CreateGroup', v.checkCreateGroupRequest, createGroup],
  ['UpdateGroup', v.checkUpdateGroupRequest, updateGroup],
  ['DeleteGroup', v.checkDeleteGroupRequest, deleteGroup],
  ['SetBrokerPermission', v.checkSetBrokerPermissionRequest, setPermission],
  ['WatchCluster', v.checkWatchClusterRequest, watchCluster],
  ['ListRouteVersions', v.checkListRouteVersionsRequest, routeVersions],
  ['CheckReplicas', v.checkCheckReplicasRequest, checkReplicas],
];

/** Calls a checker with anything, with or without report options. */
function call(check: (r: never) => void, req: unknown, options?: v.ReportOptions): void {
  (check as (r: unknown, o?: v.ReportOptions) => void)(req, options);
}

test('every request type has a checker and its checker does not modify the request', () => {
  assert.equal(CHECKERS.length, 27);
  for (const [name, check, base] of CHECKERS) {
    const req = base();
    const before = JSON.stringify(req);
    call(check, req);
    assert.equal(JSON.stringify(req), before, name);
  }
});

/** mulberry32: a tiny deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: 5,000 random and mutated requests to every checker throw only InvalidArgument', (t) => {
  const rand = prng(0x5eed);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const randomString = (): string => {
    const alphabet = ['a', 'Z', '9', '%', '|', '_', '-', ':', '.', '[', ']', ' ', '\u0000', '\n', 'é', '\ud800', '\udc00', '😀', '\u202e', '/'];
    return Array.from({ length: int(int(2) ? 12 : 400) }, () => pick(alphabet)).join('');
  };
  const sparse = new Array(1_000_000);
  const garbage: (() => unknown)[] = [
    () => undefined, () => null, () => 0, () => -1, () => 1.5, () => NaN, () => Infinity, () => -Infinity,
    () => 2 ** 53, () => 2 ** 64, () => 65_536, () => 1025, () => -0, () => true, () => 10n, () => Symbol('s'),
    () => '', () => ' ', () => 'TopicA', () => 'a b', () => '[::1]:0', () => 'h:1', () => '8', () => randomString(),
    () => 'x'.repeat(int(3000)), () => '\ud800'.repeat(int(300)), () => 'é'.repeat(200),
    () => ({}), () => [], () => [undefined], () => [null, 'TopicA'], () => sparse, () => Object.create(null),
    () => many(20_000, 'TopicA'), () => many(20_000, topicCfg()), () => many(20, 'h:1'),
    () => Array.from({ length: 100 }, (_, i) => `${i}`), () => Object.fromEntries(Array.from({ length: 100 }, (_, i) => [i, 'v'])),
    () => ({ toString() { throw new Error('boom'); } }), () => () => 1, () => new Date(0), () => topicCfg(), () => groupCfg(),
    () => ({ epoch: randomString(), counter: int(10) }), () => instance(int(4) as ClientRole), () => ({ '': 'x' }),
  ];
  /** Every object/array reachable from `root`, with their keys. */
  const containers = (root: unknown): Record<string | number, unknown>[] => {
    const out: Record<string | number, unknown>[] = [];
    const walk = (x: unknown, depth: number): void => {
      if (x === null || typeof x !== 'object' || depth > 6 || out.length > 200) return;
      if (Array.isArray(x) && x.length > 50) return;
      out.push(x as Record<string, unknown>);
      for (const child of Object.values(x)) walk(child, depth + 1);
    };
    walk(root, 0);
    return out;
  };
  const mutate = (req: unknown): unknown => {
    if (rand() < 0.05) return pick(garbage)();
    for (let n = 1 + int(4); n > 0; n--) {
      const targets = containers(req);
      if (targets.length === 0) break;
      const target = pick(targets);
      const keys = Object.keys(target);
      if (Array.isArray(target) && rand() < 0.3) {
        target.push(pick(garbage)());
      } else if (keys.length > 0 && rand() < 0.1) {
        delete target[pick(keys)];
      } else if (keys.length > 0) {
        target[pick(keys)] = pick(garbage)();
      }
    }
    return req;
  };

  let passed = 0;
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    const [, , base] = pick(CHECKERS);
    // Mostly mutations of valid requests; now and then an untouched one, to keep the pass path hot.
    const req = rand() < 0.1 ? base() : mutate(base());
    const options: v.ReportOptions | undefined = pick([undefined, { identityOptional: true }, { limits: { maxQueueNums: 4 } }]);
    for (const [name, check] of CHECKERS) {
      try {
        call(check, req, options);
        passed++;
      } catch (err) {
        if (!(err instanceof InvalidArgument)) {
          assert.fail(`${name} threw ${String(err)} on request #${i}`);
        }
        rejected++;
        assert.ok(err.field.length > 0 && err.field.length <= 120, `${name}: field ${err.field}`);
        assert.ok(err.reason.length > 0 && err.reason.length <= 400, `${name}: reason of ${err.reason.length} characters`);
        assert.match(err.message, /^[\x20-\x7e]*$/, `${name}: non-printable in ${JSON.stringify(err.message)}`);
      }
    }
  }
  t.diagnostic(`${passed} checks passed, ${rejected} rejected`);
  assert.equal(passed + rejected, 5000 * CHECKERS.length);
  assert.ok(passed > 1000, `only ${passed} requests passed: the fuzzer no longer exercises the valid paths`);
  assert.ok(rejected > 10_000, `only ${rejected} requests were rejected`);
});
