/**
 * PositionManager: the latest queue offsets and consumer-group committed offsets each broker reported,
 * and the consumer lag derived from them (Admin `GetTopic` queue data, `GetConsumerLag`, `ListGroups`).
 *
 * Plain data in, copies out; no transport types. The generated admin types are imported
 * with `import type` so this module never loads grpc-js at run time.
 */
import type { ConsumerPosition, QueuePosition } from '../../../generated/nameserver/v1/common';
import type { GetConsumerLagResponse, QueueLag, TopicLag } from '../../../generated/nameserver/v1/admin';
import { replicaSetKey, type BrokerKey, type BrokerRef, type GroupName, type TopicName } from './types';

/** Queue index within a topic on one broker. */
export type QueueId = number;

/** Counts for metrics. */
export interface PositionStats {
  /** Brokers currently holding at least one position. */
  brokers: number;
  /** (broker, topic, queue) max/min offsets held. */
  queuePositions: number;
  /** (broker, group, topic, queue) committed offsets held. */
  consumerPositions: number;
}

/** What one broker told us. Nested by the keys lag lookups walk, so no composite-string keys are built. */
interface BrokerPositions {
  ref: BrokerRef;
  queues: Map<TopicName, Map<QueueId, QueuePosition>>;
  /** group -> topic -> queue -> committed offset. */
  consumers: Map<GroupName, Map<TopicName, Map<QueueId, number>>>;
  queueCount: number;
  consumerCount: number;
}

/** Orders strings by UTF-16 code units: deterministic across locales, unlike `localeCompare`. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Holds per-broker positions and answers lag queries.
 *
 * Cost model: `report` touches only the entries in the report (plus, for a full report, the entries this
 * broker held before, each of which was paid for when it was inserted, so amortised O(report)).
 * `lag(group)` walks only that group's brokers via an index, never every position held.
 */
export class PositionManager {
  private readonly brokers = new Map<BrokerKey, BrokerPositions>();
  /**
   * group -> topic -> brokers holding committed offsets for it. Lets `lag` find a group's data without
   * scanning every broker. Kept exact: a broker leaves the set when its last queue for that pair goes.
   */
  private readonly groupIndex = new Map<GroupName, Map<TopicName, Set<BrokerKey>>>();
  private queueCount = 0;
  private consumerCount = 0;

  /**
   * Store a broker's positions report.
   *
   * @param full true: the report is everything this broker holds, so earlier entries it no longer lists
   *   are dropped. false: a delta; named entries are updated and all others kept.
   * @returns how many queue and consumer positions this broker holds after the report.
   */
  report(
    broker: BrokerRef,
    queuePositions: readonly QueuePosition[],
    consumerPositions: readonly ConsumerPosition[],
    full: boolean,
  ): { queues: number; consumers: number } {
    if (full) this.removeBroker(broker.key);
    let held = this.brokers.get(broker.key);
    if (!held) {
      held = { ref: { ...broker }, queues: new Map(), consumers: new Map(), queueCount: 0, consumerCount: 0 };
      this.brokers.set(broker.key, held);
    } else {
      held.ref = { ...broker };
    }

    for (const q of queuePositions) {
      let byQueue = held.queues.get(q.topic);
      if (!byQueue) {
        byQueue = new Map();
        held.queues.set(q.topic, byQueue);
      }
      if (!byQueue.has(q.queueId)) {
        held.queueCount++;
        this.queueCount++;
      }
      // Copy the four fields so later mutation of the caller's (decoded request) object cannot reach us.
      byQueue.set(q.queueId, { topic: q.topic, queueId: q.queueId, minOffset: q.minOffset, maxOffset: q.maxOffset });
    }

    for (const c of consumerPositions) {
      let byTopic = held.consumers.get(c.group);
      if (!byTopic) {
        byTopic = new Map();
        held.consumers.set(c.group, byTopic);
      }
      let byQueue = byTopic.get(c.topic);
      if (!byQueue) {
        byQueue = new Map();
        byTopic.set(c.topic, byQueue);
        this.index(c.group, c.topic, broker.key);
      }
      if (!byQueue.has(c.queueId)) {
        held.consumerCount++;
        this.consumerCount++;
      }
      byQueue.set(c.queueId, c.committedOffset);
    }

    const result = { queues: held.queueCount, consumers: held.consumerCount };
    // An empty broker record would only inflate `stats().brokers`; drop it.
    if (held.queueCount === 0 && held.consumerCount === 0) this.brokers.delete(broker.key);
    return result;
  }

