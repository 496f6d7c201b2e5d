/**
 * Read views for the console: pure functions from the registry's managers to the Admin response
 * messages (plain data). Listings are sorted and paginated with `paging.ts`.
 */
import type {
  BrokerInfo,
  ClusterInfo,
  GetGroupResponse,
  GetTopicResponse,
  GroupSummary,
  ListBrokersRequest,
  ListBrokersResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ListRouteVersionsRequest,
  ListRouteVersionsResponse,
  ListTopicsRequest,
  ListTopicsResponse,
  TopicSummary,
} from '../../../../generated/nameserver/v1/admin';
import { ConsumeMode, GroupConfig, TopicConfig } from '../../../../generated/nameserver/v1/common';
import type { BrokerState } from '../../metadata/broker-manager';
import { GroupNotFound, TopicNotFound } from '../../metadata/errors';
import { page, pageSize } from './paging';
import type { MetadataCore } from '../../metadata/core';

/** A broker as the console sees it. */
export function brokerInfo(r: MetadataCore, s: BrokerState): BrokerInfo {
  const live = r.brokers.liveness(s.key);
  return {
    cluster: s.cluster,
    brokerName: s.brokerName,
    brokerId: s.brokerId,
    addresses: [...s.addresses],
    zone: s.zone,
    softwareVersion: s.softwareVersion,
    permission: s.permission,
    dataVersion: { epoch: s.epoch, counter: Math.max(0, s.counter) },
    sessionKind: s.sessionKind === 'stream' ? 1 : 2,
    topicCount: r.topics.countOf(s.key),
    groupCount: r.groups.countOf(s.key),
    registeredAtMs: s.registeredAtMs,
    lastSeenAtMs: live?.lastSeenAtMs ?? 0,
    leaseExpiresAtMs: live?.leaseExpiresAtMs ?? 0,
  };
}

/** Sort key of a broker: cluster, replica set, numeric id. */
function brokerSortKey(s: BrokerState): string {
  return `${s.cluster}/${s.brokerName}/${String(s.brokerId).padStart(10, '0')}`;
}

function sortedBrokers(r: MetadataCore, cluster = ''): BrokerState[] {
  return r.brokers
    .all()
    .filter((s) => !cluster || s.cluster === cluster)
    .sort((a, b) => (brokerSortKey(a) < brokerSortKey(b) ? -1 : 1));
}

/** Clusters, replica sets and their replicas, sorted. */
export function clusters(r: MetadataCore): ClusterInfo[] {
  const out: ClusterInfo[] = [];
  for (const s of sortedBrokers(r)) {
    let c = out[out.length - 1];
    if (!c || c.name !== s.cluster) out.push((c = { name: s.cluster, replicaSets: [] }));
    let rs = c.replicaSets[c.replicaSets.length - 1];
    if (!rs || rs.brokerName !== s.brokerName) c.replicaSets.push((rs = { brokerName: s.brokerName, replicas: [] }));
    rs.replicas.push(brokerInfo(r, s));
  }
  return out;
}

/** A page of brokers. */
export function listBrokers(r: MetadataCore, req: ListBrokersRequest): ListBrokersResponse {
  const all = sortedBrokers(r, req.cluster);
  const byKey = new Map(all.map((s) => [brokerSortKey(s), s]));
  const p = page([...byKey.keys()], pageSize(req.pageSize), req.pageToken);
  return { brokers: p.keys.map((k) => brokerInfo(r, byKey.get(k)!)), nextPageToken: p.nextPageToken };
}

/** Whether any broker of `cluster` reports the name in `holders`. */
function onCluster(r: MetadataCore, holders: ReadonlyMap<string, unknown> | undefined, cluster: string): boolean {
  if (!cluster) return true;
  for (const key of holders?.keys() ?? []) if (r.brokers.get(key)?.cluster === cluster) return true;
  return false;
}

function topicSummary(r: MetadataCore, name: string): TopicSummary {
  const route = r.routes.get(name)?.route;
  const brokers = route?.brokers ?? [];
  return {
    name,
    messageType: route?.messageType ?? 0,
    brokerNames: brokers.map((b) => b.brokerName),
    totalReadQueueNums: brokers.reduce((n, b) => n + b.readQueueNums, 0),
    totalWriteQueueNums: brokers.reduce((n, b) => n + b.writeQueueNums, 0),
    version: route?.version ?? '',
  };
}

/**
 * A filtered page of sorted names (topics or groups): by name prefix and by cluster (some broker of the
 * cluster reports the name), with the total number of matches.
 */
