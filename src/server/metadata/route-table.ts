/**
 * The route table: each topic's route, derived from TopicManager (who holds the topic, with what
 * queues) and BrokerManager (replicas, addresses, broker permission). A route is recomputed only when
 * a change touches its topic. It is kept compact (topic, version, message type and its encoded
 * `brokers` fields, each shared by every route listing that replica set the same way): its GetRoute
 * response and WatchRoutes event are assembled from those bytes when first read and kept while they
 * are among the most recently assembled (a byte budget), so readers of a hot route only copy bytes.
 *
 * Versions are content-derived: the first 16 hex digits of the SHA-256 of the route's canonical
 * encoding (ts-proto writes fields in number order, repeated fields here are sorted, and no map field
 * is involved), so two replicas that received the same reports give the same version.
 */
import { createHash } from 'node:crypto';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { EventEmitter } from 'node:events';
import { MessageType, Permission, type TopicConfig } from '../../../generated/nameserver/v1/common';
import {
  BrokerRoute,
  GetRouteResponse,
  Route,
  RouteEventType,
  WatchRoutesResponse,
} from '../../../generated/nameserver/v1/route_query';
import type { BrokerManager, BrokerState } from './broker-manager';
import type { TopicManager } from './topic-manager';
import type { TopicName } from './types';
import { messageTypeOrDefault } from '../../shared/contract';

/**
 * A route ready to serve: its version and its encodings. Replaced (never mutated) when the route
 * changes. Only bytes are kept (a route object per topic would cost more than everything else
 * together at 1,000 brokers × 1,000 topics), and the encodings are assembled on first read (see
 * RouteTable); `route` decodes a fresh copy for the rare reader that needs the object (Admin views).
 */
export interface RouteEntry {
  readonly route: Route;
  readonly version: string;
  /** Encoded GetRouteResponse{route}. */
  readonly getRouteBytes: Buffer;
  /** Encoded WatchRoutesResponse{events:[UPDATED route]}; concatenations of these are valid batches. */
  readonly updateEventBytes: Buffer;
}

/** Events for the push path. */
export interface RouteTableEvents {
  changed: [topic: TopicName, entry: RouteEntry];
  removed: [topic: TopicName];
}

/** Wire tags (field number << 3 | wire type 2 = length-delimited, 0 = varint). */
const FIRST_FIELD_TAG = (1 << 3) | 2; // GetRouteResponse.route, WatchRoutesResponse.events
const ROUTE_VERSION_TAG = (2 << 3) | 2; // Route.version
const EVENT_TOPIC_TAG = (1 << 3) | 2; // RouteEvent.topic
const EVENT_TYPE_TAG = (2 << 3) | 0; // RouteEvent.type
const EVENT_ROUTE_TAG = (3 << 3) | 2; // RouteEvent.route
const EVENT_INCOMPLETE_TAG = (5 << 3) | 0; // RouteEvent.may_be_incomplete (field 5)
const BROKERS_TAG = (4 << 3) | 2; // Route.brokers (the last field of Route)

/** Default budget of assembled route encodings (see RouteTable). */
export const DEFAULT_ASSEMBLED_ROUTE_BYTES = 8 * 1024 * 1024;

/** GetRouteResponse.may_be_incomplete = true, encoded: appended to a pre-encoded GetRouteResponse. */
export const GET_ROUTE_INCOMPLETE_SUFFIX: Buffer = Buffer.from(new BinaryWriter().uint32((2 << 3) | 0).bool(true).finish());

const READ = 2;
const WRITE = 1;
const PERM_BITS: Record<number, number> = {
  [Permission.PERMISSION_UNSPECIFIED]: READ | WRITE,
  [Permission.PERMISSION_NONE]: 0,
  [Permission.PERMISSION_READ]: READ,
  [Permission.PERMISSION_WRITE]: WRITE,
  [Permission.PERMISSION_READ_WRITE]: READ | WRITE,
};
const BITS_PERM = [Permission.PERMISSION_NONE, Permission.PERMISSION_WRITE, Permission.PERMISSION_READ, Permission.PERMISSION_READ_WRITE];

