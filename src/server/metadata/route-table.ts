/**
 * The route table: each topic's route, derived from TopicManager (who holds the topic, with what
 * queues) and BrokerManager (replicas, addresses, broker permission). A route is recomputed only when
 * a change touches its topic. It is kept compact (topic, version, message type and its encoded
 * `brokers` fields, a section shared by every route listing the same replica sets the same way): its
 * GetRoute response and WatchRoutes event are assembled from those bytes when first read and kept while
 * they are among the most recently assembled (a byte budget per process), so readers of a hot route
 * only copy bytes.
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
const ROUTE_TOPIC_TAG = (1 << 3) | 2; // Route.topic
const ROUTE_MESSAGE_TYPE_TAG = (3 << 3) | 0; // Route.message_type

/** Bytes of served route encodings kept assembled, the most recently assembled (see AssembledRoutes). */
const DEFAULT_ASSEMBLED_ROUTE_BYTES = 8 * 1024 * 1024;

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
 * A route's `updateEventBytes` with RouteEvent.may_be_incomplete set (routes served while warming up).
 * The flag belongs inside the event, so the event is re-wrapped with a new length; its route bytes are
 * copied, never re-encoded.
 */
export function incompleteUpdateEventBytes(updateEventBytes: Buffer): Buffer {
  const reader = new BinaryReader(updateEventBytes);
  reader.tag(); // WatchRoutesResponse.events
  const event = reader.bytes();
  return Buffer.from(new BinaryWriter().uint32(FIRST_FIELD_TAG).fork().raw(event).uint32(EVENT_INCOMPLETE_TAG).bool(true).join().finish());
}

/** See the module comment. */
export class RouteTable extends EventEmitter<RouteTableEvents> {
  private readonly routes = new Map<TopicName, CompactRoute>();
  private sorted: TopicName[] | undefined;
  private rev = 0;
  private readonly sections = new SectionPool();

  constructor(
    private readonly topics: TopicManager,
    private readonly brokers: BrokerManager,
  ) {
    super();
  }

