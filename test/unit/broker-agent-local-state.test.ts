/** The broker agent's local state (versions, deltas, chunked registration) and config equality: no network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumeMode, FilterType, MessageType, Permission } from '../../generated/nameserver/v1/common';
import { groupDifferences, sameTopicConfig, topicDifferences } from '../../src/broker-agent/config-equality';
import { LocalState, toGroupConfig, toTopicConfig } from '../../src/broker-agent/local-state';

const HEADER = { cluster: 'c1', brokerName: 'b1', brokerId: 0, addresses: ['10.0.0.1:10911'], zone: 'z1', softwareVersion: '1.0' };

describe('LocalState', () => {
  test('a random epoch per start; counter starts at 1 and moves only on real changes', () => {
    const a = new LocalState(HEADER, { topics: [toTopicConfig('t1')] });
    const b = new LocalState(HEADER);
    assert.notEqual(a.epoch, b.epoch);
    assert.match(a.epoch, /^[0-9a-f-]{36}$/);
    assert.equal(a.counter, 1);

    const c1 = a.upsertTopics([toTopicConfig('t2'), toTopicConfig('t1')]);
    assert.deepEqual([c1?.baseCounter, c1?.counter, c1?.upsertTopics.map((t) => t.name)], [1, 2, ['t2']], 'held t1 is skipped');
    assert.equal(a.upsertTopics([toTopicConfig('t2')]), undefined);
    assert.equal(a.deleteTopics(['missing']), undefined);
    assert.equal(a.counter, 2);

    const c2 = a.deleteTopics(['t1', 't1']);
    assert.deepEqual([c2?.baseCounter, c2?.counter, c2?.deleteTopics], [2, 3, ['t1']]);
    const c3 = a.upsertGroups([toGroupConfig('g'), toGroupConfig('g')]);
    assert.deepEqual(c3?.upsertGroups.map((g) => g.name), ['g'], 'a delta never names one group twice');
    assert.deepEqual(a.deleteGroups(['g'])?.deleteGroups, ['g']);
    assert.equal(a.counter, 5);
  });

  test('permission: UNSPECIFIED means READ_WRITE; a change bumps the counter', () => {
    const s = new LocalState(HEADER);
    assert.equal(s.permission, Permission.PERMISSION_READ_WRITE);
    assert.equal(s.setPermission(Permission.PERMISSION_UNSPECIFIED), false);
    assert.equal(s.setPermission(Permission.PERMISSION_READ), true);
    assert.equal(s.counter, 2);
    assert.equal(s.registration()[0]!.permission, Permission.PERMISSION_READ);
  });

  test('registration is chunked: same version on every chunk, indexes 0..n-1, every topic and group once', () => {
    const topics = Array.from({ length: 12 }, (_, i) => toTopicConfig(`t${i}`));
    const groups = Array.from({ length: 7 }, (_, i) => toGroupConfig(`g${i}`));
    const s = new LocalState(HEADER, { topics, groups }, 5, 'boot-1');
    const chunks = s.registration();
    assert.equal(chunks.length, 3);
    assert.deepEqual(chunks.map((c) => [c.chunkIndex, c.chunkCount, c.topics.length, c.groups.length]), [
      [0, 3, 5, 5],
      [1, 3, 5, 2],
      [2, 3, 2, 0],
    ]);
    for (const c of chunks) {
      assert.deepEqual(c.dataVersion, { epoch: 'boot-1', counter: 1 });
      assert.deepEqual([c.cluster, c.brokerName, c.brokerId, c.addresses, c.zone], ['c1', 'b1', 0, ['10.0.0.1:10911'], 'z1']);
    }
    assert.deepEqual(chunks.flatMap((c) => c.topics.map((t) => t.name)), topics.map((t) => t.name));
    assert.equal(s.registration(), chunks, 'built once per version');
    s.upsertTopics([toTopicConfig('t99')]);
    assert.notEqual(s.registration(), chunks);
    assert.equal(s.registration()[0]!.dataVersion!.counter, 2);
  });

  test('a small or empty broker registers in one chunk', () => {
    const chunks = new LocalState(HEADER).registration();
    assert.deepEqual(chunks.map((c) => [c.chunkIndex, c.chunkCount, c.topics.length]), [[0, 1, 0]]);
  });
});

describe('topic and group inputs', () => {
  test('a bare name gets 8/8 read-write queues', () => {
    assert.deepEqual(toTopicConfig('orders'), {
      name: 'orders',
      readQueueNums: 8,
      writeQueueNums: 8,
      permission: Permission.PERMISSION_READ_WRITE,
      messageType: MessageType.MESSAGE_TYPE_NORMAL,
      attributes: {},
    });
    assert.equal(toTopicConfig({ name: 'x', readQueueNums: 2 }).writeQueueNums, 8);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['topic name with a space', () => toTopicConfig('a b'), /invalid topic name/],
    ['topic name too long', () => toTopicConfig('x'.repeat(128)), /at most 127/],
    ['zero queues', () => toTopicConfig({ name: 'x', readQueueNums: 0 }), /readQueueNums/],
    ['too many queues', () => toTopicConfig({ name: 'x', writeQueueNums: 2000 }), /1\.\.1024/],
    ['group name with a slash', () => toGroupConfig('a/b'), /invalid group name/],
    ['group subscribing to a bad topic', () => toGroupConfig({ name: 'g', subscriptions: [{ topic: '', expression: '', filterType: 0 }] }), /invalid topic name/],
  ];
  for (const [name, f, re] of bad) test(`rejects ${name}`, () => assert.throws(f, re));
});

describe('config equality', () => {
  test('defaults and attribute order do not make a difference', () => {
    const a = toTopicConfig({ name: 't', permission: Permission.PERMISSION_UNSPECIFIED, messageType: MessageType.MESSAGE_TYPE_UNSPECIFIED, attributes: { x: '1', y: '2' } });
    const b = toTopicConfig({ name: 't', attributes: { y: '2', x: '1' } });
    assert.ok(sameTopicConfig(a, b));
    assert.deepEqual(topicDifferences(a, b), []);
  });

  test('differences name the proto field and both values', () => {
    const held = toTopicConfig('t');
    const asked = toTopicConfig({ name: 't', readQueueNums: 16, messageType: MessageType.MESSAGE_TYPE_FIFO });
    assert.deepEqual(topicDifferences(held, asked), ['read_queue_nums 8 → 16', 'message_type MESSAGE_TYPE_NORMAL → MESSAGE_TYPE_FIFO']);
  });

  test('groups: subscription order, empty expression and unspecified enums are normalised', () => {
    const a = toGroupConfig({
      name: 'g',
      subscriptions: [
        { topic: 'a', expression: '', filterType: FilterType.FILTER_TYPE_UNSPECIFIED },
        { topic: 'b', expression: 'TagA', filterType: FilterType.FILTER_TYPE_TAG },
      ],
    });
    const b = toGroupConfig({
      name: 'g',
      consumeMode: ConsumeMode.CONSUME_MODE_CLUSTERING,
      subscriptions: [
        { topic: 'b', expression: 'TagA', filterType: FilterType.FILTER_TYPE_TAG },
        { topic: 'a', expression: '*', filterType: FilterType.FILTER_TYPE_TAG },
      ],
      retryPolicy: { maxAttempts: 0, initialBackoffMs: 0, maxBackoffMs: 0 },
    });
    assert.deepEqual(groupDifferences(a, b), []);
    assert.deepEqual(groupDifferences(a, { ...b, consumeOrderly: true }), ['consume_orderly false → true']);
  });
});
