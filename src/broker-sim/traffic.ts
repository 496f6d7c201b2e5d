/**
 * Plausible positions and client instances for the simulated broker, derived from its configuration
 * and the wall clock so they need no state and keep growing across restarts:
 *
 * - each topic queue has a rate (0.1..5 messages/s, from a hash of topic and queue); its max offset is
 *   rate × seconds since 2024-01-01, its min offset trails by three days of traffic (retention);
 * - each group subscribed to a topic on this broker has a committed offset per queue lagging a few
 *   seconds of traffic behind the max offset, the lag wobbling slowly over time;
 * - a few producers (one per topic, for the first topics) and consumers (two per group) with stable
 *   client ids, hosts in 10.0.0.0/8, languages JAVA and GO.
 */
import {
  ClientRole,
  type ClientInstance,
  type ConsumerPosition,
  type GroupConfig,
  type QueuePosition,
  type TopicConfig,
} from '../../generated/nameserver/v1/common';
import type { PositionsReport } from '../broker-agent/types';

/** Where the model reads the broker's configuration. */
export interface TrafficSource {
  topics(): TopicConfig[];
  groups(): GroupConfig[];
}

/** Settings of the model. */
export interface TrafficOptions {
  /** Salt for the hashes, so two simulated brokers do not report identical numbers. */
  brokerName: string;
  /** Clock (ms since the epoch); tests drive it. */
  now?: () => number;
  /**
   * Most queue positions per report. A broker with 100,000 topics of 8 queues would otherwise report
   * 800,000 positions (tens of MB, beyond the NameServer's message limit); the first topics are kept.
   */
  maxQueuePositions?: number;
  /** Producers simulated (one per topic, first topics first). */
  producers?: number;
  /** Consumers simulated per group. */
  consumersPerGroup?: number;
  /** Groups with simulated consumers (first groups first). */
  groupsWithConsumers?: number;
}

const ORIGIN_MS = Date.UTC(2024, 0, 1);
const RETENTION_S = 3 * 24 * 3600;

/** FNV-1a, 32 bits: stable, fast, good enough to spread rates. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** See the module comment. */
export class TrafficModel {
  private readonly now: () => number;

  constructor(
    private readonly source: TrafficSource,
    private readonly opts: TrafficOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Messages per second of one queue. */
  rate(topic: string, queueId: number): number {
    return (1 + (hash32(`${this.opts.brokerName}/${topic}#${queueId}`) % 50)) / 10;
  }

  /** A full positions report at the current time. */
  positions(): PositionsReport {
    const seconds = Math.max(0, (this.now() - ORIGIN_MS) / 1000);
    const max = this.opts.maxQueuePositions ?? 50_000;
    const queuePositions: QueuePosition[] = [];
    const byTopic = new Map<string, QueuePosition[]>();
    for (const t of this.source.topics()) {
      const queues = Math.max(t.readQueueNums, t.writeQueueNums);
      if (queuePositions.length + queues > max) break;
      const list: QueuePosition[] = [];
      for (let q = 0; q < queues; q++) {
        const rate = this.rate(t.name, q);
        const maxOffset = Math.floor(rate * seconds);
        const minOffset = Math.max(0, maxOffset - Math.floor(rate * RETENTION_S));
        list.push({ topic: t.name, queueId: q, minOffset, maxOffset });
      }
      queuePositions.push(...list);
      byTopic.set(t.name, list);
    }
    const consumerPositions: ConsumerPosition[] = [];
    for (const g of this.source.groups()) {
      for (const sub of g.subscriptions) {
        for (const qp of byTopic.get(sub.topic) ?? []) {
          const h = hash32(`${g.name}/${sub.topic}#${qp.queueId}`);
          // A consumer a few seconds of traffic behind, more or less as time goes by.
          const behindSeconds = (2 + (h % 30)) * (1 + 0.5 * Math.sin(seconds / 60 + (h % 628) / 100));
          const lag = Math.floor(this.rate(sub.topic, qp.queueId) * behindSeconds);
          consumerPositions.push({ group: g.name, topic: sub.topic, queueId: qp.queueId, committedOffset: Math.max(qp.minOffset, qp.maxOffset - lag) });
        }
      }
    }
    return { queuePositions, consumerPositions };
  }

  /** The client instances connected now (stable ids, so reports replace rather than churn). */
  instances(): ClientInstance[] {
    const out: ClientInstance[] = [];
    const client = (role: ClientRole, group: string, topics: string[], seed: string): ClientInstance => {
      const h = hash32(`${this.opts.brokerName}/${seed}`);
      const host = `10.${(h >>> 16) & 0xff}.${(h >>> 8) & 0xff}.${(h & 0xfe) + 1}`;
      const java = h % 2 === 0;
      return {
        clientId: `${host}@${1000 + (h % 60000)}#${seed}`,
        role,
        group,
        topics,
        host,
        language: java ? 'JAVA' : 'GO',
        version: java ? '5.3.1' : 'v2.1.2',
      };
    };
    for (const t of this.source.topics().slice(0, this.opts.producers ?? 3)) {
      out.push(client(ClientRole.CLIENT_ROLE_PRODUCER, '', [t.name], `producer-${t.name}`));
    }
    for (const g of this.source.groups().slice(0, this.opts.groupsWithConsumers ?? 10)) {
      const topics = g.subscriptions.map((s) => s.topic);
      for (let i = 0; i < (this.opts.consumersPerGroup ?? 2); i++) {
        out.push(client(ClientRole.CLIENT_ROLE_CONSUMER, g.name, topics, `consumer-${g.name}-${i}`));
      }
    }
    return out;
  }
}
