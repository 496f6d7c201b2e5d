/**
 * Simulated brokers in this process for the console's browser tests and screenshots: each is the
 * broker agent SDK over the simulated broker's durable configuration store and traffic model (what
 * `npm run broker` runs), so admin writes from the console really apply (topics and groups, create,
 * update, delete, drain) and positions, lag and client instances are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandOutcome, ConsumeMode, FilterType, type GroupConfig } from '../../generated/nameserver/v1/common';
import { BrokerAgent } from '../../src/broker-agent';
import type { CommandReply } from '../../src/broker-agent/types';
import { ConfigStore } from '../../src/broker-sim/config-store';
import { TrafficModel } from '../../src/broker-sim/traffic';

/** One simulated broker to start. */
export interface SimBrokerSpec {
  cluster: string;
  brokerName: string;
  brokerId?: number;
  /** Address advertised in routes. */
  address: string;
  zone?: string;
  topics?: string[];
  /** Groups, as name → subscribed topics. */
  groups?: Record<string, string[]>;
}

/** A running simulated broker. */
export interface SimBroker {
  spec: SimBrokerSpec;
  agent: BrokerAgent;
  store: ConfigStore;
  stop(): Promise<void>;
}

/** A group config as a broker holds it. */
export function groupConfig(name: string, topics: string[]): GroupConfig {
  return {
    name,
    consumeMode: ConsumeMode.CONSUME_MODE_CLUSTERING,
    subscriptions: topics.map((topic) => ({ topic, expression: '*', filterType: FilterType.FILTER_TYPE_TAG })),
    retryPolicy: { maxAttempts: 16, initialBackoffMs: 1000, maxBackoffMs: 60000 },
    consumeOrderly: false,
    attributes: {},
  };
}

/**
 * Start a simulated broker against `nameservers`; resolves once registered. Topic and group writes the
 * leader applies are copied to `followers` (added later, by startSimBrokers), as a real replica set
 * replicates its leader's configuration.
 */
export async function startSimBroker(nameservers: string, spec: SimBrokerSpec, reportIntervalMs = 1000, followers: SimBroker[] = []): Promise<SimBroker> {
  const dir = mkdtempSync(path.join(tmpdir(), `sim-${spec.brokerName}-`));
  const store = await ConfigStore.open(dir, { seedTopics: spec.topics ?? [] });
  for (const [name, topics] of Object.entries(spec.groups ?? {})) await store.createGroup(groupConfig(name, topics));
  // A change the leader applied is applied by its followers too (before the leader answers).
  const mirror = async (reply: CommandReply, apply: (f: SimBroker) => Promise<unknown>): Promise<CommandReply> => {
    if (reply.outcome === CommandOutcome.COMMAND_OUTCOME_OK) await Promise.all(followers.map(apply));
    return reply;
  };
  const traffic = new TrafficModel(store, { brokerName: spec.brokerName, producers: 2, consumersPerGroup: 2 });
  const agent = new BrokerAgent({
    nameservers,
    cluster: spec.cluster,
    brokerName: spec.brokerName,
    brokerId: spec.brokerId ?? 0,
    addresses: [spec.address],
    zone: spec.zone ?? '',
    softwareVersion: '5.3.1-sim',
    topics: store.topics(),
    groups: store.groups(),
    permission: store.permission,
    handler: {
      createTopic: async (t) => mirror(await store.createTopic(t), (f) => f.store.createTopic(t).then(() => f.agent.upsertTopics([t]))),
      updateTopic: async (t) => mirror(await store.updateTopic(t), (f) => f.store.updateTopic(t).then(() => f.agent.upsertTopics([t]))),
      deleteTopic: async (n) => mirror(await store.deleteTopic(n), (f) => f.store.deleteTopic(n).then(() => f.agent.deleteTopics([n]))),
      createGroup: async (g) => mirror(await store.createGroup(g), (f) => f.store.createGroup(g).then(() => f.agent.upsertGroups([g]))),
      updateGroup: async (g) => mirror(await store.updateGroup(g), (f) => f.store.updateGroup(g).then(() => f.agent.upsertGroups([g]))),
      deleteGroup: async (n) => mirror(await store.deleteGroup(n), (f) => f.store.deleteGroup(n).then(() => f.agent.deleteGroups([n]))),
      setPermission: (p) => store.setPermission(p),
    },
    positions: () => traffic.positions(),
    instances: () => traffic.instances(),
    reportIntervalMs,
    resolveIntervalMs: 0,
  });
  const registered = once(agent, 'registered');
  await agent.start();
  await registered;
  return {
    spec,
    agent,
    store,
    stop: async () => {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Start several (leaders before their followers); stop them all with the returned function. */
export async function startSimBrokers(nameservers: string, specs: SimBrokerSpec[], reportIntervalMs = 1000): Promise<{ brokers: SimBroker[]; stop(): Promise<void> }> {
  const brokers: SimBroker[] = [];
  const followersOf = new Map<string, SimBroker[]>();
  const sorted = [...specs].sort((a, b) => (a.brokerId ?? 0) - (b.brokerId ?? 0));
  for (const spec of sorted) {
    const set = `${spec.cluster}/${spec.brokerName}`;
    if (!followersOf.has(set)) followersOf.set(set, []);
    const b = await startSimBroker(nameservers, spec, reportIntervalMs, (spec.brokerId ?? 0) === 0 ? followersOf.get(set) : []);
    if ((spec.brokerId ?? 0) > 0) followersOf.get(set)!.push(b);
    brokers.push(b);
  }
  return { brokers, stop: async () => void (await Promise.all(brokers.map((b) => b.stop()))) };
}