/** The topic's permission restricted by the broker's (a drained broker caps every topic at READ). */
export function effectivePermission(topic: Permission, broker: Permission): Permission {
  return BITS_PERM[(PERM_BITS[topic] ?? 0) & (PERM_BITS[broker] ?? 0)]!;
}

/**
 * The zone of a replica set, one rule for every topic it holds (BrokerRoute.zone): its leader's
 * (broker_id 0), or without a live leader its live replica with the lowest broker_id. `replicas` are
 * ordered by broker_id, as BrokerManager.replicaSet returns them.
 */
export function replicaSetZone(replicas: readonly Pick<BrokerState, 'zone'>[]): string {
  return replicas[0]?.zone ?? ''; // the leader sorts first when it is live
}

/** Encoded WatchRoutesResponse{events:[REMOVED topic]}. */
export function removedEventBytes(topic: TopicName): Buffer {
  return Buffer.from(
    WatchRoutesResponse.encode({ events: [{ topic, type: RouteEventType.ROUTE_EVENT_TYPE_REMOVED, route: undefined, error: '', mayBeIncomplete: false }], progress: undefined }).finish(),
  );
}

/**
 * An entry's `updateEventBytes` with RouteEvent.may_be_incomplete set (routes served while warming up).
 * The flag belongs inside the event, so the event is re-wrapped with a new length; its route bytes are
 * copied, never re-encoded.
 */
export function incompleteUpdateEventBytes(entry: RouteEntry): Buffer {
  const reader = new BinaryReader(entry.updateEventBytes);
  reader.tag(); // WatchRoutesResponse.events
  const event = reader.bytes();
  return Buffer.from(new BinaryWriter().uint32(FIRST_FIELD_TAG).fork().raw(event).uint32(EVENT_INCOMPLETE_TAG).bool(true).join().finish());
}

/** See the module comment. */
export class RouteTable extends EventEmitter<RouteTableEvents> {
  private readonly routes = new Map<TopicName, CompactRoute>();
  private sorted: TopicName[] | undefined;
  private rev = 0;
  private readonly fields = new BrokerFieldPool();
  private readonly recent: AssembledRoutes;

  /** `assembledBytes`: how many bytes of served encodings are kept assembled (the most recent ones). */
  constructor(
    private readonly topics: TopicManager,
    private readonly brokers: BrokerManager,
    assembledBytes = DEFAULT_ASSEMBLED_ROUTE_BYTES,
  ) {
    super();
    this.recent = new AssembledRoutes(assembledBytes);
  }

  /** Distinct `brokers` fields held and bytes of assembled encodings (tests, leak checks). */
  get storage(): { brokerFields: number; assembledBytes: number } {
    return { brokerFields: this.fields.size, assembledBytes: this.recent.bytes };
  }

  /** The route of a topic, if any live broker reports it. O(1), no encoding. */
  get(topic: TopicName): RouteEntry | undefined {
    return this.routes.get(topic);
  }

  /** Number of topics with a route. */
  get size(): number {
    return this.routes.size;
  }

  /** Topics with a route, sorted (cached until a topic appears or disappears). */
  sortedTopics(): readonly TopicName[] {
    if (!this.sorted) this.sorted = [...this.routes.keys()].sort();
    return this.sorted;
  }

  /** Every topic with a route (unsorted). */
  topicNames(): IterableIterator<TopicName> {
    return this.routes.keys();
  }

  /**
   * Moves whenever a topic's inputs change (a topic config, attributes included, or a replica set
   * holding it), even when its route version does not: a view derived from the routes and the configs
   * behind them (RocketMQ's route answers) may be cached under it.
   */
  get revision(): number {
    return this.rev;
  }

