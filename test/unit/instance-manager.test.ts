/** InstanceManager unit tests: no network, no server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceManager } from '../../src/server/metadata/instance-manager';
import { brokerRef } from '../../src/server/metadata/types';
import { InvalidArgument } from '../../src/server/metadata/errors';
import { ClientRole, type ClientInstance } from '../../generated/nameserver/v1/common';

const { CLIENT_ROLE_PRODUCER: PRODUCER, CLIENT_ROLE_CONSUMER: CONSUMER, CLIENT_ROLE_UNSPECIFIED: ANY } = ClientRole;

function broker(brokerName: string, brokerId = 0, cluster = 'c1') {
  return brokerRef(cluster, brokerName, brokerId);
}
function inst(clientId: string, role: ClientRole, group: string, topics: string[] = [], version = '1.0'): ClientInstance {
  return { clientId, role, group, topics, host: '10.0.0.9', language: 'TYPESCRIPT', version };
}
const ids = (page: { instances: { instance?: ClientInstance }[] }) =>
  page.instances.map((i) => `${i.instance!.clientId}/${i.instance!.role}/${i.instance!.group}`);

const b1 = broker('b1');
const b2 = broker('b2');

test('a client on two brokers is one instance listing both replica sets', () => {
  const im = new InstanceManager();
  im.report(b1, [inst('x', CONSUMER, 'g', ['t'], '1.0')], true, 1000);
  im.report(b2, [inst('x', CONSUMER, 'g', ['t', 'u'], '1.1')], true, 2000);
  // A follower of b1 listing it too adds no second "b1".
  im.report(broker('b1', 1), [inst('x', CONSUMER, 'g', ['t', 'u'], '1.1')], true, 1500);
  const page = im.list({}, 0, '');
  assert.equal(page.instances.length, 1);
  assert.deepEqual(page.instances[0], {
    instance: inst('x', CONSUMER, 'g', ['t', 'u'], '1.1'),
    brokerNames: ['b1', 'b2'],
    lastSeenAtMs: 2000, // latest seen, not the last report's (older) time
  });
  assert.equal(page.nextPageToken, '');
  assert.deepEqual(im.stats(), { instances: 1 });
  assert.equal(im.countByGroup('g'), 1);
});

test('same client id with another role or group is another instance', () => {
  const im = new InstanceManager();
  assert.equal(im.report(b1, [inst('x', CONSUMER, 'g'), inst('x', PRODUCER, 'g'), inst('x', CONSUMER, 'h')], true, 1), 3);
  assert.deepEqual(ids(im.list({}, 0, '')), ['x/1/g', 'x/2/g', 'x/2/h']);
});

test('full report removes this broker from instances it no longer lists', () => {
  const im = new InstanceManager();
  im.report(b1, [inst('x', CONSUMER, 'g'), inst('y', CONSUMER, 'g')], true, 1);
  im.report(b2, [inst('x', CONSUMER, 'g')], true, 1);
  assert.equal(im.report(b1, [inst('z', PRODUCER, '')], true, 2), 1);
  const all = im.list({}, 0, '');
  // x keeps b2 only; y had only b1 and is gone; z is new.
  assert.deepEqual(ids(all), ['x/2/g', 'z/1/']);
  assert.deepEqual(all.instances[0]!.brokerNames, ['b2']);
  assert.equal(im.countByGroup('g'), 1);
});

test('merge report adds and refreshes, keeps the rest', () => {
  const im = new InstanceManager();
  im.report(b1, [inst('x', CONSUMER, 'g', [], '1.0')], true, 1);
  assert.equal(im.report(b1, [inst('y', CONSUMER, 'g'), inst('x', CONSUMER, 'g', [], '2.0')], false, 5), 2);
  const all = im.list({}, 0, '');
  assert.deepEqual(ids(all), ['x/2/g', 'y/2/g']);
  assert.equal(all.instances[0]!.instance!.version, '2.0');
  assert.equal(all.instances[0]!.lastSeenAtMs, 5);
  assert.equal(im.countByGroup('g'), 2);
});

test('removing the last broker removes the instance', () => {
  const im = new InstanceManager();
  im.report(b1, [inst('x', CONSUMER, 'g'), inst('y', PRODUCER, 'p')], true, 1);
  im.report(b2, [inst('x', CONSUMER, 'g')], true, 1);
  assert.equal(im.removeBroker(b1.key), true);
  assert.equal(im.removeBroker(b1.key), false);
  assert.deepEqual(ids(im.list({}, 0, '')), ['x/2/g']);
  im.removeBroker(b2.key);
  assert.deepEqual(im.list({}, 0, ''), { instances: [], nextPageToken: '' });
  assert.deepEqual(im.stats(), { instances: 0 });
  assert.equal(im.countByGroup('g'), 0);
  // An empty full report also empties a broker's share.
  im.report(b1, [inst('x', CONSUMER, 'g')], true, 1);
  assert.equal(im.report(b1, [], true, 2), 0);
  assert.deepEqual(im.stats(), { instances: 0 });
});

test('filters: group, topic, role; unspecified role does not filter', () => {
  const im = new InstanceManager();
  im.report(
    b1,
    [inst('a', CONSUMER, 'g', ['t1']), inst('b', CONSUMER, 'h', ['t2']), inst('c', PRODUCER, 'g', ['t1', 't2']), inst('d', PRODUCER, '', ['t3'])],
    true,
    1,
  );
  assert.deepEqual(ids(im.list({ group: 'g' }, 0, '')), ['a/2/g', 'c/1/g']);
  assert.deepEqual(ids(im.list({ topic: 't2' }, 0, '')), ['b/2/h', 'c/1/g']);
  assert.deepEqual(ids(im.list({ role: PRODUCER }, 0, '')), ['c/1/g', 'd/1/']);
  assert.deepEqual(ids(im.list({ role: ANY }, 0, '')).length, 4);
  assert.deepEqual(ids(im.list({ group: 'g', topic: 't1', role: CONSUMER }, 0, '')), ['a/2/g']);
  assert.deepEqual(ids(im.list({ group: '', topic: '' }, 0, '')).length, 4);
  assert.equal(im.countByGroup('g'), 1); // consumers only
  assert.equal(im.countByGroup('h'), 1);
});

test('pagination: no duplicates, no gaps, stable when an item is inserted between pages', () => {
  const im = new InstanceManager();
  const names = Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, '0')}`);
  // Reported in reverse so order comes from the sort, not insertion.
  im.report(b1, [...names].reverse().map((n) => inst(n, CONSUMER, 'g')), true, 1);

  const seen: string[] = [];
  let token = '';
  let pages = 0;
  do {
    const page = im.list({}, 10, token);
    seen.push(...page.instances.map((i) => i.instance!.clientId));
    token = page.nextPageToken;
    pages++;
    if (pages === 1) {
      // Inserted behind the cursor (not shown: already past) and ahead of it (shown exactly once).
      im.report(b2, [inst('c00a', CONSUMER, 'g'), inst('c15a', CONSUMER, 'g')], false, 2);
    }
  } while (token);
  assert.equal(pages, 3);
  const expected = [...names, 'c15a'].sort();
  assert.deepEqual(seen, expected);
  assert.equal(new Set(seen).size, seen.length);
});

test('pagination with a filter and exact page boundary', () => {
  const im = new InstanceManager();
  im.report(b1, [1, 2, 3, 4].map((i) => inst(`p${i}`, PRODUCER, 'pg')), true, 1);
  im.report(b1, [1, 2].map((i) => inst(`q${i}`, CONSUMER, 'g')), false, 1);
  const first = im.list({ role: PRODUCER }, 2, '');
  assert.deepEqual(ids(first), ['p1/1/pg', 'p2/1/pg']);
  const second = im.list({ role: PRODUCER }, 2, first.nextPageToken);
  assert.deepEqual(ids(second), ['p3/1/pg', 'p4/1/pg']);
  assert.equal(second.nextPageToken, ''); // exactly full last page: no empty extra page
});

test('page size: 0 means 100, clamped to 1000', () => {
  const im = new InstanceManager();
  im.report(b1, Array.from({ length: 1205 }, (_, i) => inst(`c${String(i).padStart(4, '0')}`, CONSUMER, 'g')), true, 1);
  assert.equal(im.list({}, 0, '').instances.length, 100);
  const big = im.list({}, 5000, '');
  assert.equal(big.instances.length, 1000);
  assert.equal(im.list({}, 5000, big.nextPageToken).instances.length, 205);
});

test('bad page token is InvalidArgument on page_token', () => {
  const im = new InstanceManager();
  im.report(b1, [inst('a', CONSUMER, 'g')], true, 1);
  const forged = [
    'not a token!',
    '%%%',
    Buffer.from('{"x":1}').toString('base64url'),
    Buffer.from('[2,"a",1,"g"]').toString('base64url'), // unknown version
    Buffer.from('[1,"a","1","g"]').toString('base64url'),
    'abc',
  ];
  for (const token of forged) {
    assert.throws(
      () => im.list({}, 10, token),
      (err: unknown) => err instanceof InvalidArgument && err.field === 'page_token',
      token,
    );
  }
});

test('returns copies, never internal objects', () => {
  const im = new InstanceManager();
  const reported = inst('a', CONSUMER, 'g', ['t']);
  im.report(b1, [reported], true, 1);
  reported.topics.push('mutated-input');
  const got = im.list({}, 0, '').instances[0]!;
  got.instance!.topics.push('mutated-output');
  got.brokerNames.push('zz');
  assert.deepEqual(im.list({}, 0, '').instances[0], { instance: inst('a', CONSUMER, 'g', ['t']), brokerNames: ['b1'], lastSeenAtMs: 1 });
});