  /**
   * Forget everything a broker reported (it unregistered or expired): its offsets must not keep
   * feeding lag after it left. Returns whether anything was held.
   */
  removeBroker(key: BrokerKey): boolean {
    const held = this.brokers.get(key);
    if (!held) return false;
    for (const [group, byTopic] of held.consumers) {
      for (const topic of byTopic.keys()) this.unindex(group, topic, key);
    }
    this.queueCount -= held.queueCount;
    this.consumerCount -= held.consumerCount;
    this.brokers.delete(key);
    return true;
  }

  /**
   * Copies of one broker's queue positions, ordered by topic then queue id (for Admin `GetTopic`).
   * Unknown broker: empty.
   */
  queuePositions(key: BrokerKey, topic?: TopicName): QueuePosition[] {
    const held = this.brokers.get(key);
    if (!held) return [];
    const out: QueuePosition[] = [];
    const topics = topic ? [topic] : [...held.queues.keys()].sort(cmp);
    for (const t of topics) {
      const byQueue = held.queues.get(t);
      if (!byQueue) continue;
      const start = out.length;
      for (const q of byQueue.values()) out.push({ ...q });
      sortRange(out, start, (a, b) => a.queueId - b.queueId);
    }
    return out;
  }

  /**
   * A group's lag per topic and queue.
   *
   * - Per queue `lag = max(0, maxOffset - committedOffset)`: a committed offset ahead of the max (the
   *   reports were taken at different instants) means "caught up", never negative lag.
   * - `maxOffset` comes from the queue positions of the same broker that reported the committed offset,
   *   so both numbers describe the same replica's log.
   * - Missing max offset (the broker reported a committed offset but no queue position for that queue):
   *   the queue is listed with `maxOffset: 0` and `lag: 0`. We do not know the lag, and inventing one
   *   would page operators for nothing; listing the queue still shows the committed offset.
   * - Replicas of one replica set (same cluster and brokerName) mirror the same queues, so for each queue
   *   only the replica with the lowest brokerId (normally the leader) counts; otherwise lag would be
   *   counted once per replica.
   *
   * Unknown group (or no data for `topic`): `{ group, totalLag: 0, topics: [] }`; the caller decides
   * whether that is NOT_FOUND.
   *
   * @param topic only this topic; empty or undefined means every topic of the group.
   */
  lag(group: GroupName, topic?: TopicName): GetConsumerLagResponse {
    const topics: TopicLag[] = [];
    let totalLag = 0;
    for (const t of this.topicsOf(group, topic).sort(cmp)) {
      const queues: QueueLag[] = [];
      let topicLag = 0;
      this.forEachQueueLag(group, t, (q) => {
        queues.push(q);
        topicLag += q.lag;
      });
      if (queues.length === 0) continue;
      // Array.prototype.sort is stable and replicas were visited in cluster order, so equal
      // (brokerName, queueId, brokerId) from two clusters keep a deterministic order too.
      queues.sort((a, b) => cmp(a.brokerName, b.brokerName) || a.queueId - b.queueId || a.brokerId - b.brokerId);
      topics.push({ topic: t, lag: topicLag, queues });
      totalLag += topicLag;
    }
    return { group, totalLag, topics };
  }