  /** Rebuild the routes of these topics; emit `changed` / `removed` for those whose version moved. */
  recompute(topics: Iterable<TopicName>): void {
    for (const topic of topics) {
      this.rev++;
      const route = this.build(topic);
      const old = this.routes.get(topic);
      if (!route) {
        if (old) {
          this.routes.delete(topic);
          this.sorted = undefined;
          this.drop(old);
          this.emit('removed', topic);
        }
        continue;
      }
      // The canonical form (no version) is hashed into the version. ts-proto writes fields in number
      // order and `brokers` (4) is the last, so the canonical bytes are the head (topic, message type)
      // followed by one `brokers` field per replica set: those fields are kept (shared with every other
      // route listing the replica set the same way) and the head is re-encoded when the bytes are read.
      const head = Route.encode({ ...route, brokers: [] }).finish();
      const hash = createHash('sha256').update(head);
      const fields: BrokerField[] = [];
      for (const b of route.brokers) {
        const field = this.fields.acquire(new BinaryWriter().uint32(BROKERS_TAG).fork().raw(BrokerRoute.encode(b).finish()).join().finish());
        hash.update(field.bytes);
        fields.push(field);
      }
      const version = hash.digest('hex').slice(0, 16);
      if (old?.version === version) {
        for (const f of fields) this.fields.release(f);
        continue;
      }
      const entry = new CompactRoute(topic, version, route.messageType, fields, this.recent);
      if (!old) this.sorted = undefined;
      else this.drop(old);
      this.routes.set(topic, entry);
      this.emit('changed', topic, entry);
    }
  }

  /** A route replaced or removed: its shared fields lose a holder, its assembled bytes leave the cache. */
  private drop(entry: CompactRoute): void {
    for (const f of entry.fields) this.fields.release(f);
    this.recent.forget(entry);
  }

  /** The route of a topic from the managers' current state, with an empty version; undefined if none. */
  private build(topic: TopicName): Route | undefined {
    const holders = this.topics.holders(topic);
    if (!holders || holders.size === 0) return undefined;
    // Per replica set, the config of its lowest-id replica reporting the topic (the leader when it does).
    const bySet = new Map<string, { state: BrokerState; config: TopicConfig }>();
    for (const [key, config] of holders) {
      const state = this.brokers.get(key);
      if (!state) continue;
      const rs = `${state.cluster}/${state.brokerName}`;
      const cur = bySet.get(rs);
      if (!cur || state.brokerId < cur.state.brokerId) bySet.set(rs, { state, config });
    }
    if (bySet.size === 0) return undefined;
    const brokers: BrokerRoute[] = [];
    const typeVotes = new Map<MessageType, number>();
    for (const { state, config } of bySet.values()) {
      const replicas = this.brokers.replicaSet(state.cluster, state.brokerName);
      brokers.push({
        brokerName: state.brokerName,
        cluster: state.cluster,
        zone: replicaSetZone(replicas),
        readQueueNums: config.readQueueNums,
        writeQueueNums: config.writeQueueNums,
        permission: effectivePermission(config.permission, state.permission),
        replicas: replicas.map((r) => ({ brokerId: r.brokerId, addresses: [...r.addresses], leader: r.brokerId === 0 })),
      });
      const t = messageTypeOrDefault(config.messageType);
      typeVotes.set(t, (typeVotes.get(t) ?? 0) + 1);
    }
    brokers.sort((a, b) => cmp(a.brokerName, b.brokerName) || cmp(a.cluster, b.cluster));
    let messageType = MessageType.MESSAGE_TYPE_NORMAL;
    let best = 0;
    for (const [t, n] of [...typeVotes].sort((a, b) => a[0] - b[0])) {
      if (n > best) [messageType, best] = [t, n];
    }
    return { topic, version: '', messageType, brokers };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One encoded `brokers` field of a Route (tag, length, BrokerRoute), shared by the routes that hold it. */
interface BrokerField {
  readonly bytes: Buffer;
  readonly key: string;
  holders: number;
}

/**
 * Every distinct `brokers` field in use, once: at 1,000 brokers × 1,000 topics a replica set is listed
 * the same way in each of its thousands of routes (same replicas, zone and, usually, queues).
 */
class BrokerFieldPool {
  private readonly byKey = new Map<string, BrokerField>();

  /** The shared copy of these bytes, counting one more holder. */
  acquire(encoded: Uint8Array): BrokerField {
    const key = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength).toString('latin1');
    let f = this.byKey.get(key);
    if (!f) this.byKey.set(key, (f = { bytes: Buffer.from(key, 'latin1'), key, holders: 0 }));
    f.holders++;
    return f;
  }

  /** One holder fewer; the last one frees the field. */
  release(f: BrokerField): void {
    if (--f.holders === 0) this.byKey.delete(f.key);
  }

  get size(): number {
    return this.byKey.size;
  }
}

/**
 * The routes whose served encodings are assembled, most recently assembled last, within a byte budget:
 * the oldest lose theirs when the budget is exceeded (they are re-assembled when read again).
 */
class AssembledRoutes {
  private readonly held = new Map<CompactRoute, number>();
  private total = 0;

