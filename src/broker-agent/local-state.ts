/**
 * The broker's own view of what it reports: identity, topics, groups, permission, and the data
 * version (a random epoch per agent start, a counter that grows with every change). Pure: no network,
 * so it is unit-tested directly. It produces the two report shapes the sessions send: the full
 * registration (split into chunks) and the delta of one change.
 */
import { randomUUID } from 'node:crypto';
import type { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { GroupConfig, MessageType, Permission, TopicConfig } from '../../generated/nameserver/v1/common';
import { normalisePermission, sameGroupConfig, sameTopicConfig } from './config-equality';
import type { GroupInput, GroupName, TopicInput, TopicName } from './types';

/** Read and write queues of a topic given by name only (RocketMQ's BrokerConfig.defaultTopicQueueNums). */
export const DEFAULT_QUEUE_NUMS = 8;
/** Topics (and groups) per registration chunk. */
export const DEFAULT_CHUNK_SIZE = 5_000;

/** The broker identity and descriptive fields repeated in every registration chunk. */
export interface ChunkHeader {
  cluster: string;
  brokerName: string;
  brokerId: number;
  addresses: readonly string[];
  zone: string;
  softwareVersion: string;
}

/** One change of topics or groups: what a ReportDelta carries. */
export interface Change {
  /** The counter before the change. */
  baseCounter: number;
  /** The counter after it. */
  counter: number;
  upsertTopics: TopicConfig[];
  deleteTopics: TopicName[];
  upsertGroups: GroupConfig[];
  deleteGroups: GroupName[];
}

const NAME = /^[%|a-zA-Z0-9_-]+$/;

/**
 * Reject what the NameServer would refuse, here, with a clear error to the caller: a bad name in a
 * delta would otherwise fail on every NameServer and, through the re-register that follows, take the
 * whole registration down with it.
 */
function checkName(kind: 'topic' | 'group', name: string, max: number): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > max) {
    throw new TypeError(`invalid ${kind} name ${JSON.stringify(name)}: must match ${NAME} and have at most ${max} characters`);
  }
}

/** A full TopicConfig from a name or a partial config (missing fields: defaults). */
export function toTopicConfig(t: TopicName | TopicInput, maxQueueNums = 1024): TopicConfig {
  const cfg =
    typeof t === 'string'
      ? TopicConfig.fromPartial({
          name: t,
          readQueueNums: DEFAULT_QUEUE_NUMS,
          writeQueueNums: DEFAULT_QUEUE_NUMS,
          permission: Permission.PERMISSION_READ_WRITE,
          messageType: MessageType.MESSAGE_TYPE_NORMAL,
        })
      : TopicConfig.fromPartial({ readQueueNums: DEFAULT_QUEUE_NUMS, writeQueueNums: DEFAULT_QUEUE_NUMS, ...t });
  checkName('topic', cfg.name, 127);
  for (const [field, n] of [['readQueueNums', cfg.readQueueNums], ['writeQueueNums', cfg.writeQueueNums]] as const) {
    if (!Number.isInteger(n) || n < 1 || n > maxQueueNums) {
      throw new RangeError(`topic ${cfg.name}: ${field} must be an integer in 1..${maxQueueNums}, got ${n}`);
    }
  }
  return cfg;
}

/** A full GroupConfig from a name or a partial config. */
export function toGroupConfig(g: GroupName | GroupInput): GroupConfig {
  const cfg = GroupConfig.fromPartial(typeof g === 'string' ? { name: g } : g);
  checkName('group', cfg.name, 120);
  for (const s of cfg.subscriptions) checkName('topic', s.topic, 127);
  return cfg;
}

/** See the module comment. */
export class LocalState {
  /** Boot id of this agent start. */
  readonly epoch: string;
  private counterValue = 1;
  private readonly topicMap = new Map<TopicName, TopicConfig>();
  private readonly groupMap = new Map<GroupName, GroupConfig>();
  private permissionValue: Permission;
  /** The chunks of the latest registration built; every change bumps the counter, which keys it. */
  private built: { counter: number; chunks: RegisterBrokerRequest[] } | undefined;

