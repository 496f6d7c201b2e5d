/**
 * The remoting door on the wire (a minimal remoting client; the real RocketMQ peers are in
 * rocketmq.test.ts): unknown codes, malformed frames, both route JSON forms, zone mode, RocketMQ's
 * registration rules (CRC, increments, data versions, connection-bound liveness and its fencing), the
 * KV config, ACL credentials and the door's own limits.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import net from 'node:net';
import { crc32 } from 'node:zlib';
import { call, rejectsWith, startServer } from '../helpers/server';
import { RemotingTestClient } from '../helpers/rocketmq';
import { report, topic } from '../fixtures/reports';
import { parseLenientJson } from '../../src/server/network/remoting/json';
import { RequestCode as C, ResponseCode as R } from '../../src/server/network/remoting/codes';
import { signature } from '../../src/server/network/remoting/acl';
import { encodeFrame, FrameSplitter, SerializeType } from '../../src/server/network/remoting/frame';
import { brokerKey } from '../../src/server/metadata/types';

/** A REGISTER_BROKER request of broker `name` at `addr` with these topics and DataVersion counter. */
function register(client: RemotingTestClient, name: string, addr: string, topics: string[], counter: number, over: { crc?: number; cluster?: string; id?: number } = {}) {
  const table = Object.fromEntries(topics.map((t) => [t, { topicName: t, readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false, attributes: {} }]));
  const body = Buffer.from(JSON.stringify({ filterServerList: [], topicConfigSerializeWrapper: { dataVersion: { counter, stateVersion: 0, timestamp: 1000 + counter }, topicConfigTable: table } }));
  return client.request(C.REGISTER_BROKER, {
    brokerName: name,
    brokerAddr: addr,
    clusterName: over.cluster ?? 'rc',
    haServerAddr: addr.replace(/:\d+$/, ':10912'),
    brokerId: String(over.id ?? 0),
    compressed: 'false',
    bodyCrc32: String(over.crc ?? crc32(body) & 0x7fffffff),
  }, { body });
}

const json = (b: Buffer | undefined) => parseLenientJson(b!.toString()) as Record<string, unknown>;

