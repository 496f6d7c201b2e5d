/**
 * InstanceManager: producer and consumer instances the brokers report as connected to them, aggregated
 * across brokers (Admin `ListInstances`, consumer counts in `ListGroups`/`GetGroup`).
 *
 * Plain data in, copies out; no transport types. The generated admin types are imported
 * with `import type` so this module never loads grpc-js at run time.
 */
import { ClientRole, type ClientInstance } from '../../../generated/nameserver/v1/common';
import type { InstanceInfo } from '../../../generated/nameserver/v1/admin';
import { InvalidArgument } from './errors';
import type { BrokerKey, BrokerRef, GroupName, TopicName } from './types';

/** Which instances `list` returns. Empty / unset fields (and `CLIENT_ROLE_UNSPECIFIED`) do not filter. */
export interface InstanceFilter {
  group?: GroupName;
  topic?: TopicName;
  role?: ClientRole;
}

/** One page of instances. */
export interface InstancePage {
  instances: InstanceInfo[];
  /** Resume token for the next page; empty on the last page. */
  nextPageToken: string;
}

/** Default page size when the request says 0. */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest page served, whatever the request asks: bounds the response size and the work per call. */
export const MAX_PAGE_SIZE = 1000;

/** An instance's identity: one process may be a producer and a consumer, and in several groups. */
type InstanceId = readonly [clientId: string, role: number, group: string];
/** `InstanceId` as a map key. JSON keeps the parts unambiguous whatever characters ids contain. */
type IdKey = string;

interface Entry {
  id: InstanceId;
  /** As last reported by any broker. */
  instance: ClientInstance;
  /** The brokers currently listing it, each with its replica set name. */
  brokers: Map<BrokerKey, string>;
  lastSeenAtMs: number;
}

/** Version tag inside page tokens, so tokens from a future format are rejected instead of misread. */
const TOKEN_VERSION = 1;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `list` order: clientId, then role, then group. */
function compareIds(a: InstanceId, b: InstanceId): number {
  return cmp(a[0], b[0]) || a[1] - b[1] || cmp(a[2], b[2]);
}

function copyInstance(i: ClientInstance): ClientInstance {
  return {
    clientId: i.clientId,
    role: i.role,
    group: i.group,
    topics: [...i.topics],
    host: i.host,
    language: i.language,
    version: i.version,
  };
}

/** Opaque to callers: base64url of the last key served. Resuming *after a key* (not at an offset) keeps
 * pages free of duplicates and gaps when instances come and go between calls. */
function encodeToken(id: InstanceId): string {
  return Buffer.from(JSON.stringify([TOKEN_VERSION, ...id]), 'utf8').toString('base64url');
}

function decodeToken(token: string): InstanceId {
  const bad = () => new InvalidArgument('page_token', 'is not a token this server issued');
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== TOKEN_VERSION ||
    typeof parsed[1] !== 'string' ||
    !Number.isInteger(parsed[2]) ||
    typeof parsed[3] !== 'string'
  ) {
    throw bad();
  }
  return [parsed[1], parsed[2] as number, parsed[3]];
}

/**
 * Holds connected client instances.
 *
 * Cost model: `report` is O(report) plus, for a full report, O(this broker's previous list); `removeBroker`
 * is O(this broker's list); `countByGroup` and `stats` are O(1). Only `list` scans all instances.
 */
export class InstanceManager {
  private readonly instances = new Map<IdKey, Entry>();
  /** broker -> instances it lists; lets full reports and removal touch only that broker's share. */
  private readonly byBroker = new Map<BrokerKey, Set<IdKey>>();
  /** Consumer instances per group, kept incrementally so group listings need no scan. */
  private readonly consumersByGroup = new Map<GroupName, number>();

