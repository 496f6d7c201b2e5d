/**
 * Broker agent SDK and simulated broker against real in-process NameServers (and, for commands, a
 * small fake BrokerRegistry that sends commands and records everything it receives in order). Every
 * wait is on an event: route table events, agent events, fake-server messages, child log lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  BrokerRegistryService,
  type BrokerRegistryServer,
  type Command,
  type CommandResult,
  type ConnectRequest,
  type ConnectResponse,
  type UnregisterBrokerRequest,
} from '../../generated/nameserver/v1/broker_registry';
import { ClientRole, CommandOutcome, Permission, TopicConfig } from '../../generated/nameserver/v1/common';
import { BrokerAgent, type BrokerAgentEvents, type BrokerAgentOptions, type CommandHandler } from '../../src/broker-agent';
import { ConfigStore } from '../../src/broker-sim/config-store';
import type { RouteEntry } from '../../src/server/metadata/route-table';
import { topic } from '../fixtures/reports';
import { call, exited, startServer, type Started } from '../helpers/server';

const ROOT = path.resolve(__dirname, '..', '..');
const KEY = 'c1/b1/0';
const FAST_BACKOFF = { initialMs: 20, maxMs: 300, jitter: 0.5 };

/** An agent for broker c1/b1/0 with fast reconnects and no timers unless a test asks for them. */
function newAgent(nameservers: string[], over: Partial<BrokerAgentOptions> = {}): BrokerAgent {
  return new BrokerAgent({
    nameservers,
    cluster: 'c1',
    brokerName: 'b1',
    addresses: ['127.0.0.1:10911'],
    backoff: FAST_BACKOFF,
    heartbeatIntervalMs: 0,
    reportIntervalMs: 60_000,
    resolveIntervalMs: 0,
    ...over,
  });
}