  constructor(
    readonly header: Readonly<ChunkHeader>,
    init: { topics?: readonly TopicConfig[]; groups?: readonly GroupConfig[]; permission?: Permission } = {},
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
    epoch: string = randomUUID(),
  ) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    this.epoch = epoch;
    for (const t of init.topics ?? []) this.topicMap.set(t.name, t);
    for (const g of init.groups ?? []) this.groupMap.set(g.name, g);
    this.permissionValue = normalisePermission(init.permission ?? Permission.PERMISSION_READ_WRITE);
  }

  /** The current data version counter. */
  get counter(): number {
    return this.counterValue;
  }

  /** The broker-wide permission. */
  get permission(): Permission {
    return this.permissionValue;
  }

  /** A topic's config. */
  topic(name: TopicName): TopicConfig | undefined {
    return this.topicMap.get(name);
  }

  /** A group's config. */
  group(name: GroupName): GroupConfig | undefined {
    return this.groupMap.get(name);
  }

  /** Every topic (copies of the list; the configs themselves are not shared with callers' inputs). */
  topics(): TopicConfig[] {
    return [...this.topicMap.values()];
  }

  /** Every group. */
  groups(): GroupConfig[] {
    return [...this.groupMap.values()];
  }

  /** Add or change topics; those already held with the same meaning are skipped. */
  upsertTopics(cfgs: readonly TopicConfig[]): Change | undefined {
    const changed = dedupe(cfgs).filter((c) => {
      const held = this.topicMap.get(c.name);
      return !held || !sameTopicConfig(held, c);
    });
    if (changed.length === 0) return undefined;
    for (const c of changed) this.topicMap.set(c.name, c);
    return this.bump({ upsertTopics: changed });
  }

  /** Remove topics; names not held are skipped. */
  deleteTopics(names: readonly TopicName[]): Change | undefined {
    const gone = [...new Set(names)].filter((n) => this.topicMap.delete(n));
    return gone.length === 0 ? undefined : this.bump({ deleteTopics: gone });
  }

  /** Add or change groups; those already held with the same meaning are skipped. */
  upsertGroups(cfgs: readonly GroupConfig[]): Change | undefined {
    const changed = dedupe(cfgs).filter((c) => {
      const held = this.groupMap.get(c.name);
      return !held || !sameGroupConfig(held, c);
    });
    if (changed.length === 0) return undefined;
    for (const c of changed) this.groupMap.set(c.name, c);
    return this.bump({ upsertGroups: changed });
  }

  /** Remove groups; names not held are skipped. */
  deleteGroups(names: readonly GroupName[]): Change | undefined {
    const gone = [...new Set(names)].filter((n) => this.groupMap.delete(n));
    return gone.length === 0 ? undefined : this.bump({ deleteGroups: gone });
  }

  /**
   * Change the broker-wide permission. Returns whether it changed. The permission travels only in
   * RegisterBrokerRequest, so a change means a full re-register; the counter still moves so that a
   * NameServer holding the old version does not skip it as "already held".
   */
  setPermission(p: Permission): boolean {
    const next = normalisePermission(p);
    if (next === this.permissionValue) return false;
    this.permissionValue = next;
    this.counterValue++;
    return true;
  }

  /**
   * The full registration at the current version, as chunks of at most `chunkSize` topics and
   * `chunkSize` groups each, sharing one data version, chunk_index 0..n-1. Built once per version.
   */
  registration(): RegisterBrokerRequest[] {
    if (this.built?.counter === this.counterValue) return this.built.chunks;
    const topics = [...this.topicMap.values()];
    const groups = [...this.groupMap.values()];
    const n = Math.max(1, Math.ceil(topics.length / this.chunkSize), Math.ceil(groups.length / this.chunkSize));
    const chunks: RegisterBrokerRequest[] = [];
    for (let i = 0; i < n; i++) {
      chunks.push({
        cluster: this.header.cluster,
        brokerName: this.header.brokerName,
        brokerId: this.header.brokerId,
        addresses: [...this.header.addresses],
        zone: this.header.zone,
        softwareVersion: this.header.softwareVersion,
        dataVersion: { epoch: this.epoch, counter: this.counterValue },
        topics: topics.slice(i * this.chunkSize, (i + 1) * this.chunkSize),
        groups: groups.slice(i * this.chunkSize, (i + 1) * this.chunkSize),
        permission: this.permissionValue,
        chunkIndex: i,
        chunkCount: n,
        leaseTtlMs: 0,
      });
    }
    this.built = { counter: this.counterValue, chunks };
    return chunks;
  }

  private bump(parts: Partial<Change>): Change {
    const baseCounter = this.counterValue++;
    return { baseCounter, counter: this.counterValue, upsertTopics: [], deleteTopics: [], upsertGroups: [], deleteGroups: [], ...parts };
  }
}

/** The last config of each name (a delta may not name one twice). */
function dedupe<T extends { name: string }>(cfgs: readonly T[]): T[] {
  return [...new Map(cfgs.map((c) => [c.name, c])).values()];
}