function filteredPage(
  r: MetadataCore,
  sorted: readonly string[],
  holders: (name: string) => ReadonlyMap<string, unknown> | undefined,
  req: { namePrefix: string; cluster: string; pageSize: number; pageToken: string },
): { keys: string[]; nextPageToken: string; total: number } {
  const keep = (n: string) => n.startsWith(req.namePrefix) && onCluster(r, holders(n), req.cluster);
  const p = page(sorted, pageSize(req.pageSize), req.pageToken, keep);
  const total = req.namePrefix || req.cluster ? sorted.filter(keep).length : sorted.length;
  return { ...p, total };
}

/** A page of topics (those with a route). */
export function listTopics(r: MetadataCore, req: ListTopicsRequest): ListTopicsResponse {
  const p = filteredPage(r, r.routes.sortedTopics(), (t) => r.topics.holders(t), req);
  return { topics: p.keys.map((t) => topicSummary(r, t)), nextPageToken: p.nextPageToken, total: p.total };
}

/** The live brokers among an entity's holders, in broker order, each with the config it reports. */
function reportingBrokers<C>(r: MetadataCore, holders: ReadonlyMap<string, C>): Array<{ state: BrokerState; config: C }> {
  return [...holders]
    .map(([key, config]) => ({ state: r.brokers.get(key), config }))
    .filter((x): x is { state: BrokerState; config: C } => x.state !== undefined)
    .sort((a, b) => (brokerSortKey(a.state) < brokerSortKey(b.state) ? -1 : 1));
}

/** One topic: its route and every reporting broker's config and queue offsets. */
export function getTopic(r: MetadataCore, topic: string): GetTopicResponse {
  const entry = r.routes.get(topic);
  const holders = r.topics.holders(topic);
  if (!entry || !holders) throw new TopicNotFound(topic);
  const brokers = reportingBrokers(r, holders).map(({ state, config }) => ({
    cluster: state.cluster,
    brokerName: state.brokerName,
    brokerId: state.brokerId,
    config: TopicConfig.fromPartial(config),
    queuePositions: r.positions.queuePositions(state.key, topic),
  }));
  return { route: entry.route, brokers };
}

function groupSummary(r: MetadataCore, name: string): GroupSummary {
  const holders = r.groups.holders(name);
  const brokerNames = new Set<string>();
  const topics = new Set<string>();
  let consumeMode = ConsumeMode.CONSUME_MODE_UNSPECIFIED;
  for (const [key, config] of holders ?? []) {
    const s = r.brokers.get(key);
    if (s) brokerNames.add(s.brokerName);
    if (consumeMode === ConsumeMode.CONSUME_MODE_UNSPECIFIED) consumeMode = config.consumeMode;
    for (const sub of config.subscriptions) topics.add(sub.topic);
  }
  return {
    name,
    brokerNames: [...brokerNames].sort(),
    consumeMode,
    topics: [...topics].sort(),
    totalLag: r.positions.totalLag(name),
    instanceCount: r.instances.countByGroup(name),
  };
}

/** A page of groups. */
export function listGroups(r: MetadataCore, req: ListGroupsRequest): ListGroupsResponse {
  const p = filteredPage(r, r.groups.sortedNames(), (g) => r.groups.holders(g), req);
  return { groups: p.keys.map((g) => groupSummary(r, g)), nextPageToken: p.nextPageToken, total: p.total };
}

/** One group in detail. */
export function getGroup(r: MetadataCore, group: string): GetGroupResponse {
  const holders = r.groups.holders(group);
  if (!holders) throw new GroupNotFound(group);
  const brokers = reportingBrokers(r, holders).map(({ state, config }) => ({
    cluster: state.cluster,
    brokerName: state.brokerName,
    brokerId: state.brokerId,
    config: GroupConfig.fromPartial(config),
  }));
  return { summary: groupSummary(r, group), brokers };
}

/** This replica's route versions (all, paginated, or the requested topics). */
export function listRouteVersions(
  r: MetadataCore,
  req: ListRouteVersionsRequest,
  serverId: string,
  warmingUp: boolean,
): ListRouteVersionsResponse {
  if (req.topics.length > 0) {
    const versions = [...new Set(req.topics)]
      .sort()
      .flatMap((topic) => {
        const e = r.routes.get(topic);
        return e ? [{ topic, version: e.version }] : [];
      });
    return { versions, nextPageToken: '', serverId, warmingUp };
  }
  const p = page(r.routes.sortedTopics(), pageSize(req.pageSize, 10_000, 1_000), req.pageToken);
  return {
    versions: p.keys.map((topic) => ({ topic, version: r.routes.get(topic)!.version })),
    nextPageToken: p.nextPageToken,
    serverId,
    warmingUp,
  };
}