  /**
   * The group's total lag, same rules as {@link lag}, without building or sorting the per-queue detail
   * (for `ListGroups`, which shows one number per group).
   */
  totalLag(group: GroupName): number {
    let total = 0;
    for (const t of this.topicsOf(group)) this.forEachQueueLag(group, t, (q) => (total += q.lag));
    return total;
  }

  /** Groups for which some broker holds committed offsets, ordered by name. */
  groupsWithPositions(): GroupName[] {
    return [...this.groupIndex.keys()].sort(cmp);
  }

  /** Counts for metrics; O(1). */
  stats(): PositionStats {
    return { brokers: this.brokers.size, queuePositions: this.queueCount, consumerPositions: this.consumerCount };
  }

  private topicsOf(group: GroupName, topic?: TopicName): TopicName[] {
    const byTopic = this.groupIndex.get(group);
    if (!byTopic) return [];
    if (topic) return byTopic.has(topic) ? [topic] : [];
    return [...byTopic.keys()];
  }

  /** Calls `fn` once per queue of (group, topic), after replica de-duplication. Order is unspecified. */
  private forEachQueueLag(group: GroupName, topic: TopicName, fn: (q: QueueLag) => void): void {
    const keys = this.groupIndex.get(group)?.get(topic);
    if (!keys) return;
    // Visit replicas in (replica set, brokerId) order so the first replica seen for a queue is the
    // lowest brokerId of its set; later replicas of the same set skip queues already counted.
    const replicas = [...keys]
      .map((k) => this.brokers.get(k)!)
      .sort((a, b) => cmp(a.ref.cluster, b.ref.cluster) || cmp(a.ref.brokerName, b.ref.brokerName) || a.ref.brokerId - b.ref.brokerId);
    let setKey = '';
    let counted = new Set<QueueId>();
    for (const held of replicas) {
      const thisSet = replicaSetKey(held.ref.cluster, held.ref.brokerName);
      if (thisSet !== setKey) {
        setKey = thisSet;
        counted = new Set();
      }
      const committed = held.consumers.get(group)?.get(topic);
      if (!committed) continue;
      const maxByQueue = held.queues.get(topic);
      for (const [queueId, committedOffset] of committed) {
        if (counted.has(queueId)) continue;
        counted.add(queueId);
        const maxOffset = maxByQueue?.get(queueId)?.maxOffset;
        fn({
          brokerName: held.ref.brokerName,
          brokerId: held.ref.brokerId,
          queueId,
          maxOffset: maxOffset ?? 0,
          committedOffset,
          lag: maxOffset === undefined ? 0 : Math.max(0, maxOffset - committedOffset),
        });
      }
    }
  }

  private index(group: GroupName, topic: TopicName, key: BrokerKey): void {
    let byTopic = this.groupIndex.get(group);
    if (!byTopic) {
      byTopic = new Map();
      this.groupIndex.set(group, byTopic);
    }
    let keys = byTopic.get(topic);
    if (!keys) {
      keys = new Set();
      byTopic.set(topic, keys);
    }
    keys.add(key);
  }

  private unindex(group: GroupName, topic: TopicName, key: BrokerKey): void {
    const byTopic = this.groupIndex.get(group);
    const keys = byTopic?.get(topic);
    if (!byTopic || !keys) return;
    keys.delete(key);
    if (keys.size === 0) byTopic.delete(topic);
    if (byTopic.size === 0) this.groupIndex.delete(group);
  }
}

/** Sorts `arr[start..]` in place; avoids re-sorting the prefix already ordered by topic. */
function sortRange<T>(arr: T[], start: number, compare: (a: T, b: T) => number): void {
  if (arr.length - start < 2) return;
  const tail = arr.splice(start).sort(compare);
  for (const x of tail) arr.push(x);
}

/** What callers outside the metadata module may use of the position manager: reads only. */
export type PositionReader = Pick<PositionManager, 'queuePositions' | 'lag' | 'totalLag' | 'groupsWithPositions' | 'stats'>;
