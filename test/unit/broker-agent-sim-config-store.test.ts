/** The simulated broker's durable configuration store and its traffic model: files in a temp dir, no network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClientRole, CommandOutcome, Permission } from '../../generated/nameserver/v1/common';
import { toGroupConfig, toTopicConfig } from '../../src/broker-agent/local-state';
import { CONFIG_FILE, ConfigStore } from '../../src/broker-sim/config-store';
import { TrafficModel } from '../../src/broker-sim/traffic';

const { COMMAND_OUTCOME_OK: OK, COMMAND_OUTCOME_ALREADY_EXISTS: EXISTS, COMMAND_OUTCOME_NOT_FOUND: NOT_FOUND, COMMAND_OUTCOME_FAILED: FAILED, COMMAND_OUTCOME_INVALID: INVALID } =
  CommandOutcome;

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'config-store-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const names = (s: ConfigStore) => s.topics().map((t) => t.name).sort();

describe('ConfigStore', () => {
  test('first start seeds the topics and writes the file; later starts ignore the seed', () =>
    withDir(async (dir) => {
      const a = await ConfigStore.open(path.join(dir, 'data'), { seedTopics: ['t1', 't2'] });
      assert.deepEqual(names(a), ['t1', 't2']);
      const doc = JSON.parse(await readFile(path.join(dir, 'data', CONFIG_FILE), 'utf8')) as Record<string, unknown>;
      assert.equal(doc.version, 1);
      assert.equal(doc.permission, 'PERMISSION_READ_WRITE');
      const b = await ConfigStore.open(path.join(dir, 'data'), { seedTopics: ['other'] });
      assert.deepEqual(names(b), ['t1', 't2']);
    }));

  test('topics: idempotent create, conflict naming the difference, update and delete of missing ones', () =>
    withDir(async (dir) => {
      const s = await ConfigStore.open(dir);
      assert.equal((await s.createTopic(toTopicConfig('orders'))).outcome, OK);
      assert.equal((await s.createTopic(toTopicConfig({ name: 'orders', permission: Permission.PERMISSION_UNSPECIFIED }))).outcome, OK, 'same meaning');
      const conflict = await s.createTopic(toTopicConfig({ name: 'orders', writeQueueNums: 2 }));
      assert.equal(conflict.outcome, EXISTS);
      assert.equal(conflict.message, 'topic orders exists with another configuration (held → asked): write_queue_nums 8 → 2');
      assert.equal((await s.updateTopic(toTopicConfig('nope'))).outcome, NOT_FOUND);
      assert.equal((await s.deleteTopic('nope')).outcome, NOT_FOUND);
      assert.equal((await s.updateTopic(toTopicConfig({ name: 'orders', readQueueNums: 16 }))).outcome, OK);
      assert.equal(s.topics()[0]!.readQueueNums, 16);
      assert.equal((await s.deleteTopic('orders')).outcome, OK);
      assert.deepEqual(names(s), []);
    }));

  test('groups and permission', () =>
    withDir(async (dir) => {
      const s = await ConfigStore.open(dir);
      const g = toGroupConfig({ name: 'billing', subscriptions: [{ topic: 'orders', expression: '*', filterType: 0 }] });
      assert.equal((await s.createGroup(g)).outcome, OK);
      assert.equal((await s.createGroup(g)).outcome, OK);
      const other = await s.createGroup(toGroupConfig({ name: 'billing', consumeOrderly: true }));
      assert.equal(other.outcome, EXISTS);
      assert.match(other.message!, /subscriptions .*consume_orderly false → true/);
      assert.equal((await s.updateGroup(toGroupConfig('nope'))).outcome, NOT_FOUND);
      assert.equal((await s.deleteGroup('nope')).outcome, NOT_FOUND);
      assert.equal((await s.setPermission(Permission.PERMISSION_READ)).outcome, OK);
      assert.equal((await s.setPermission(Permission.PERMISSION_UNSPECIFIED)).outcome, INVALID);
      assert.equal(s.permission, Permission.PERMISSION_READ);
    }));

  test('changes survive a reload; no temporary file is left behind', () =>
    withDir(async (dir) => {
      const s = await ConfigStore.open(dir, { seedTopics: ['t1'] });
      const wanted = toTopicConfig({ name: 'x', readQueueNums: 4, writeQueueNums: 2, attributes: { '+retention.hours': '72' } });
      await s.createTopic(wanted);
      await s.deleteTopic('t1');
      await s.createGroup(toGroupConfig({ name: 'g', retryPolicy: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 1000 } }));
      await s.setPermission(Permission.PERMISSION_READ);
      assert.deepEqual(await readdir(dir), [CONFIG_FILE]);
      const again = await ConfigStore.open(dir);
      assert.deepEqual(again.topics(), [wanted]);
      assert.deepEqual(again.groups(), s.groups());
      assert.equal(again.permission, Permission.PERMISSION_READ);
    }));

  test('concurrent commands are applied one after another', () =>
    withDir(async (dir) => {
      const s = await ConfigStore.open(dir);
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => s.createTopic(toTopicConfig(`t${i}`))));
      assert.ok(replies.every((r) => r.outcome === OK));
      assert.equal((await ConfigStore.open(dir)).topics().length, 20);
    }));

  test('a change that cannot be persisted is answered FAILED and undone', () =>
    withDir(async (dir) => {
      const s = await ConfigStore.open(dir, { seedTopics: ['t1'] });
      // A non-empty directory where the file should be: the rename over it fails.
      await rm(path.join(dir, CONFIG_FILE));
      await mkdir(path.join(dir, CONFIG_FILE));
      await writeFile(path.join(dir, CONFIG_FILE, 'keep'), '');
      const r = await s.createTopic(toTopicConfig('x'));
      assert.equal(r.outcome, FAILED);
      assert.match(r.message!, /cannot persist/);
      assert.deepEqual(names(s), ['t1']);
      assert.deepEqual((await readdir(dir)).sort(), [CONFIG_FILE], 'the temporary file is removed');
    }));

  test('stale temporary files of a crash are removed; a corrupt file is an error, not an empty broker', () =>
    withDir(async (dir) => {
      await ConfigStore.open(dir, { seedTopics: ['t1'] });
      await writeFile(path.join(dir, `${CONFIG_FILE}.tmp-123-abcd`), '{"half":');
      assert.deepEqual(names(await ConfigStore.open(dir)), ['t1']);
      assert.deepEqual(await readdir(dir), [CONFIG_FILE]);
      await writeFile(path.join(dir, CONFIG_FILE), '{"version":1,"topics":[');
      await assert.rejects(ConfigStore.open(dir), /not JSON/);
      await writeFile(path.join(dir, CONFIG_FILE), '{"topics":{}}');
      await assert.rejects(ConfigStore.open(dir), /not a broker configuration/);
    }));
});

describe('TrafficModel', () => {
  const source = {
    topics: () => [toTopicConfig({ name: 'orders', readQueueNums: 4, writeQueueNums: 4 }), toTopicConfig({ name: 'audit', readQueueNums: 2, writeQueueNums: 2 })],
    groups: () => [toGroupConfig({ name: 'billing', subscriptions: [{ topic: 'orders', expression: '*', filterType: 0 }, { topic: 'elsewhere', expression: '*', filterType: 0 }] })],
  };

  test('offsets grow with time; min ≤ committed ≤ max', () => {
    let now = Date.UTC(2026, 5, 1);
    const m = new TrafficModel(source, { brokerName: 'b1', now: () => now });
    const p1 = m.positions();
    assert.equal(p1.queuePositions.length, 6);
    assert.equal(p1.consumerPositions.length, 4, 'only the subscribed topic held here');
    now += 60_000;
    const p2 = m.positions();
    for (let i = 0; i < p1.queuePositions.length; i++) {
      const [a, b] = [p1.queuePositions[i]!, p2.queuePositions[i]!];
      assert.ok(b.maxOffset > a.maxOffset, 'a minute of traffic at ≥ 0.1 msg/s');
      assert.ok(b.minOffset >= a.minOffset && b.minOffset <= b.maxOffset);
    }
    for (const c of p2.consumerPositions) {
      const q = p2.queuePositions.find((x) => x.topic === c.topic && x.queueId === c.queueId)!;
      assert.ok(c.committedOffset >= q.minOffset && c.committedOffset <= q.maxOffset);
      assert.ok(c.committedOffset < q.maxOffset, 'consumers lag a little');
    }
  });

  test('queue positions are capped', () => {
    const m = new TrafficModel(source, { brokerName: 'b1', maxQueuePositions: 5 });
    assert.deepEqual(m.positions().queuePositions.map((q) => q.topic), ['orders', 'orders', 'orders', 'orders']);
  });

  test('instances are stable producers and consumers', () => {
    const m = new TrafficModel(source, { brokerName: 'b1' });
    const a = m.instances();
    assert.deepEqual(a, m.instances());
    assert.deepEqual(a.map((i) => [i.role, i.group]), [
      [ClientRole.CLIENT_ROLE_PRODUCER, ''],
      [ClientRole.CLIENT_ROLE_PRODUCER, ''],
      [ClientRole.CLIENT_ROLE_CONSUMER, 'billing'],
      [ClientRole.CLIENT_ROLE_CONSUMER, 'billing'],
    ]);
    for (const i of a) {
      assert.match(i.host, /^10\.\d+\.\d+\.\d+$/);
      assert.ok(i.clientId.startsWith(`${i.host}@`));
      assert.ok(['JAVA', 'GO'].includes(i.language));
    }
    assert.equal(new Set(a.map((i) => i.clientId)).size, 4);
  });
});