  /** Distinct sections of `brokers` fields held (tests, leak checks). */
  get sectionCount(): number {
    return this.sections.size;
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
      // followed by the `brokers` fields: that section is kept, shared with every route listing the
      // same replica sets the same way, and the head is re-encoded when the bytes are read.
      const head = Route.encode({ ...route, brokers: [] }).finish();
      const writer = new BinaryWriter();
      for (const b of route.brokers) BrokerRoute.encode(b, writer.uint32(BROKERS_TAG).fork()).join();
      const section = this.sections.acquire(writer.finish());
      const version = createHash('sha256').update(head).update(section.bytes).digest().toString('hex', 0, 8);
      if (old?.version === version) {
        this.sections.release(section);
        continue;
      }
      const entry = new CompactRoute(topic, version, route.messageType, section);
      if (!old) this.sorted = undefined;
      else this.drop(old);
      this.routes.set(topic, entry);
      this.emit('changed', topic, entry);
    }
  }

  /** A route replaced or removed: its section loses a holder, its assembled bytes leave the cache. */
  private drop(entry: CompactRoute): void {
    this.sections.release(entry.section);
    assembled.forget(entry);
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

/** The encoded `brokers` fields of a Route (tag, length, BrokerRoute each), shared by the routes that hold them. */
interface Section {
  readonly bytes: Buffer;
  readonly key: string;
  holders: number;
}

/**
 * Every distinct section in use, once: at 1,000 brokers × 1,000 topics the topics created on the same
 * replica sets list them the same way (replicas, zone, queues), in thousands of routes. Found by a
 * digest of the bytes and checked byte for byte.
 */
class SectionPool {
  private readonly byKey = new Map<string, Section[]>();

  /** The shared copy of these bytes, counting one more holder. */
  acquire(encoded: Uint8Array): Section {
    const key = createHash('sha1').update(encoded).digest('base64');
    let same = this.byKey.get(key);
    if (!same) this.byKey.set(key, (same = []));
    let s = same.find((x) => x.bytes.equals(encoded));
    if (!s) same.push((s = { bytes: Buffer.from(encoded), key, holders: 0 }));
    s.holders++;
    return s;
  }

  /** One holder fewer; the last one frees the section. */
  release(s: Section): void {
    if (--s.holders > 0) return;
    const same = this.byKey.get(s.key);
    if (!same) return;
    same.splice(same.indexOf(s), 1);
    if (same.length === 0) this.byKey.delete(s.key);
  }

  get size(): number {
    let n = 0;
    for (const same of this.byKey.values()) n += same.length;
    return n;
  }
}

/** A route's served encodings, once assembled. */
interface Assembled {
  readonly entry: CompactRoute;
  get?: Buffer;
  event?: Buffer;
  bytes: number;
}

/**
 * The routes whose served encodings are assembled, in the order they were first assembled, within a
 * byte budget: the oldest lose theirs when the budget is exceeded (they are re-assembled when read
 * again). The order is a queue of records, not the Map's own: a Map iterated from its start after many
 * deletes walks their holes.
 */
class AssembledRoutes {
  private readonly held = new Map<CompactRoute, Assembled>();
  private queue: Assembled[] = [];
  private head = 0;
  private total = 0;

  constructor(private readonly budget: number) {}

  of(entry: CompactRoute): Assembled | undefined {
    return this.held.get(entry);
  }

  add(entry: CompactRoute, kind: 'get' | 'event', bytes: Buffer): void {
    let a = this.held.get(entry);
    if (!a) {
      this.held.set(entry, (a = { entry, bytes: 0 }));
      this.queue.push(a);
    }
    a[kind] = bytes;
    a.bytes += bytes.length;
    this.total += bytes.length;
    while (this.total > this.budget && this.head < this.queue.length) {
      const oldest = this.queue[this.head]!;
      if (oldest === a) break;
      this.head++;
      if (this.held.get(oldest.entry) === oldest) this.forget(oldest.entry);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  forget(entry: CompactRoute): void {
    const a = this.held.get(entry);
    if (!a) return;
    this.held.delete(entry);
    this.total -= a.bytes;
  }

  get bytes(): number {
    return this.total;
  }
}

/** The cache every CompactRoute is assembled into (one per process: its budget is the process's). */
const assembled = new AssembledRoutes(DEFAULT_ASSEMBLED_ROUTE_BYTES);

/**
 * A RouteEntry kept compact: topic, version, message type and the shared section of `brokers` fields.
 * Its served encodings are assembled from them when first read (byte for byte what encoding the route
 * object gives) and kept while among the most recently assembled (see AssembledRoutes), so a route
 * read or pushed many times is assembled once; the route object is decoded on demand.
 */
class CompactRoute implements RouteEntry {
  constructor(
    readonly topic: TopicName,
    readonly version: string,
    private readonly messageType: MessageType,
    readonly section: Section,
  ) {}

  get route(): Route {
    return GetRouteResponse.decode(this.getRouteBytes).route!;
  }

  get getRouteBytes(): Buffer {
    const held = assembled.of(this)?.get;
    if (held) return held;
    // GetRouteResponse { route = 1 }
    const out = asBuffer(new BinaryWriter().uint32(FIRST_FIELD_TAG).bytes(this.routeBytes()).finish());
    assembled.add(this, 'get', out);
    return out;
  }

  get updateEventBytes(): Buffer {
    const held = assembled.of(this)?.event;
    if (held) return held;
    // WatchRoutesResponse { events = 1: RouteEvent { topic = 1, type = 2: UPDATED, route = 3 } }
    const event = new BinaryWriter()
      .uint32(EVENT_TOPIC_TAG).string(this.topic)
      .uint32(EVENT_TYPE_TAG).int32(RouteEventType.ROUTE_EVENT_TYPE_UPDATED)
      .uint32(EVENT_ROUTE_TAG).bytes(this.routeBytes())
      .finish();
    const out = asBuffer(new BinaryWriter().uint32(FIRST_FIELD_TAG).bytes(event).finish());
    assembled.add(this, 'event', out);
    return out;
  }

  /**
   * The Route with its version: the canonical form (head and section) with the version field appended
   * (protobuf parsers accept fields in any order, and every replica appends it the same way). The head
   * is what Route.encode writes for the topic and message type: `topic = 1` unless empty, then
   * `message_type = 3` unless 0.
   */
  private routeBytes(): Uint8Array {
    const w = new BinaryWriter();
    if (this.topic.length > 0) w.uint32(ROUTE_TOPIC_TAG).string(this.topic);
    if (this.messageType !== 0) w.uint32(ROUTE_MESSAGE_TYPE_TAG).int32(this.messageType);
    return w.raw(this.section.bytes).uint32(ROUTE_VERSION_TAG).string(this.version).finish();
  }
}

/** The bytes a BinaryWriter finished, as a Buffer (no copy). */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** What callers outside the metadata module may use of the route table: reads and events. */
export type RouteReader = Pick<RouteTable, 'get' | 'size' | 'revision' | 'sortedTopics' | 'topicNames' | 'on' | 'once' | 'off' | 'listenerCount'>;