  /**
   * Store the instances a broker reports as connected.
   *
   * @param full true: the list is complete, so instances it no longer names lose this broker (and vanish
   *   when no broker lists them). false: add or refresh the named instances only.
   * @param nowMs receipt time; becomes the instance's `lastSeenAtMs` (never moved backwards).
   * @returns how many instances this broker lists after the report.
   */
  report(broker: BrokerRef, instances: readonly ClientInstance[], full: boolean, nowMs: number): number {
    const previous = this.byBroker.get(broker.key) ?? new Set<IdKey>();
    const listed = full ? new Set<IdKey>() : previous;

    for (const inst of instances) {
      const id: InstanceId = [inst.clientId, inst.role, inst.group];
      const key = JSON.stringify(id);
      let entry = this.instances.get(key);
      if (!entry) {
        entry = { id, instance: copyInstance(inst), brokers: new Map(), lastSeenAtMs: nowMs };
        this.instances.set(key, entry);
        if (inst.role === ClientRole.CLIENT_ROLE_CONSUMER) this.bumpGroup(inst.group, 1);
      } else {
        // The newest report wins (topics or version may have changed), whichever broker sent it.
        entry.instance = copyInstance(inst);
        entry.lastSeenAtMs = Math.max(entry.lastSeenAtMs, nowMs);
      }
      entry.brokers.set(broker.key, broker.brokerName);
      listed.add(key);
    }

    if (full) {
      for (const key of previous) if (!listed.has(key)) this.detach(key, broker.key);
    }
    if (listed.size === 0) this.byBroker.delete(broker.key);
    else this.byBroker.set(broker.key, listed);
    return listed.size;
  }

  /** The broker left: it no longer vouches for any instance; instances it alone listed disappear. */
  removeBroker(key: BrokerKey): boolean {
    const listed = this.byBroker.get(key);
    if (!listed) return false;
    this.byBroker.delete(key);
    for (const id of listed) this.detach(id, key);
    return true;
  }

  /**
   * A page of instances matching `filter`, ordered by clientId, role, group.
   *
   * @param pageSize 0 means {@link DEFAULT_PAGE_SIZE}; larger than {@link MAX_PAGE_SIZE} is clamped.
   * @param pageToken empty for the first page, else a `nextPageToken` from an earlier page.
   * @throws InvalidArgument on a token this server did not issue.
   */
  list(filter: InstanceFilter, pageSize: number, pageToken: string): InstancePage {
    const after = pageToken ? decodeToken(pageToken) : undefined;
    const size = Math.min(MAX_PAGE_SIZE, pageSize > 0 ? Math.floor(pageSize) : DEFAULT_PAGE_SIZE) || 1;
    const role = filter.role === ClientRole.CLIENT_ROLE_UNSPECIFIED ? undefined : filter.role;

    const matching: Entry[] = [];
    for (const e of this.instances.values()) {
      if (after && compareIds(e.id, after) <= 0) continue;
      if (filter.group && e.instance.group !== filter.group) continue;
      if (role !== undefined && e.instance.role !== role) continue;
      if (filter.topic && !e.instance.topics.includes(filter.topic)) continue;
      matching.push(e);
    }
    matching.sort((a, b) => compareIds(a.id, b.id));

    const page = matching.slice(0, size);
    const more = matching.length > size;
    return {
      instances: page.map((e) => ({
        instance: copyInstance(e.instance),
        // Two replicas of one set both list a client; the set is what operators care about, once.
        brokerNames: [...new Set(e.brokers.values())].sort(cmp),
        lastSeenAtMs: e.lastSeenAtMs,
      })),
      nextPageToken: more ? encodeToken(page[page.length - 1]!.id) : '',
    };
  }

  /** Consumer instances of `group` currently connected to some broker; O(1). */
  countByGroup(group: GroupName): number {
    return this.consumersByGroup.get(group) ?? 0;
  }

  /** Counts for metrics; O(1). */
  stats(): { instances: number } {
    return { instances: this.instances.size };
  }

  /** Sizes of the per-broker and per-group indexes (leak checks); O(1). */
  indexSizes(): { brokers: number; groups: number } {
    return { brokers: this.byBroker.size, groups: this.consumersByGroup.size };
  }

  /** Drop one broker from an instance; the instance goes when no broker lists it any more. */
  private detach(key: IdKey, broker: BrokerKey): void {
    const entry = this.instances.get(key);
    if (!entry) return;
    entry.brokers.delete(broker);
    if (entry.brokers.size > 0) return;
    this.instances.delete(key);
    if (entry.id[1] === ClientRole.CLIENT_ROLE_CONSUMER) this.bumpGroup(entry.id[2], -1);
  }

  private bumpGroup(group: GroupName, delta: number): void {
    const n = (this.consumersByGroup.get(group) ?? 0) + delta;
    if (n > 0) this.consumersByGroup.set(group, n);
    else this.consumersByGroup.delete(group);
  }
}

/** What callers outside the metadata module may use of the instance manager: reads only. */
export type InstanceReader = Pick<InstanceManager, 'list' | 'countByGroup' | 'stats' | 'indexSizes'>;
