/**
 * Replica failure: three NameServer processes, four brokers (broker agents) registered with all of
 * them, three clients (SDK) spread over them. Replicas are killed (SIGKILL) and restarted one at a
 * time, repeatedly. Every client must end with the true route of every topic, and no client may ever
 * receive a removal or a route with fewer replica sets than the truth because a replica restarted.
 * RESTART_CYCLES sets the rounds over the three replicas (default 2).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerAgent } from '../../src/broker-agent';
import { NameServerClient } from '../../src/client';
import { call, connect, exited, spawnServer } from '../helpers/server';
import { FaultProxy } from '../helpers/proxy';

const CYCLES = Number(process.env.RESTART_CYCLES ?? 2);
const TOPICS = Array.from({ length: 20 }, (_, i) => `rr-${i}`);
/** Which replica sets hold each topic (the truth every client must converge to). */
const HOLDERS: Record<string, string[]> = Object.fromEntries(
  TOPICS.map((t, i) => [t, ['rb-0', 'rb-1', 'rb-2', 'rb-3'].filter((_, b) => (i + b) % 3 !== 0)]),
);

type Replica = Awaited<ReturnType<typeof spawnServer>>;
const replicas: Replica[] = [];
const agents: BrokerAgent[] = [];
const clients: NameServerClient[] = [];

after(async () => {
  clients.forEach((c) => c.close());
  await Promise.all(agents.map((a) => a.stop()));
  for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
  await Promise.all(replicas.map((r) => exited(r.child)));
});

/** Resolve when every agent has (re-)registered with `address`. */
function allRegistered(address: string): Promise<void> {
  return Promise.all(
    agents.map(
      (a) =>
        new Promise<void>((resolve) => {
          const on = (addr: string) => {
            if (addr !== address) return;
            a.off('registered', on);
            resolve();
          };
          a.on('registered', on);
        }),
    ),
  ).then(() => undefined);
}

