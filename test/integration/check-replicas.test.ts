/**
 * Admin.CheckReplicas across three in-process replicas: agreement, a divergent topic, a dead peer.
 * Each test has replicas of its own, so the tests hold in any order and alone.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { call, startServer, type Started } from '../helpers/server';
import { report } from '../fixtures/reports';

/** Three replicas that got the same report (topics a, b, c from broker cr), stopped after the test. */
async function threeReplicas(t: TestContext): Promise<Started[]> {
  const replicas = [await startServer(), await startServer(), await startServer()];
  t.after(() => Promise.all(replicas.map((r) => r.stop())));
  for (const r of replicas) await call(r.brokers, 'registerBroker', report('cr', 0, ['a', 'b', 'c']));
  return replicas;
}

test('replicas that got the same reports are consistent', async (t) => {
  const [a, b, c] = await threeReplicas(t);
  const res = await call(a!.admin, 'checkReplicas', { nameservers: [b!.address, c!.address, a!.address], topics: [] });
  assert.equal(res.consistent, true);
  assert.deepEqual(res.replicas.map((r) => [r.address, r.reachable, r.topicCount]), [
    ['self', true, 3],
    [b!.address, true, 3],
    [c!.address, true, 3],
  ]);
  assert.equal(res.divergentCount, 0);
});

test('a topic only one replica knows, or with another route, is named with each replica\'s version', async (t) => {
  const [a, b, c] = await threeReplicas(t);
  await call(b!.brokers, 'registerBroker', report('cr', 0, ['a', 'b', 'c', 'extra'], { dataVersion: { epoch: 'boot-cr-0', counter: 2 } }));
  await call(c!.brokers, 'registerBroker', report('cr2', 0, ['a']));
  const res = await call(a!.admin, 'checkReplicas', { nameservers: [b!.address, c!.address], topics: [] });
  assert.equal(res.consistent, false);
  assert.deepEqual(res.divergentTopics.map((d) => d.topic), ['a', 'extra']);
  const extra = res.divergentTopics.find((d) => d.topic === 'extra')!;
  assert.deepEqual(extra.versions.map((v) => [v.address, v.version === '']), [
    ['self', true],
    [b!.address, false],
    [c!.address, true],
  ]);
  const onlyB = await call(a!.admin, 'checkReplicas', { nameservers: [b!.address], topics: ['b'] });
  assert.equal(onlyB.consistent, true, 'restricted to an agreed topic');
});

test('an unreachable replica makes the check inconsistent and says why', async (t) => {
  const replicas = await threeReplicas(t);
  const dead = await startServer();
  const address = dead.address;
  await dead.stop();
  const res = await call(replicas[0]!.admin, 'checkReplicas', { nameservers: [address], topics: ['b'] }, { deadline: Date.now() + 3_000 });
  assert.equal(res.consistent, false);
  assert.equal(res.replicas[1]!.reachable, false);
  assert.match(res.replicas[1]!.error, /UNAVAILABLE|DEADLINE/);
});

test('without addresses, the configured peers are used', async (t) => {
  const replicas = await threeReplicas(t);
  const s = await startServer({ peers: replicas.map((r) => r.address).join(',') });
  try {
    const res = await call(s.admin, 'checkReplicas', { nameservers: [], topics: [] });
    assert.equal(res.replicas.length, 4);
    assert.equal(res.consistent, false, 'the new replica has no routes at all');
  } finally {
    await s.stop();
  }
});