describe('remoting door', () => {
  test('unknown codes answer REQUEST_CODE_NOT_SUPPORTED; a malformed frame closes only its own connection', async () => {
    const s = await startServer();
    const a = new RemotingTestClient(s.port);
    const b = new RemotingTestClient(s.port);
    try {
      const res = await a.request(9999);
      assert.equal(res.code, R.REQUEST_CODE_NOT_SUPPORTED);
      assert.equal((await a.request(C.GET_BROKER_CLUSTER_INFO)).code, R.SUCCESS, 'the connection stays usable');
      b.raw(Buffer.from([0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0])); // serialize type 7 does not exist
      await b.closed;
      assert.equal((await a.request(C.GET_BROKER_CLUSTER_INFO, {}, { serializeType: SerializeType.ROCKETMQ })).code, R.SUCCESS);
      await rejectsWith(call(s.routes, 'getRoute', { topic: 'none' }), status.NOT_FOUND); // gRPC on the same port is unaffected
    } finally {
      a.close();
      b.close();
      await s.stop();
    }
  });

  test('routes: fastjson form for old clients, standard JSON from 4.9.4 or on request; zone mode keeps the client\'s zone', async () => {
    const s = await startServer();
    const c = new RemotingTestClient(s.port);
    try {
      await call(s.brokers, 'registerBroker', report('b1', 0, ['t'], { zone: 'z1' }));
      await call(s.brokers, 'registerBroker', report('b2', 0, ['t'], { zone: 'z2' }));
      const old = await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't' }, { version: 121 });
      assert.match(old.body!.toString(), /"brokerAddrs":\{0:"10\.0\.0\.1:/);
      const std = await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't' }, { version: 401 });
      assert.match(std.body!.toString(), /"brokerAddrs":\{"0":"10\.0\.0\.1:/);
      const asked = await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't', acceptStandardJsonOnly: 'true' }, { version: 121 });
      assert.equal(asked.body!.toString(), std.body!.toString());
      const zoned = json((await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't', __ZONE_MODE: 'true', __ZONE_NAME: 'z2' })).body);
      assert.deepEqual((zoned.brokerDatas as { brokerName: string }[]).map((b) => b.brokerName), ['b2']);
      assert.deepEqual((zoned.queueDatas as { brokerName: string }[]).map((b) => b.brokerName), ['b2']);
      const missing = await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 'nope' });
      assert.equal(missing.code, R.TOPIC_NOT_EXIST);
      assert.equal((await c.request(C.GET_ROUTEINFO_BY_TOPIC, {})).code, R.INVALID_PARAMETER, 'a missing header field is named');
      const members = json((await c.request(C.GET_BROKER_MEMBER_GROUP, { clusterName: 'c1', brokerName: 'b1' })).body);
      assert.deepEqual(members, { brokerMemberGroup: { brokerAddrs: { 0: '10.0.0.1:10913' }, brokerName: 'b1', cluster: 'c1' } });
      assert.deepEqual(json((await c.request(C.GET_TOPICS_BY_CLUSTER, { cluster: 'c1' })).body), { topicList: ['t'] });
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('registration follows RocketMQ: CRC checked, increments add, same version renews, connection close removes, fenced by connection', async () => {
    const s = await startServer();
    const c = new RemotingTestClient(s.port);
    try {
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', ['a', 'b'], 1, { crc: 12345 })).remark, 'crc32 not match');
      const single = await register(c, 'rb', '127.0.0.1:30001', ['a'], 1);
      assert.equal(single.code, R.SYSTEM_ERROR, 'a single-topic registration before the full one is refused');
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', ['a', 'b'], 1)).code, R.SUCCESS);
      assert.equal((await call(s.routes, 'getRoute', { topic: 'a' })).route!.brokers[0]!.brokerName, 'rb');
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', ['c'], 2)).code, R.SUCCESS, 'an increment');
      const topics = await call(s.admin, 'listTopics', { cluster: 'rc', namePrefix: '', pageSize: 0, pageToken: '' });
      assert.deepEqual(topics.topics.map((t) => t.name), ['a', 'b', 'c'], 'an increment adds and removes nothing');
      const dv = (counter: number) => Buffer.from(JSON.stringify({ counter, stateVersion: 0, timestamp: 1000 + counter }));
      const q = (counter: number) => c.request(C.QUERY_DATA_VERSION, { clusterName: 'rc', brokerName: 'rb', brokerAddr: '127.0.0.1:30001', brokerId: '0' }, { body: dv(counter) });
      assert.equal((await q(2)).extFields.changed, 'false');
      assert.equal((await q(3)).extFields.changed, 'true');
      assert.equal((await c.request(C.DELETE_TOPIC_IN_NAMESRV, { topic: 'c' })).code, R.SUCCESS);
      await rejectsWith(call(s.routes, 'getRoute', { topic: 'c' }), status.NOT_FOUND);

      // A follower is told its leader's addresses.
      const follower = await register(c, 'rb', '127.0.0.1:30002', ['a', 'b'], 1, { id: 1 });
      assert.deepEqual(follower.extFields, { haServerAddr: '127.0.0.1:10912', masterAddr: '127.0.0.1:30001' });

      // The same broker re-registers on a new connection; the old connection closing removes nothing.
      const c2 = new RemotingTestClient(s.port);
      assert.equal((await register(c2, 'rb', '127.0.0.1:30001', ['a', 'b'], 5)).code, R.SUCCESS);
      c.close();
      await c.closed;
      const after = await call(s.admin, 'listBrokers', { cluster: 'rc', pageSize: 0, pageToken: '' });
      assert.deepEqual(after.brokers.map((b) => b.brokerId), [0], 'the leader (new connection) stays; the follower (closed connection) left');
      const removed = new Promise<void>((resolve) => s.server.core.brokers.once('left', () => resolve()));
      c2.close();
      await removed;
      assert.equal(s.server.core.brokers.size, 0);

      // Taken over through gRPC (same identity and address, a newer registration): the remoting
      // connection closing later is a late goodbye of an older session and removes nothing.
      const c3 = new RemotingTestClient(s.port);
      assert.equal((await register(c3, 'rb', '127.0.0.1:30001', ['a', 'b'], 1)).code, R.SUCCESS);
      await call(s.brokers, 'registerBroker', report('rb', 0, ['a'], { cluster: 'rc', addresses: ['127.0.0.1:30001'], leaseTtlMs: 60_000 }));
      const handled = new Promise((resolve) => s.server.remoting.once('closed', resolve));
      c3.close();
      await handled;
      assert.deepEqual((await call(s.admin, 'listBrokers', { cluster: 'rc', pageSize: 0, pageToken: '' })).brokers.map((b) => b.softwareVersion), ['5.3.1']);
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('a re-registration with the DataVersion held only renews, on its own connection; elsewhere it registers in full', async () => {
    const s = await startServer();
    const a = new RemotingTestClient(s.port);
    const b = new RemotingTestClient(s.port);
    const topics = async () => (await call(s.admin, 'listTopics', { cluster: 'rc', namePrefix: '', pageSize: 0, pageToken: '' })).topics.map((t) => t.name);
    try {
      assert.equal((await register(a, 'rb', '127.0.0.1:30001', ['a', 'b'], 4)).code, R.SUCCESS);
      // Same DataVersion, other topics, same connection: RocketMQ ignores the topics; so do we.
      assert.equal((await register(a, 'rb', '127.0.0.1:30001', ['x', 'y'], 4)).code, R.SUCCESS);
      assert.deepEqual(await topics(), ['a', 'b']);
      // A body that cannot be decoded past its DataVersion is still refused when that version is not the one held.
      const broken = Buffer.from('{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":5,"stateVersion":0,"timestamp":1005},"topicConfigTable":{');
      const res = await a.request(C.REGISTER_BROKER, { brokerName: 'rb', brokerAddr: '127.0.0.1:30001', clusterName: 'rc', haServerAddr: '', brokerId: '0', compressed: 'false', bodyCrc32: '0' }, { body: broken });
      assert.equal(res.code, R.INVALID_PARAMETER);
      // The same DataVersion on another connection is a new registration: its topics are taken (added, as ever).
      assert.equal((await register(b, 'rb', '127.0.0.1:30001', ['x', 'y'], 4)).code, R.SUCCESS);
      assert.deepEqual(await topics(), ['a', 'b', 'x', 'y']);
    } finally {
      a.close();
      b.close();
      await s.stop();
    }
  });

  test('large re-registrations (frame buffers reused): unchanged ones renew and change nothing, changed ones apply in full', async () => {
    const s = await startServer();
    const c = new RemotingTestClient(s.port);
    const names = (prefix: string) => Array.from({ length: 2_000 }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
    const held = () => [...s.server.core.topics.namesOf(brokerKey('rc', 'rb', 0))].sort();
    try {
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', names('a'), 1)).code, R.SUCCESS);
      assert.deepEqual(held(), names('a'));
      const rev = s.server.core.routes.revision;
      const seen = s.server.core.brokers.liveness(brokerKey('rc', 'rb', 0))!.lastSeenAtMs;
      // The same DataVersion with the same (large) body, three times: a renewal each time, nothing rebuilt.
      for (let i = 0; i < 3; i++) assert.equal((await register(c, 'rb', '127.0.0.1:30001', names('a'), 1)).code, R.SUCCESS);
      assert.equal(s.server.core.routes.revision, rev, 'no route was rebuilt');
      assert.ok(s.server.core.brokers.liveness(brokerKey('rc', 'rb', 0))!.lastSeenAtMs >= seen);
      assert.deepEqual(held(), names('a'));
      // A new DataVersion whose body has the same size and start: decoded from its own bytes (not a reused buffer's).
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', names('b'), 2)).code, R.SUCCESS);
      assert.deepEqual(held(), [...names('a'), ...names('b')].sort(), 'the new topics are added to those held');
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', names('c'), 2)).code, R.SUCCESS);
      assert.deepEqual(held(), [...names('a'), ...names('b')].sort(), 'the version held again: other topics are ignored, as RocketMQ does');
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', names('c'), 3, { crc: 12345 })).remark, 'crc32 not match', 'the CRC covers every byte of a large body');
      assert.equal((await call(s.routes, 'getRoute', { topic: 'b-01999' })).route!.brokers[0]!.readQueueNums, 4);
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('route answers are reused, yet follow every change behind them, also those that keep the route version', async () => {
    const s = await startServer();
    const c = new RemotingTestClient(s.port);
    const ask = async (version = 513) => (await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't' }, { version })).body!.toString();
    try {
      await call(s.brokers, 'registerBroker', report('b1', 0, ['t'], { leaseTtlMs: 60_000 }));
      const first = await ask();
      assert.equal(await ask(), first, 'the same answer twice');
      const versionBefore = (await call(s.routes, 'getRoute', { topic: 't' })).route!.version;

      // A topic attribute the gRPC route does not carry (RocketMQ's sys flag): same route version, new answer.
      await call(s.brokers, 'registerBroker', report('b1', 0, [topic('t', { attributes: { 'rocketmq.topicSysFlag': '1' } })], { leaseTtlMs: 60_000, dataVersion: { epoch: 'boot-b1-0', counter: 2 } }));
      assert.equal((await call(s.routes, 'getRoute', { topic: 't' })).route!.version, versionBefore, 'the gRPC route did not change');
      assert.match(await ask(), /"topicSysFlag":1/);

      // The KV config's order-topic entry is part of the answer.
      assert.equal((await c.request(C.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 't', value: 'b1:8' })).code, R.SUCCESS);
      assert.match(await ask(), /"orderTopicConf":"b1:8"/);
      assert.equal((await c.request(C.DELETE_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 't' })).code, R.SUCCESS);
      assert.doesNotMatch(await ask(), /orderTopicConf/);

      // enableActingMaster of a remoting broker holding the topic, re-registered with the same data version.
      const r = new RemotingTestClient(s.port);
      const body = Buffer.from(JSON.stringify({ filterServerList: [], topicConfigSerializeWrapper: { dataVersion: { counter: 1, stateVersion: 0, timestamp: 1 }, topicConfigTable: { t: { topicName: 't', readQueueNums: 8, writeQueueNums: 8, perm: 6 }, u: { topicName: 'u', readQueueNums: 8, writeQueueNums: 8, perm: 6 } } } }));
      const reg = (acting: boolean) =>
        r.request(C.REGISTER_BROKER, { brokerName: 'b2', brokerAddr: '127.0.0.1:30002', clusterName: 'c1', haServerAddr: '', brokerId: '0', enableActingMaster: String(acting), compressed: 'false', bodyCrc32: '0' }, { body });
      assert.equal((await reg(false)).code, R.SUCCESS);
      assert.match(await ask(), /"brokerName":"b2","cluster":"c1","enableActingMaster":false/);
      assert.equal((await reg(true)).code, R.SUCCESS);
      assert.match(await ask(), /"brokerName":"b2","cluster":"c1","enableActingMaster":true/);

      // Both JSON forms are kept apart.
      assert.match(await ask(121), /"brokerAddrs":\{0:/);
      assert.match(await ask(), /"brokerAddrs":\{"0":/);

      // The broker leaves: the topic's answer goes with it.
      r.close();
      await r.closed;
      await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'b1', brokerId: 0, epoch: 'boot-b1-0' });
      assert.equal((await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't' })).code, R.TOPIC_NOT_EXIST);
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('pipelined lookups of one reused answer: each gets its own opaque (any width, any sign) in a JSON header as RocketMQ writes it, and the same body', async () => {
    const s = await startServer();
    const c = new RemotingTestClient(s.port);
    const raw = net.connect({ host: '127.0.0.1', port: s.port });
    try {
      await call(s.brokers, 'registerBroker', report('b1', 0, ['t'], { leaseTtlMs: 60_000 }));
      const expected = (await c.request(C.GET_ROUTEINFO_BY_TOPIC, { topic: 't' })).body!;
      const opaques = [0, 1, 9, 10, 99, 123_456_789, 2_147_483_647, -1, -10, -2_147_483_648, 42, 42];
      const frames = opaques.map((opaque, i) =>
        encodeFrame({ code: C.GET_ROUTEINFO_BY_TOPIC, language: 'JAVA', version: 513, opaque, flag: 0, extFields: { topic: 't' }, serializeType: i % 2 ? SerializeType.ROCKETMQ : SerializeType.JSON }),
      );
      const splitter = new FrameSplitter(1 << 20);
      const got: Buffer[] = [];
      const all = new Promise<void>((resolve, reject) => {
        raw.on('data', (d: Buffer) => got.push(...splitter.push(d)) >= opaques.length && resolve());
        raw.once('close', () => reject(new Error(`connection closed after ${got.length} answers`)));
      });
      raw.write(Buffer.concat(frames));
      await all;
      assert.equal(got.length, opaques.length);
      for (const [i, f] of got.entries()) {
        const headerLength = f.readUInt32BE(0);
        assert.equal(headerLength >>> 24, SerializeType.JSON, 'answers are JSON whatever the request used');
        const header = f.subarray(4, 4 + headerLength).toString();
        assert.equal(header, `{"code":0,"flag":1,"language":"JAVA","opaque":${opaques[i]},"serializeTypeCurrentRPC":"JSON","version":0}`);
        assert.deepEqual(f.subarray(4 + headerLength), expected);
      }
    } finally {
      raw.destroy();
      c.close();
      await s.stop();
    }
  });

  test('KV config is served from memory; the ORDER_TOPIC_CONFIG table goes to registering brokers', async () => {
    const s = await startServer();
    const c = new RemotingTestClient(s.port);
    try {
      assert.equal((await c.request(C.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'o', value: 'rb:4' })).code, R.SUCCESS);
      assert.equal((await c.request(C.GET_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'o' })).extFields.value, 'rb:4');
      assert.deepEqual(json((await c.request(C.GET_KVLIST_BY_NAMESPACE, { namespace: 'ORDER_TOPIC_CONFIG' })).body), { table: { o: 'rb:4' } });
      assert.deepEqual(json((await register(c, 'rb', '127.0.0.1:30001', ['a', 'b'], 1)).body), { table: { o: 'rb:4' } });
      assert.equal((await c.request(C.DELETE_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'o' })).code, R.SUCCESS);
      assert.equal((await c.request(C.GET_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'o' })).code, R.QUERY_NOT_FOUND);
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('credentials: with tokens set, requests need RocketMQ ACL signatures made with the role\'s token', async () => {
    const s = await startServer({ adminToken: 'adm-secret', brokerToken: 'brk-secret' });
    const c = new RemotingTestClient(s.port);
    const signed = (fields: Record<string, string>, role: string, token: string) => {
      const withKey = { ...fields, AccessKey: role };
      return { ...withKey, Signature: signature({ extFields: withKey }, token) };
    };
    try {
      const unsigned = await c.request(C.WIPE_WRITE_PERM_OF_BROKER, { brokerName: 'x' });
      assert.equal(unsigned.code, R.NO_PERMISSION);
      assert.match(unsigned.remark!, /AccessKey "admin"/);
      const ok = await c.request(C.WIPE_WRITE_PERM_OF_BROKER, signed({ brokerName: 'x' }, 'admin', 'adm-secret'));
      assert.deepEqual([ok.code, ok.extFields.wipeTopicCount], [R.SUCCESS, '0']);
      assert.equal((await c.request(C.WIPE_WRITE_PERM_OF_BROKER, signed({ brokerName: 'x' }, 'admin', 'wrong'))).code, R.NO_PERMISSION);
      assert.equal((await c.request(C.WIPE_WRITE_PERM_OF_BROKER, signed({ brokerName: 'x' }, 'broker', 'brk-secret'))).code, R.NO_PERMISSION, 'the broker role may not write as admin');
      assert.equal((await register(c, 'rb', '127.0.0.1:30001', ['a', 'b'], 1)).code, R.NO_PERMISSION, 'brokers need the broker token');
      assert.equal((await c.request(C.GET_BROKER_CLUSTER_INFO)).code, R.SUCCESS, 'reads stay open without a client token');
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('limits: frame size, connections and per-peer rate', async () => {
    const s = await startServer({ remotingMaxFrameBytes: 65_536, remotingMaxConnections: 2, remotingPeerRequestsPerSecond: 1 });
    const clients = [new RemotingTestClient(s.port), new RemotingTestClient(s.port)];
    try {
      assert.equal((await clients[0]!.request(C.GET_BROKER_CLUSTER_INFO)).code, R.SUCCESS);
      assert.equal((await clients[1]!.request(C.GET_BROKER_CLUSTER_INFO)).code, R.SUCCESS);
      const third = new RemotingTestClient(s.port);
      third.raw(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]));
      await third.closed; // over --remoting-max-connections
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await clients[0]!.request(C.GET_BROKER_CLUSTER_INFO)).code);
      assert.ok(codes.includes(R.SYSTEM_BUSY), `the per-peer rate limit answers SYSTEM_BUSY (got ${codes.join(',')})`);
      clients[1]!.raw(Buffer.from([0, 2, 0, 0])); // announces a 128 KiB frame
      await clients[1]!.closed;
    } finally {
      for (const c of clients) c.close();
      await s.stop();
    }
  });
});
