/**
 * RocketMQ's read views of the registry (TopicRouteData, ClusterInfo, TopicList, BrokerMemberGroup),
 * built from the same route table and managers the gRPC services read, for every broker whichever
 * door it registered through. Objects are built with their fields in name order, as fastjson writes
 * them; `writeJson` turns them into bytes.
 */
import type { BrokerRoute } from '../../../generated/nameserver/v1/route_query';
import type { Registry } from '../../metadata/registry';
import type { BrokerState } from '../../metadata/broker-manager';
import { brokerKey } from '../../metadata/types';
import { NumberKeyMap } from './json';
import { FLAG_UNIT, FLAG_UNIT_SUB, rmqPerm, sysFlagOf } from './translate';
import type { RemotingBrokers } from './brokers';

/** The registry and the remoting directory (for HA and acting-master details). */
export interface ViewSource {
  registry: Registry;
  brokers: RemotingBrokers;
}

/** BrokerData of a replica set: its live replicas' first addresses by broker id. */
function brokerData(src: ViewSource, cluster: string, brokerName: string, zone: string, replicas: readonly BrokerState[]) {
  const leaderKey = brokerKey(cluster, brokerName, 0);
  return {
    brokerAddrs: new NumberKeyMap(replicas.map((r) => [r.brokerId, r.addresses[0] ?? ''] as const)),
    brokerName,
    cluster,
    enableActingMaster: src.brokers.enableActingMaster(leaderKey) || replicas.some((r) => src.brokers.enableActingMaster(r.key)),
    zoneName: zone || undefined,
  };
}

/** Config of the replica set's lowest-id replica that reports the topic (what the route shows). */
function configOf(src: ViewSource, topic: string, b: BrokerRoute) {
  const holders = src.registry.topics.holders(topic);
  let best: { id: number; key: string } | undefined;
  for (const key of holders?.keys() ?? []) {
    const s = src.registry.brokers.get(key);
    if (s && s.cluster === b.cluster && s.brokerName === b.brokerName && (!best || s.brokerId < best.id)) best = { id: s.brokerId, key };
  }
  return best ? holders!.get(best.key) : undefined;
}

/**
 * TopicRouteData of a topic, or undefined when no live broker reports it. With `zone` (a client in
 * zone mode), replica sets whose leader is in another zone are left out; a replica set without a
 * leader is kept (its followers serve reads), as RocketMQ's zone filter does.
 */
export function topicRouteData(src: ViewSource, topic: string, zone?: string) {
  const route = src.registry.routes.get(topic)?.route;
  if (!route) return undefined;
  const brokers = route.brokers.filter((b) => {
    if (!zone) return true;
    const hasLeader = b.replicas.some((r) => r.brokerId === 0);
    return !hasLeader || b.zone.toLowerCase() === zone.toLowerCase();
  });
  return {
    brokerDatas: brokers.map((b) =>
      brokerData(src, b.cluster, b.brokerName, b.zone, src.registry.brokers.replicaSet(b.cluster, b.brokerName)),
    ),
    filterServerTable: {},
    queueDatas: brokers.map((b) => {
      const config = configOf(src, topic, b);
      return {
        brokerName: b.brokerName,
        perm: rmqPerm(b.permission, config),
        readQueueNums: b.readQueueNums,
        topicSysFlag: sysFlagOf(config),
        writeQueueNums: b.writeQueueNums,
      };
    }),
  };
}

/** ClusterInfo: every replica set by name, and the replica sets of every cluster. */
export function clusterInfo(src: ViewSource) {
  const brokerAddrTable: Record<string, unknown> = {};
  const clusterAddrTable: Record<string, string[]> = {};
  const seen = new Set<string>();
  const all = src.registry.brokers.all().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const s of all) {
    const set = `${s.cluster}/${s.brokerName}`;
    if (seen.has(set)) continue;
    seen.add(set);
    const replicas = src.registry.brokers.replicaSet(s.cluster, s.brokerName);
    const zone = (replicas.find((r) => r.brokerId === 0) ?? replicas[0]!).zone;
    brokerAddrTable[s.brokerName] = brokerData(src, s.cluster, s.brokerName, zone, replicas);
    (clusterAddrTable[s.cluster] ??= []).push(s.brokerName);
  }
  return { brokerAddrTable, clusterAddrTable };
}

/** TopicList of every topic with a route. */
export function allTopics(src: ViewSource) {
  return { topicList: [...src.registry.routes.sortedTopics()] };
}

/** TopicList of the topics some broker of `cluster` reports. */
export function topicsOfCluster(src: ViewSource, cluster: string) {
  const names = new Set<string>();
  for (const s of src.registry.brokers.all()) {
    if (s.cluster !== cluster) continue;
    for (const t of src.registry.topics.namesOf(s.key)) names.add(t);
  }
  return { topicList: [...names].sort() };
}

/**
 * RocketMQ's "system topic list": cluster names and replica set names (brokers create topics of those
 * names), with one broker address to ask for the rest.
 */
export function systemTopics(src: ViewSource) {
  const names = new Set<string>();
  let brokerAddr: string | undefined;
  for (const s of src.registry.brokers.all()) {
    names.add(s.cluster);
    names.add(s.brokerName);
    brokerAddr ??= s.addresses[0];
  }
  return { brokerAddr, topicList: [...names].sort() };
}

/** Topics whose sys flag (on the first reporting broker) passes `keep`: the unit topic lists. */
export function topicsBySysFlag(src: ViewSource, keep: (flag: number) => boolean) {
  const out: string[] = [];
  for (const t of src.registry.routes.sortedTopics()) {
    const first = src.registry.topics.holders(t)?.values().next().value;
    if (keep(sysFlagOf(first))) out.push(t);
  }
  return { topicList: out };
}

/** The three unit lists RocketMQ serves. */
export const UNIT = {
  unit: (f: number) => (f & FLAG_UNIT) !== 0,
  hasUnitSub: (f: number) => (f & FLAG_UNIT_SUB) !== 0,
  hasUnitSubNotUnit: (f: number) => (f & FLAG_UNIT) === 0 && (f & FLAG_UNIT_SUB) !== 0,
};

/** GetBrokerMemberGroupResponseBody: the live replicas of a replica set. */
export function memberGroup(src: ViewSource, cluster: string, brokerName: string) {
  const replicas = src.registry.brokers.replicaSet(cluster, brokerName);
  return {
    brokerMemberGroup: {
      brokerAddrs: new NumberKeyMap(replicas.map((r) => [r.brokerId, r.addresses[0] ?? ''] as const)),
      brokerName,
      cluster,
    },
  };
}
