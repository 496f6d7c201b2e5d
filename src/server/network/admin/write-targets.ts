/**
 * Which brokers an Admin write goes to. Topics and groups are owned by replica sets and applied by
 * their leaders (broker_id 0), which replicate to followers themselves; a broker-wide permission
 * change goes to every live replica of the replica set. Named targets that this replica does not
 * know are kept (as leader refs) so the answer reports them instead of silently skipping them.
 */
import type { MetadataCore } from '../../metadata/core';
import { brokerRef, replicaSetKey, type BrokerRef } from '../../metadata/types';
import { GroupNotFound, NotRegistered, TopicNotFound } from '../../metadata/errors';

/** Where a write is aimed: a cluster, named replica sets, or neither (wherever the entity exists). */
export interface TargetSpec {
  cluster: string;
  brokerNames: readonly string[];
}

function leadersOfCluster(r: MetadataCore, cluster: string): BrokerRef[] {
  const sets = new Map<string, BrokerRef>();
  for (const s of r.brokers.all()) {
    if (s.cluster === cluster) sets.set(replicaSetKey(s.cluster, s.brokerName), brokerRef(s.cluster, s.brokerName, 0));
  }
  return [...sets.values()];
}

/** "a, b, c" (at most 10, then "and N more"), or "none". */
function known(names: Iterable<string>): string {
  const list = [...new Set(names)].sort();
  if (list.length === 0) return 'none';
  return list.length > 10 ? `${list.slice(0, 10).join(', ')} and ${list.length - 10} more` : list.join(', ');
}

/** The error for a cluster with no registered broker. */
function unknownCluster(r: MetadataCore, cluster: string): NotRegistered {
  return new NotRegistered(`cluster "${cluster}" has no registered brokers; known clusters: ${known(r.brokers.all().map((s) => s.cluster))}`);
}

/** The error for replica sets of which none is registered (in the cluster, when one is given). */
function unknownReplicaSets(r: MetadataCore, names: readonly string[], cluster: string): NotRegistered {
  const where = cluster ? ` in cluster "${cluster}"` : '';
  const sets = r.brokers.all().filter((s) => !cluster || s.cluster === cluster).map((s) => s.brokerName);
  const what = names.length === 1 ? `replica set "${names[0]}" is` : `replica sets ${names.map((n) => `"${n}"`).join(', ')} are`;
  return new NotRegistered(`${what} not registered${where}; known replica sets${where}: ${known(sets)}`);
}

function leadersNamed(r: MetadataCore, names: readonly string[], cluster: string): BrokerRef[] {
  const out = new Map<string, BrokerRef>();
  const all = r.brokers.all();
  // A typo in every name is refused as a whole; a known set among unknown ones goes ahead, and each
  // unknown one is named in the per-broker results (it may be down, or not reporting to this replica).
  const unknown = [...new Set(names)].filter((n) => !all.some((s) => s.brokerName === n && (!cluster || s.cluster === cluster)));
  if (unknown.length === new Set(names).size) throw unknownReplicaSets(r, unknown, cluster);
  for (const name of new Set(names)) {
    const clusters = new Set(all.filter((s) => s.brokerName === name && (!cluster || s.cluster === cluster)).map((s) => s.cluster));
    if (clusters.size === 0) clusters.add(cluster); // unknown here: reported as such, cluster as given (maybe '')
    for (const c of clusters) out.set(replicaSetKey(c, name), brokerRef(c, name, 0));
  }
  return [...out.values()];
}

function sortRefs(refs: BrokerRef[]): BrokerRef[] {
  return refs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Targets of a create: every replica set of the cluster, or the named ones. */
export function createTargets(r: MetadataCore, spec: TargetSpec): BrokerRef[] {
  if (spec.brokerNames.length > 0) return sortRefs(leadersNamed(r, spec.brokerNames, spec.cluster));
  const refs = leadersOfCluster(r, spec.cluster);
  if (refs.length === 0) throw unknownCluster(r, spec.cluster);
  return sortRefs(refs);
}

/**
 * Targets of an update or delete: the replica sets where the topic (or group) exists, narrowed by
 * cluster; named replica sets are taken as given.
 */
export function existingTargets(r: MetadataCore, kind: 'topic' | 'group', name: string, spec: TargetSpec): BrokerRef[] {
  if (spec.brokerNames.length > 0) return sortRefs(leadersNamed(r, spec.brokerNames, spec.cluster));
  const holders = kind === 'topic' ? r.topics.holders(name) : r.groups.holders(name);
  const sets = new Map<string, BrokerRef>();
  for (const key of holders?.keys() ?? []) {
    const s = r.brokers.get(key);
    if (s && (!spec.cluster || s.cluster === spec.cluster)) {
      sets.set(replicaSetKey(s.cluster, s.brokerName), brokerRef(s.cluster, s.brokerName, 0));
    }
  }
  if (sets.size === 0) throw kind === 'topic' ? new TopicNotFound(name) : new GroupNotFound(name);
  return sortRefs([...sets.values()]);
}

/** Targets of a permission change: every live replica of the replica set. */
export function replicaSetTargets(r: MetadataCore, cluster: string, brokerName: string): BrokerRef[] {
  const replicas = r.brokers.replicaSet(cluster, brokerName);
  if (replicas.length === 0) {
    throw r.brokers.all().some((s) => s.cluster === cluster) ? unknownReplicaSets(r, [brokerName], cluster) : unknownCluster(r, cluster);
  }
  return replicas.map((s) => brokerRef(s.cluster, s.brokerName, s.brokerId));
}