/** Resolve when the route of `topicName` satisfies `pred` (checked now and on every route event). */
function routeWhen(s: Started, topicName: string, pred: (e: RouteEntry | undefined) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const routes = s.server.core.routes;
  return new Promise((resolve, reject) => {
    const onEvent = (t: string) => {
      if (t === topicName) check();
    };
    const cleanup = () => {
      clearTimeout(timer);
      routes.off('changed', onEvent);
      routes.off('removed', onEvent);
    };
    const check = () => {
      if (!pred(routes.get(topicName))) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${s.address}: route of ${topicName} ${what} not seen within ${timeoutMs} ms`));
    }, timeoutMs);
    routes.on('changed', onEvent);
    routes.on('removed', onEvent);
    check();
  });
}
const present = (s: Started, t: string) => routeWhen(s, t, (e) => e !== undefined, 'present');
const absent = (s: Started, t: string) => routeWhen(s, t, (e) => e === undefined, 'absent');

/** The next event `name` of `emitter` whose arguments satisfy `pred`. Subscribe before acting. */
function nextEvent<K extends keyof BrokerAgentEvents>(
  agent: BrokerAgent,
  name: K,
  pred: (...args: BrokerAgentEvents[K]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<BrokerAgentEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: BrokerAgentEvents[K]) => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      agent.off(name, listener as never);
      resolve(args);
    };
    const timer = setTimeout(() => {
      agent.off(name, listener as never);
      reject(new Error(`agent event ${name} not seen within ${timeoutMs} ms`));
    }, timeoutMs);
    agent.on(name, listener as never);
  });
}

/** Resolve once `agent` has emitted `registered` for every address. */
function registeredWith(agent: BrokerAgent, addresses: string[]): Promise<void> {
  const pending = new Set(addresses);
  return nextEvent(agent, 'registered', (a) => {
    pending.delete(a);
    return pending.size === 0;
  }).then(() => undefined);
}

function stats(agent: BrokerAgent, address: string) {
  const s = agent.sessionStats().find((x) => x.address === address);
  assert.ok(s, `no session for ${address}`);
  return s;
}

test('registers with two NameServers; both serve the route', async () => {
  const [s1, s2] = await Promise.all([startServer(), startServer()]);
  const agent = newAgent([s1.address, s2.address], { topics: ['a', { name: 'b', readQueueNums: 4, writeQueueNums: 2 }], zone: 'z1' });
  try {
    const routes = Promise.all([present(s1, 'a'), present(s2, 'a'), present(s1, 'b'), present(s2, 'b')]);
    const registered = registeredWith(agent, [s1.address, s2.address]);
    await agent.start();
    await Promise.all([routes, registered]);
    for (const s of [s1, s2]) {
      const b = s.server.core.routes.get('b')!.route.brokers;
      assert.equal(b.length, 1);
      assert.deepEqual([b[0]!.brokerName, b[0]!.cluster, b[0]!.zone, b[0]!.readQueueNums, b[0]!.writeQueueNums], ['b1', 'c1', 'z1', 4, 2]);
      assert.deepEqual(b[0]!.replicas[0]!.addresses, ['127.0.0.1:10911']);
      const held = s.server.core.brokers.get(KEY)!;
      assert.equal(held.epoch, agent.epoch);
      assert.equal(held.counter, 1);
    }
    // Both routes were reported by the same data: the content-derived versions agree.
    assert.equal(s1.server.core.routes.get('a')!.version, s2.server.core.routes.get('a')!.version);
  } finally {
    await agent.stop();
    await Promise.all([s1.stop(), s2.stop()]);
  }
});

test('upsert and delete reach every NameServer as deltas on the held version', async () => {
  const [s1, s2] = await Promise.all([startServer(), startServer()]);
  const agent = newAgent([s1.address, s2.address], { topics: ['a'] });
  try {
    const registered = registeredWith(agent, [s1.address, s2.address]);
    await agent.start();
    await registered;
    const added = Promise.all([present(s1, 'c'), present(s2, 'c')]);
    agent.upsertTopics(['c']);
    await added;
    const removed = Promise.all([absent(s1, 'a'), absent(s2, 'a')]);
    agent.deleteTopics(['a']);
    await removed;
    // Upserting what is held (same meaning: UNSPECIFIED permission is READ_WRITE) changes nothing.
    agent.upsertTopics([{ name: 'c', readQueueNums: 8, writeQueueNums: 8, permission: Permission.PERMISSION_UNSPECIFIED }]);
    agent.deleteTopics(['never-there']);
    assert.equal(agent.counter, 3);
    for (const s of [s1, s2]) {
      const st = stats(agent, s.address);
      assert.equal(st.registrations, 1, 'changes went as deltas, not re-registrations');
      assert.equal(st.deltasSent, 2);
      assert.equal(st.heldCounter, 3);
      assert.ok(s.server.core.routes.get('c'));
    }
    // The NameServers applied both deltas (their held counter moved with them).
    await Promise.all([s1, s2].map((s) => routeWhen(s, 'c', () => s.server.core.brokers.get(KEY)?.counter === 3, 'at counter 3')));
  } finally {
    await agent.stop();
    await Promise.all([s1.stop(), s2.stop()]);
  }
});

test('a broker with 100,000 topics registers in chunks', async () => {
  const s = await startServer();
  const names = Array.from({ length: 100_000 }, (_, i) => `topic-${i}`);
  const agent = newAgent([s.address], { topics: names });
  try {
    const last = present(s, 'topic-99999');
    const registered = registeredWith(agent, [s.address]);
    await agent.start();
    await Promise.all([registered, last]);
    const st = stats(agent, s.address);
    assert.equal(st.lastChunkCount, 20, '100,000 topics / 5,000 per chunk');
    assert.equal(st.chunksSent, 20);
    assert.equal(s.server.core.routes.size, 100_000);
    assert.equal(s.server.core.brokers.get(KEY)!.counter, 1);
  } finally {
    await agent.stop();
    await s.stop();
  }
});

test('NameServer restart: the agent reconnects with back-off and registers again', async () => {
  const s1 = await startServer();
  const port = s1.port;
  const agent = newAgent([s1.address], { topics: ['a'] });
  let s1b: Started | undefined;
  try {
    const first = registeredWith(agent, [s1.address]);
    await agent.start();
    await first;
    const lost = nextEvent(agent, 'disconnected', (a) => a === s1.address);
    await s1.stop();
    await lost;
    const again = nextEvent(agent, 'registered', (a) => a === s1.address);
    s1b = await startServer({ listen: `127.0.0.1:${port}` });
    const [, info] = await again;
    assert.equal(info.serverId, s1b.server.serverId, 'registered with the new process');
    await present(s1b, 'a');
    const st = stats(agent, s1.address);
    assert.ok(st.connects >= 2);
    assert.ok(st.registrations >= 2, 'a full registration on the new stream');
  } finally {
    await agent.stop();
    await s1b?.stop();
  }
});

test('a delta the NameServer cannot apply (it lost the broker) is answered reregister_required: full re-register', async () => {
  const s = await startServer();
  const agent = newAgent([s.address], { topics: ['a'] });
  try {
    const registered = registeredWith(agent, [s.address]);
    await agent.start();
    await registered;
    // The NameServer forgets the broker while the stream stays up (as after an expiry).
    const gone = absent(s, 'a');
    assert.ok(s.server.core.remove(KEY, 'test: state lost'));
    await gone;
    const resync = nextEvent(agent, 'resync', (a) => a === s.address);
    const back = Promise.all([present(s, 'a'), present(s, 'c')]);
    agent.upsertTopics(['c']);
    const [, reason] = await resync;
    assert.match(reason, /not registered/);
    await back;
    const st = stats(agent, s.address);
    assert.equal(st.resyncs, 1);
    assert.equal(st.registrations, 2);
    assert.equal(s.server.core.brokers.get(KEY)!.counter, agent.counter);
  } finally {
    await agent.stop();
    await s.stop();
  }
});

test('a heartbeat finds a NameServer that lost the broker and the agent re-registers', async () => {
  const s = await startServer();
  const agent = newAgent([s.address], { topics: ['a'], heartbeatIntervalMs: 25 });
  try {
    const registered = registeredWith(agent, [s.address]);
    await agent.start();
    await registered;
    const gone = absent(s, 'a');
    const resync = nextEvent(agent, 'resync', (a) => a === s.address);
    s.server.core.remove(KEY, 'test: state lost');
    await gone;
    await resync;
    await present(s, 'a');
    assert.ok(stats(agent, s.address).heartbeatsSent >= 1);
  } finally {
    await agent.stop();
    await s.stop();
  }
});

test('positions and instances are reported on schedule', async () => {
  const s = await startServer();
  let calls = 0;
  const agent = newAgent([s.address], {
    topics: ['a'],
    groups: [{ name: 'g', subscriptions: [{ topic: 'a', expression: '*', filterType: 0 }] }],
    reportIntervalMs: 25,
    positions: () => {
      calls++;
      return {
        queuePositions: [0, 1].map((queueId) => ({ topic: 'a', queueId, minOffset: 0, maxOffset: 100 })),
        consumerPositions: [0, 1].map((queueId) => ({ group: 'g', topic: 'a', queueId, committedOffset: 90 })),
      };
    },
    instances: async () => [
      { clientId: '10.0.0.9@1#p', role: ClientRole.CLIENT_ROLE_PRODUCER, group: '', topics: ['a'], host: '10.0.0.9', language: 'JAVA', version: '5.3.1' },
      { clientId: '10.0.0.8@2#c', role: ClientRole.CLIENT_ROLE_CONSUMER, group: 'g', topics: ['a'], host: '10.0.0.8', language: 'GO', version: 'v2.1.2' },
    ],
  });
  try {
    let positionsAcked = 0;
    let instancesAcked = 0;
    const enough = nextEvent(agent, 'reported', (_a, kind) => {
      if (kind === 'positions') positionsAcked++;
      else instancesAcked++;
      return positionsAcked >= 3 && instancesAcked >= 3;
    });
    await agent.start();
    await enough;
    assert.ok(calls >= 3, 'the provider is called on every tick');
    const lag = s.server.core.positions.lag('g');
    assert.equal(lag.totalLag, 20);
    assert.deepEqual(lag.topics.map((t) => [t.topic, t.lag]), [['a', 20]]);
    assert.equal(s.server.core.instances.stats().instances, 2);
  } finally {
    await agent.stop();
    await s.stop();
  }
});

test('stop() unregisters: routes disappear at once on every NameServer', async () => {
  const [s1, s2] = await Promise.all([startServer({ streamGraceMs: 60_000 }), startServer({ streamGraceMs: 60_000 })]);
  const agent = newAgent([s1.address, s2.address], { topics: ['a'], heartbeatIntervalMs: 10, reportIntervalMs: 10, positions: () => ({ queuePositions: [], consumerPositions: [] }) });
  const registered = registeredWith(agent, [s1.address, s2.address]);
  await agent.start();
  await registered;
  await agent.stop();
  try {
    // With a 60 s stream grace, only the unregister can have removed them by now.
    for (const s of [s1, s2]) {
      assert.equal(s.server.core.routes.get('a'), undefined);
      assert.equal(s.server.core.brokers.get(KEY), undefined);
    }
    assert.deepEqual(agent.sessionStats(), []);
    await agent.stop(); // idempotent
  } finally {
    await Promise.all([s1.stop(), s2.stop()]);
  }
});

test('NameServer list: host names expand to their addresses; re-resolution adds and drops sessions', async () => {
  const [s1, s2] = await Promise.all([startServer(), startServer()]);
  let list = [s1.address];
  const agent = newAgent([], { topics: ['a'], resolve: async () => list, resolveIntervalMs: 20 });
  const byName = newAgent([`localhost:${s1.port}`], { brokerName: 'b2', topics: ['n'] });
  try {
    const first = registeredWith(agent, [s1.address]);
    await agent.start();
    await first;
    const second = registeredWith(agent, [s2.address]);
    list = [s1.address, s2.address];
    await second;
    await present(s2, 'a');
    const dropped = nextEvent(agent, 'disconnected', (a) => a === s1.address);
    list = [s2.address];
    await dropped;
    assert.deepEqual(agent.nameservers(), [s2.address]);
    await absent(s1, 'a'); // the stream ended; s1 drops the broker after its grace
    // A DNS name: "localhost" expands (at least) to 127.0.0.1.
    const viaName = nextEvent(byName, 'registered', (a) => a === s1.address);
    await byName.start();
    assert.ok(byName.nameservers().includes(s1.address), `resolved to ${byName.nameservers().join(',')}`);
    await viaName;
    await present(s1, 'n');
  } finally {
    await Promise.all([agent.stop(), byName.stop()]);
    await Promise.all([s1.stop(), s2.stop()]);
  }
});

test('bearer token: the right one registers, a wrong one is refused', async () => {
  const s = await startServer({ brokerToken: 'broker-secret' });
  const good = newAgent([s.address], { topics: ['a'], token: 'broker-secret' });
  const bad = newAgent([s.address], { brokerName: 'b2', topics: ['z'], token: 'wrong' });
  try {
    const ok = registeredWith(good, [s.address]);
    const refused = nextEvent(bad, 'disconnected', (a) => a === s.address);
    await Promise.all([good.start(), bad.start()]);
    await ok;
    const [, err] = await refused;
    assert.ok([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED].includes((err as grpc.ServiceError).code), err.message);
    assert.ok(s.server.core.routes.get('a'));
    assert.equal(s.server.core.routes.get('z'), undefined);
  } finally {
    await Promise.all([good.stop(), bad.stop()]);
    await s.stop();
  }
});

// ---------------------------------------------------------------------------------------------------
// Commands, against a fake BrokerRegistry (the real Admin write path is tested in admin-writes).

/**
 * A fake NameServer: accepts a Connect session after a complete registration, acknowledges every
 * message, records every message in arrival order, and sends commands on request.
 */
class FakeNameServer extends EventEmitter {
  readonly received: ConnectRequest[] = [];
  readonly unregisters: UnregisterBrokerRequest[] = [];
  address = '';
  private readonly server = new grpc.Server();
  private call: grpc.ServerDuplexStream<ConnectRequest, ConnectResponse> | undefined;

  async start(): Promise<void> {
    const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'fake' });
    const impl: BrokerRegistryServer = {
      registerBroker: unimplemented,
      heartbeat: unimplemented,
      reportDelta: unimplemented,
      reportPositions: unimplemented,
      reportInstances: unimplemented,
      unregisterBroker: (call, cb) => {
        this.unregisters.push(call.request);
        this.emit('unregister', call.request);
        cb(null, { removed: true, reason: '' });
      },
      connect: (call) => {
        this.call = call;
        let accepted = false;
        call.on('data', (m: ConnectRequest) => {
          this.received.push(m);
          if (m.seq) call.write({ body: { $case: 'ack', ack: { seq: m.seq, ok: true, error: '', reregisterRequired: false, stale: false } } });
          const r = m.body?.$case === 'register' ? m.body.register : undefined;
          if (!accepted && r && r.chunkIndex + 1 >= r.chunkCount) {
            accepted = true;
            call.write({ body: { $case: 'accepted', accepted: { sessionId: '1', serverId: 'fake', graceMs: 0 } } });
          }
          this.emit('message', m);
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    };
    this.server.addService(BrokerRegistryService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  /** Send a command; resolves with its result. */
  async command(cmd: Command): Promise<CommandResult> {
    const result = this.until((m) => m.body?.$case === 'commandResult' && m.body.commandResult.commandId === cmd.commandId);
    this.call!.write({ body: { $case: 'command', command: cmd } });
    const m = await result;
    return (m.body as { $case: 'commandResult'; commandResult: CommandResult }).commandResult;
  }

  /** The index of the first recorded message matching `pred` (-1 if none). */
  indexOf(pred: (m: ConnectRequest) => boolean): number {
    return this.received.findIndex(pred);
  }

  /** Resolve with the first message (recorded or future) matching `pred`. */
  until(pred: (m: ConnectRequest) => boolean, timeoutMs = 15_000): Promise<ConnectRequest> {
    const hit = this.received.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const onMessage = (m: ConnectRequest) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.off('message', onMessage);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.off('message', onMessage);
        reject(new Error(`fake NameServer: message not received within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('message', onMessage);
    });
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const isDeltaUpserting = (name: string) => (m: ConnectRequest) => m.body?.$case === 'delta' && m.body.delta.upsertTopics.some((t) => t.name === name);
const isResult = (id: string) => (m: ConnectRequest) => m.body?.$case === 'commandResult' && m.body.commandResult.commandId === id;
const isRegisterWith = (p: Permission) => (m: ConnectRequest) => m.body?.$case === 'register' && m.body.register.permission === p;
const countOf = (f: FakeNameServer, $case: string) => f.received.filter((m) => m.body?.$case === $case).length;

test('commands: the handler runs, the change reaches every NameServer before the result', async () => {
  const [a, b] = [new FakeNameServer(), new FakeNameServer()];
  await Promise.all([a.start(), b.start()]);
  const applied: string[] = [];
  const handler: CommandHandler = {
    createTopic: async (t) => {
      applied.push(`create ${t.name}`);
      return { outcome: CommandOutcome.COMMAND_OUTCOME_OK };
    },
    deleteTopic: async (name) => ({ outcome: CommandOutcome.COMMAND_OUTCOME_NOT_FOUND, message: `topic ${name} does not exist` }),
    createGroup: async () => {
      throw new Error('disk full');
    },
    setPermission: async () => ({ outcome: CommandOutcome.COMMAND_OUTCOME_OK }),
  };
  const agent = newAgent([a.address, b.address], { topics: ['a'], handler });
  const commands: Command[] = [];
  agent.on('command', (c) => commands.push(c));
  try {
    const registered = registeredWith(agent, [a.address, b.address]);
    await agent.start();
    await registered;

    // Create: applied, reported as a delta on both sessions, and on the command's session before the result.
    const onB = b.until(isDeltaUpserting('x'));
    const r1 = await a.command({ commandId: 'cmd-1', action: { $case: 'createTopic', createTopic: { topic: topic('x', { readQueueNums: 4 }) } } });
    assert.deepEqual([r1.outcome, r1.message], [CommandOutcome.COMMAND_OUTCOME_OK, '']);
    const iDelta = a.indexOf(isDeltaUpserting('x'));
    assert.ok(iDelta >= 0 && iDelta < a.indexOf(isResult('cmd-1')), 'the delta precedes the result');
    const delta = (a.received[iDelta]!.body as { $case: 'delta'; delta: { baseCounter: number; dataVersion?: { counter: number; epoch: string } } }).delta;
    assert.deepEqual([delta.baseCounter, delta.dataVersion?.counter, delta.dataVersion?.epoch], [1, 2, agent.epoch]);
    await onB;
    assert.deepEqual(applied, ['create x']);
    assert.equal(agent.topics().find((t) => t.name === 'x')?.readQueueNums, 4);

    // Idempotent create: the handler decides (OK here); nothing changed, so no delta.
    const deltasBefore = countOf(a, 'delta');
    const r2 = await a.command({ commandId: 'cmd-2', action: { $case: 'createTopic', createTopic: { topic: topic('x', { readQueueNums: 4 }) } } });
    assert.equal(r2.outcome, CommandOutcome.COMMAND_OUTCOME_OK);
    assert.equal(countOf(a, 'delta'), deltasBefore);
    assert.equal(agent.counter, 2);

    // Refusals are relayed with their message and change nothing.
    const r3 = await a.command({ commandId: 'cmd-3', action: { $case: 'deleteTopic', deleteTopic: { name: 'nope' } } });
    assert.deepEqual([r3.outcome, r3.message], [CommandOutcome.COMMAND_OUTCOME_NOT_FOUND, 'topic nope does not exist']);
    const r4 = await a.command({ commandId: 'cmd-4', action: { $case: 'createGroup', createGroup: { group: { name: 'g', consumeMode: 0, subscriptions: [], retryPolicy: undefined, consumeOrderly: false, attributes: {} } } } });
    assert.deepEqual([r4.outcome, r4.message], [CommandOutcome.COMMAND_OUTCOME_FAILED, 'disk full']);
    const r5 = await a.command({ commandId: 'cmd-5', action: { $case: 'updateTopic', updateTopic: { topic: topic('x') } } });
    assert.equal(r5.outcome, CommandOutcome.COMMAND_OUTCOME_FAILED);
    assert.match(r5.message, /not supported/);
    assert.deepEqual(agent.groups(), []);
    assert.equal(countOf(a, 'delta'), deltasBefore);

    // Permission: a full re-register (it is only in RegisterBrokerRequest) precedes the result; on b too.
    const permOnB = b.until(isRegisterWith(Permission.PERMISSION_READ));
    const r6 = await b.command({ commandId: 'cmd-6', action: { $case: 'setPermission', setPermission: { permission: Permission.PERMISSION_READ } } });
    assert.equal(r6.outcome, CommandOutcome.COMMAND_OUTCOME_OK);
    assert.ok(b.indexOf(isRegisterWith(Permission.PERMISSION_READ)) < b.indexOf(isResult('cmd-6')));
    await permOnB;
    await a.until(isRegisterWith(Permission.PERMISSION_READ));
    assert.equal(agent.permission, Permission.PERMISSION_READ);
    assert.equal(agent.counter, 3);
    // Results go only to the session the command came from.
    assert.equal(a.indexOf(isResult('cmd-6')), -1);
    assert.deepEqual(commands.map((c) => c.commandId), ['cmd-1', 'cmd-2', 'cmd-3', 'cmd-4', 'cmd-5', 'cmd-6']);

    await agent.stop();
    assert.deepEqual(a.unregisters.map((u) => [u.cluster, u.brokerName, u.brokerId, u.epoch]), [['c1', 'b1', 0, agent.epoch]]);
  } finally {
    await agent.stop();
    a.stop();
    b.stop();
  }
});

test('Admin CreateTopic through a real NameServer: two agents with durable stores apply it, the route is there when the call returns', async () => {
  const s = await startServer();
  const dir = await mkdtemp(path.join(tmpdir(), 'broker-agent-admin-'));
  const stores = await Promise.all(['w1', 'w2'].map((n) => ConfigStore.open(path.join(dir, n))));
  const agents = ['w1', 'w2'].map((brokerName, i) => newAgent([s.address], { brokerName, addresses: [`127.0.0.1:${20000 + i}`], handler: stores[i] }));
  try {
    const registered = Promise.all(agents.map((a) => registeredWith(a, [s.address])));
    await Promise.all(agents.map((a) => a.start()));
    await registered;
    const res = await call(s.admin, 'createTopic', { topic: topic('orders', { readQueueNums: 4, writeQueueNums: 4 }), cluster: 'c1', brokerNames: [] });
    assert.deepEqual(res.results.map((r) => [r.brokerName, r.outcome]), [
      ['w1', CommandOutcome.COMMAND_OUTCOME_OK],
      ['w2', CommandOutcome.COMMAND_OUTCOME_OK],
    ]);
    // The brokers reported the topic before answering: no waiting needed.
    assert.deepEqual(s.server.core.routes.get('orders')?.route.brokers.map((b) => [b.brokerName, b.writeQueueNums]), [['w1', 4], ['w2', 4]]);
    for (const st of stores) assert.deepEqual(st.topics().map((t) => t.name), ['orders']);
    const drained = await call(s.admin, 'setBrokerPermission', { cluster: 'c1', brokerName: 'w1', permission: Permission.PERMISSION_READ });
    assert.ok(drained.results.every((r) => r.outcome === CommandOutcome.COMMAND_OUTCOME_OK));
    assert.equal(s.server.core.routes.get('orders')?.route.brokers[0]?.permission, Permission.PERMISSION_READ);
    assert.equal(stores[0]!.permission, Permission.PERMISSION_READ);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// The simulated broker, as a child process.

/** A simulated broker process with its parsed JSON log lines. */
class Sim {
  readonly lines: Record<string, unknown>[] = [];
  readonly child: ChildProcess;
  private readonly events = new EventEmitter();

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/broker-sim/main.ts'), ...args], {
      cwd: ROOT,
      // The tests wait on info lines, whatever level the test run uses.
      env: { ...process.env, BROKER_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          this.lines.push(rec);
          this.events.emit('line', rec);
        } catch {
          // not a log line
        }
      }
    });
  }

  /** Resolve with the first log line (seen or future) matching `pred`; reject if the process exits first. */
  line(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const hit = this.lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('line', onLine);
        this.child.off('exit', onExit);
      };
      const onLine = (l: Record<string, unknown>) => {
        if (!pred(l)) return;
        cleanup();
        resolve(l);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`broker exited (${code}) before the expected log line; log: ${JSON.stringify(this.lines)}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`log line not seen within ${timeoutMs} ms; log: ${JSON.stringify(this.lines)}`));
      }, timeoutMs);
      this.events.on('line', onLine);
      this.child.once('exit', onExit);
    });
  }

  registeredWith(address: string): Promise<Record<string, unknown>> {
    return this.line((l) => l.msg === 'broker registered' && l.nameserver === address);
  }

  /** SIGTERM and wait for the exit. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return exited(this.child);
  }
}

function simArgs(nameservers: string, dir: string, extra: string[] = []): string[] {
  return ['--nameservers', nameservers, '--cluster', 'c1', '--broker-name', 'sim1', '--data-dir', dir, '--listen', '127.0.0.1:20911', ...extra];
}

test('simulated broker: registers its topics, leaves on SIGTERM, and re-registers them from broker.json', async () => {
  const s = await startServer();
  const dir = await mkdtemp(path.join(tmpdir(), 'broker-sim-'));
  let sim = new Sim(simArgs(s.address, dir, ['--topics', 't1,t2', '--report-interval-ms', '100', '--zone', 'z9']));
  try {
    const routes = Promise.all([present(s, 't1'), present(s, 't2')]);
    await sim.registeredWith(s.address);
    await routes;
    const b = s.server.core.routes.get('t1')!.route.brokers[0]!;
    assert.deepEqual([b.cluster, b.brokerName, b.zone, b.replicas[0]!.addresses], ['c1', 'sim1', 'z9', ['127.0.0.1:20911']]);

    const { code } = await sim.terminate();
    assert.equal(code, 0);
    // It unregistered before exiting: gone at once, not after the stream grace.
    assert.equal(s.server.core.routes.get('t1'), undefined);

    // No --topics this time: the topics come from DIR/broker.json.
    sim = new Sim(simArgs(s.address, dir));
    const back = Promise.all([present(s, 't1'), present(s, 't2')]);
    const line = await sim.registeredWith(s.address);
    assert.equal(line.topics, 2);
    await back;
  } finally {
    await sim.terminate();
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('simulated broker: commands are applied to broker.json before the answer, and survive a restart', async () => {
  const fake = new FakeNameServer();
  await fake.start();
  const s = await startServer();
  const dir = await mkdtemp(path.join(tmpdir(), 'broker-sim-'));
  let sim = new Sim(simArgs(fake.address, dir, ['--topics', 't1']));
  try {
    await sim.registeredWith(fake.address);
    const wanted = topic('x', { readQueueNums: 4, writeQueueNums: 4 });
    const r1 = await fake.command({ commandId: 'c-1', action: { $case: 'createTopic', createTopic: { topic: wanted } } });
    assert.equal(r1.outcome, CommandOutcome.COMMAND_OUTCOME_OK);
    // Durable before the answer: the file already holds it.
    const file = JSON.parse(await readFile(path.join(dir, 'broker.json'), 'utf8')) as { topics: unknown[] };
    assert.deepEqual(
      file.topics.map((t) => TopicConfig.fromJSON(t)).find((t) => t.name === 'x'),
      wanted,
    );
    assert.ok(fake.indexOf(isDeltaUpserting('x')) < fake.indexOf(isResult('c-1')));

    const r2 = await fake.command({ commandId: 'c-2', action: { $case: 'createTopic', createTopic: { topic: wanted } } });
    assert.equal(r2.outcome, CommandOutcome.COMMAND_OUTCOME_OK, 'identical create is idempotent');
    const r3 = await fake.command({ commandId: 'c-3', action: { $case: 'createTopic', createTopic: { topic: topic('x', { readQueueNums: 16, writeQueueNums: 4 }) } } });
    assert.equal(r3.outcome, CommandOutcome.COMMAND_OUTCOME_ALREADY_EXISTS);
    assert.match(r3.message, /read_queue_nums 4 → 16/);
    const r4 = await fake.command({ commandId: 'c-4', action: { $case: 'deleteTopic', deleteTopic: { name: 'nope' } } });
    assert.equal(r4.outcome, CommandOutcome.COMMAND_OUTCOME_NOT_FOUND);

    const unregistered = once(fake, 'unregister');
    assert.equal((await sim.terminate()).code, 0);
    await unregistered;

    // Restart against a real NameServer: x comes back from the file.
    sim = new Sim(simArgs(s.address, dir));
    const back = Promise.all([present(s, 't1'), present(s, 'x')]);
    await sim.registeredWith(s.address);
    await back;
    assert.equal(s.server.core.routes.get('x')!.route.brokers[0]!.readQueueNums, 4);
  } finally {
    await sim.terminate();
    fake.stop();
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