  constructor(private readonly budget: number) {}

  add(entry: CompactRoute, bytes: number): void {
    this.held.set(entry, (this.held.get(entry) ?? 0) + bytes);
    this.total += bytes;
    for (const [oldest, n] of this.held) {
      if (this.total <= this.budget || oldest === entry) break;
      this.held.delete(oldest);
      this.total -= n;
      oldest.unassemble();
    }
  }

  forget(entry: CompactRoute): void {
    const n = this.held.get(entry);
    if (n === undefined) return;
    this.held.delete(entry);
    this.total -= n;
    entry.unassemble();
  }

  get bytes(): number {
    return this.total;
  }
}

/**
 * A RouteEntry kept compact: topic, version, message type and the shared `brokers` fields. Its served
 * encodings are assembled from them when first read (byte for byte what encoding the route object
 * gives) and kept while in the table's budget of assembled routes, so a route read or pushed many times
 * is assembled once; the route object is decoded on demand.
 */
class CompactRoute implements RouteEntry {
  private getBytes: Buffer | undefined;
  private eventBytes: Buffer | undefined;

  constructor(
    readonly topic: TopicName,
    readonly version: string,
    private readonly messageType: MessageType,
    readonly fields: readonly BrokerField[],
    private readonly recent: AssembledRoutes,
  ) {}

  get route(): Route {
    return GetRouteResponse.decode(this.getRouteBytes).route!;
  }

  get getRouteBytes(): Buffer {
    if (!this.getBytes) {
      this.getBytes = Buffer.from(new BinaryWriter().uint32(FIRST_FIELD_TAG).bytes(this.routeBytes()).finish());
      this.recent.add(this, this.getBytes.length);
    }
    return this.getBytes;
  }

  get updateEventBytes(): Buffer {
    if (!this.eventBytes) {
      const event = new BinaryWriter()
        .uint32(EVENT_TOPIC_TAG).string(this.topic)
        .uint32(EVENT_TYPE_TAG).int32(RouteEventType.ROUTE_EVENT_TYPE_UPDATED)
        .uint32(EVENT_ROUTE_TAG).bytes(this.routeBytes())
        .finish();
      this.eventBytes = Buffer.from(new BinaryWriter().uint32(FIRST_FIELD_TAG).bytes(event).finish());
      this.recent.add(this, this.eventBytes.length);
    }
    return this.eventBytes;
  }

  /** Drop the assembled encodings (the budget of assembled routes is spent elsewhere). */
  unassemble(): void {
    this.getBytes = undefined;
    this.eventBytes = undefined;
  }

  /**
   * The Route with its version: the canonical form (head and `brokers` fields) with the version field
   * appended (protobuf parsers accept fields in any order, and every replica appends it the same way).
   */
  private routeBytes(): Buffer {
    const head = Route.encode({ topic: this.topic, version: '', messageType: this.messageType, brokers: [] }).finish();
    const version = new BinaryWriter().uint32(ROUTE_VERSION_TAG).string(this.version).finish();
    return Buffer.concat([head, ...this.fields.map((f) => f.bytes), version]);
  }
}

/** What callers outside the metadata module may use of the route table: reads and events. */
export type RouteReader = Pick<RouteTable, 'get' | 'size' | 'revision' | 'sortedTopics' | 'topicNames' | 'on' | 'once' | 'off' | 'listenerCount'>;