test(`replicas killed and restarted one at a time (${CYCLES} cycles): clients converge, never see a removal or a shrunken route`, async (t) => {
  for (let i = 0; i < 3; i++) replicas.push(await spawnServer(['--warmup-ms', '0', '--stream-grace-ms', '300']));
  const addresses = replicas.map((r) => r.address);
  for (let b = 0; b < 4; b++) {
    agents.push(
      new BrokerAgent({
        nameservers: addresses,
        cluster: 'c1',
        brokerName: `rb-${b}`,
        addresses: [`10.1.0.${b}:10911`],
        topics: TOPICS.filter((topic) => HOLDERS[topic]!.includes(`rb-${b}`)),
        backoff: { initialMs: 50, maxMs: 400 },
        reportIntervalMs: 60_000,
      }),
    );
  }
  const ready = Promise.all(addresses.map(allRegistered));
  agents.forEach((a) => a.start());
  await ready;

  const violations: string[] = [];
  for (let c = 0; c < 3; c++) {
    // Each client starts on another replica.
    const client = new NameServerClient({ nameservers: [...addresses.slice(c), ...addresses.slice(0, c)], backoff: { initialMs: 30, maxMs: 300 } });
    client.watch(TOPICS, ({ topic, route }) => {
      if (!route) violations.push(`client ${c}: removal of ${topic}`);
      else if (route.brokers.length < HOLDERS[topic]!.length) violations.push(`client ${c}: ${topic} shrunk to ${route.brokers.map((b) => b.brokerName).join(',')}`);
    });
    clients.push(client);
  }
  await Promise.all(
    clients.map((c) => new Promise<void>((resolve) => {
      const check = () => TOPICS.every((t) => c.cached(t)) && (c.off('route', check), resolve());
      c.on('route', check);
      check();
    })),
  );

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    for (let r = 0; r < 3; r++) {
      const victim = replicas[r]!;
      const port = victim.port;
      victim.child.kill('SIGKILL');
      await exited(victim.child);
      const back = allRegistered(`127.0.0.1:${port}`);
      // Restarted on the same address, warming up while the brokers come back.
      replicas[r] = await spawnServer(['--listen', `127.0.0.1:${port}`, '--warmup-ms', '1500', '--stream-grace-ms', '300']);
      await back;
      t.diagnostic(`cycle ${cycle}, replica ${r}: restarted and re-registered by all brokers`);
    }
  }

  // Converged: all replicas agree, and every client holds exactly their routes.
  const admin = connect(replicas[0]!.address);
  const check = await call(admin.admin, 'checkReplicas', { nameservers: replicas.slice(1).map((r) => r.address), topics: [] });
  assert.equal(check.consistent, true, JSON.stringify(check.divergentTopics));
  const truth = await call(admin.routes, 'getRoutes', { topics: TOPICS });
  admin.close();
  for (const [i, c] of clients.entries()) {
    for (const route of truth.routes) {
      await new Promise<void>((resolve) => {
        const ok = () => c.cached(route.topic)?.version === route.version;
        if (ok()) return resolve();
        const on = () => ok() && (c.off('route', on), resolve());
        c.on('route', on);
      });
      assert.deepEqual(c.cached(route.topic)!.brokers.map((b) => b.brokerName), HOLDERS[route.topic], `client ${i}, ${route.topic}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('clients forced onto a warming replica that has heard from only some brokers keep their complete routes', async (t) => {
  // A fresh set-up: replicas a, b, c; broker rb-3 reaches replica a only through a proxy we can pause.
  const local: Replica[] = [];
  for (let i = 0; i < 3; i++) local.push(await spawnServer(['--warmup-ms', '0', '--stream-grace-ms', '300']));
  replicas.push(...local);
  const [a, b, c] = local as [Replica, Replica, Replica];
  const proxy = await new FaultProxy({ host: '127.0.0.1', port: a.port }).start();
  const mine: BrokerAgent[] = [];
  for (let i = 0; i < 4; i++) {
    const via = i === 3 ? [proxy.address, b.address, c.address] : [a.address, b.address, c.address];
    mine.push(new BrokerAgent({
      nameservers: via, cluster: 'c1', brokerName: `rb-${i}`, addresses: [`10.1.0.${i}:10911`],
      topics: TOPICS.filter((topic) => HOLDERS[topic]!.includes(`rb-${i}`)),
      backoff: { initialMs: 50, maxMs: 300 }, reportIntervalMs: 60_000,
    }));
  }
  agents.push(...mine);
  const registeredWith = (agent: BrokerAgent, address: string) =>
    new Promise<void>((resolve) => {
      const on = (addr: string) => addr === address && (agent.off('registered', on), resolve());
      agent.on('registered', on);
    });
  const up = Promise.all(mine.flatMap((ag, i) => [i === 3 ? proxy.address : a.address, b.address, c.address].map((x) => registeredWith(ag, x))));
  mine.forEach((ag) => ag.start());
  await up;
  const violations: string[] = [];
  const client = new NameServerClient({ nameservers: [b.address, c.address, a.address], backoff: { initialMs: 30, maxMs: 200 } });
  clients.push(client);
  client.watch(TOPICS, ({ topic, route }) => {
    if (!route) violations.push(`removal of ${topic}`);
    else if (route.brokers.length < HOLDERS[topic]!.length) violations.push(`${topic} shrunk to ${route.brokers.map((x) => x.brokerName).join(',')}`);
  });
  await new Promise<void>((resolve) => {
    const check = () => TOPICS.every((topic) => client.cached(topic)) && (client.off('route', check), resolve());
    client.on('route', check);
    check();
  });

  // Replica a restarts while rb-3 cannot reach it: a knows three brokers of four, and warms up.
  proxy.pause();
  a.child.kill('SIGKILL');
  await exited(a.child);
  const threeBack = Promise.all(mine.slice(0, 3).map((ag) => registeredWith(ag, a.address)));
  const a2 = await spawnServer(['--listen', a.address, '--warmup-ms', '60000', '--stream-grace-ms', '300']);
  replicas.push(a2);
  await threeBack;
  const partial = await call(connect(a2.address).routes, 'getRoutes', { topics: TOPICS });
  assert.ok(partial.routes.some((r) => r.brokers.length < HOLDERS[r.topic]!.length), 'replica a holds shrunken routes while rb-3 is away');

  // The client's replicas b and c die: a (warming, partial) is all that is left.
  const onA = new Promise<void>((resolve) => {
    const on = (addr: string) => addr === a.address && (client.off('connected', on), resolve());
    client.on('connected', on);
  });
  b.child.kill('SIGKILL');
  c.child.kill('SIGKILL');
  await onA;
  t.diagnostic('client follows the warming replica');
  assert.deepEqual(violations, [], 'no shrunken route pushed during warm-up');

  // rb-3 gets through: a's routes are complete again and equal what the client holds.
  const rb3 = registeredWith(mine[3]!, proxy.address);
  proxy.resume();
  await rb3;
  const complete = await call(connect(a2.address).routes, 'getRoutes', { topics: TOPICS });
  for (const r of complete.routes) assert.equal(client.cached(r.topic)?.version, r.version);
  assert.deepEqual(violations, []);
  await proxy.close();
});
