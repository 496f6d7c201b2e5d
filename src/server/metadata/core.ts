/**
 * The registry: the one place that applies broker reports across the managers, in order, and tells
 * the route table which topics to rebuild. It knows nothing of gRPC: handlers call it with validated
 * requests and a BrokerRef, and it throws DomainErrors.
 *
 * Report order. Within one epoch (one broker process) data versions only grow, so a report (full or
 * delta) whose version is older than the one held is a late retry or was overtaken by a newer one: it is
 * ignored entirely (no data, no session change, no lease) and answered `stale`. A full report applies
 * when newer; a delta when its base is the version held. So the same reports give the same routes
 * whatever order they arrive in (or a re-register is asked for, which brings the newest).
 */
import type {
  RegisterBrokerRequest,
  ReportDeltaRequest,
  ReportInstancesRequest,
  ReportPositionsRequest,
} from '../../../generated/nameserver/v1/broker_registry';
import { Permission, type GroupConfig, type TopicConfig } from '../../../generated/nameserver/v1/common';
import { BrokerManager, type BrokerReader, type BrokerState, type SessionKind } from './broker-manager';
import { ChunkAssembler, type ChunkSource } from './chunk-assembler';
import { BrokerNotFound } from './errors';
import { GroupManager } from './group-manager';
import { InstanceManager, type InstanceReader } from './instance-manager';
import { PositionManager, type PositionReader } from './position-manager';
import { RouteTable, type RouteReader } from './route-table';
import type { IndexReader } from './per-broker-index';
import { systemTimers, type Timers } from './timers';
import { TopicManager } from './topic-manager';
import { brokerRef, type BrokerKey, type BrokerRef, type Clock } from './types';

/** Settings the registry needs (a subset of Config). */
export interface MetadataCoreOptions {
  /** Clock and timers (the real ones by default; tests inject a fake). */
  timers?: Timers;
  leaseTtlMs: number;
  minLeaseTtlMs: number;
  maxLeaseTtlMs: number;
  streamGraceMs: number;
  chunkTimeoutMs: number;
  /** Byte budgets of chunked registrations being assembled (see ChunkAssembler); default unlimited. */
  maxPendingChunkBytes?: number;
  maxPendingChunkBytesPerBroker?: number;
  maxPendingChunkBytesPerConnection?: number;
  /** Observer of applied reports and their sizes in topics (metrics). */
  onReport?: (kind: 'full' | 'delta', topics: number) => void;
}

/** Who sends a registration: a unary call, or a Connect stream (with its session once it has one). */
export interface Via {
  kind: SessionKind;
  session?: number;
  /** The client connection it came over, for the chunk budgets (default: one shared "local" one). */
  source?: ChunkSource;
}

/** Outcome of a registration (or of one chunk of it). */
export interface RegisterOutcome {
  /** The whole report is applied (false after a non-final chunk). */
  complete: boolean;
  /** The data version was already held: nothing was re-processed. */
  unchanged: boolean;
  /** The session the broker now belongs to (undefined until complete). */
  session: number | undefined;
  /** Lease granted (unary brokers). */
  leaseTtlMs: number;
  /** Whether the registration created the broker or replaced a previous session. */
  fresh: boolean;
  /** Ignored: this replica holds a newer data version of the same epoch (nothing changed). */
  stale: boolean;
}

/** Outcome of a delta. */
export interface DeltaOutcome {
  /** Why a full re-register is needed (nothing was applied), or undefined. */
  reregister: string | undefined;
  /** Ignored: not newer than the data version held in its epoch (a retry, or overtaken by a newer report). */
  stale: boolean;
}

/** The chunk source of in-process callers that name none (tests, tools). */
const LOCAL_SOURCE: ChunkSource = { connection: 'local', host: 'local' };

/** See the module comment. */
export class MetadataCore {
  // The managers are the core's own: callers get read-only views (the getters below), and every
  // change goes through the core's methods, which keep the managers and the route table in step.
  private readonly brokerManager: BrokerManager;
  private readonly topicManager = new TopicManager();
  private readonly groupManager = new GroupManager();
  private readonly positionManager = new PositionManager();
  private readonly instanceManager = new InstanceManager();
  private readonly routeTable: RouteTable;
  private readonly chunks: ChunkAssembler;
  private readonly clock: Clock;

  constructor(private readonly opts: MetadataCoreOptions) {
    const timers = opts.timers ?? systemTimers;
    this.clock = () => timers.now();
    this.brokerManager = new BrokerManager({
      timers,
      streamGraceMs: opts.streamGraceMs,
      onExpire: (key, session, reason) => this.remove(key, reason, { session }),
    });
    this.routeTable = new RouteTable(this.topicManager, this.brokerManager);
    this.chunks = new ChunkAssembler(
      {
        timeoutMs: opts.chunkTimeoutMs,
        maxBytes: opts.maxPendingChunkBytes ?? Infinity,
        maxBytesPerBroker: opts.maxPendingChunkBytesPerBroker ?? Infinity,
        maxBytesPerConnection: opts.maxPendingChunkBytesPerConnection ?? Infinity,
      },
      this.clock,
    );
  }

  /** The brokers, their sessions and leases (read-only). */
  get brokers(): BrokerReader {
    return this.brokerManager;
  }

  /** Topic configurations by broker (read-only). */
  get topics(): IndexReader<TopicConfig> {
    return this.topicManager;
  }

  /** Consumer group configurations by broker (read-only). */
  get groups(): IndexReader<GroupConfig> {
    return this.groupManager;
  }

  /** Queue and consumer positions (read-only). */
  get positions(): PositionReader {
    return this.positionManager;
  }

  /** Connected client instances (read-only). */
  get instances(): InstanceReader {
    return this.instanceManager;
  }

  /** The routes derived from brokers and topics (read-only; change events). */
  get routes(): RouteReader {
    return this.routeTable;
  }

  /** Apply a full report (or collect one chunk of it). The request is validated. */
  register(req: RegisterBrokerRequest, via: Via): RegisterOutcome {
    const ref = brokerRef(req.cluster, req.brokerName, req.brokerId);
    const dv = req.dataVersion!;
    const held = this.brokerManager.get(ref.key);
    if (held && held.epoch === dv.epoch && dv.counter < held.counter) {
      return { complete: true, unchanged: false, session: undefined, leaseTtlMs: 0, fresh: false, stale: true };
    }
    const leaseTtlMs = this.grantLease(req.leaseTtlMs);
    // The data version is already applied: only the header (addresses, permission...) may need work.
    const alreadyHeld = held !== undefined && held.epoch === dv.epoch && held.counter === dv.counter;
    let report = req;
    if (!alreadyHeld && req.chunkCount > 1) {
      const whole = this.chunks.add(ref.key, req, via.source ?? LOCAL_SOURCE);
      if (!whole) return { complete: false, unchanged: false, session: undefined, leaseTtlMs, fresh: false, stale: false };
      report = whole;
    } else if (!alreadyHeld) {
      this.chunks.supersede(ref.key, dv.epoch, dv.counter); // a complete report replaces an older chunked one in progress
    }
    const adm = this.brokerManager.admit(
      {
        cluster: report.cluster,
        brokerName: report.brokerName,
        brokerId: report.brokerId,
        addresses: report.addresses,
        zone: report.zone,
        softwareVersion: report.softwareVersion,
        permission: report.permission,
        epoch: dv.epoch,
      },
      via.kind,
      via.session,
      leaseTtlMs,
    );
    const changed = new Set<string>();
    if (!alreadyHeld) {
      this.opts.onReport?.('full', report.topics.length);
      this.topicManager.replaceBroker(ref.key, report.topics, changed);
      this.groupManager.replaceBroker(ref.key, report.groups, new Set());
      this.brokerManager.setCounter(ref.key, dv.counter);
    }
    if (adm.headerChanged) this.addReplicaSetTopics(ref, changed);
    this.routeTable.recompute(changed);
    // A broker held by its open Connect session keeps no lease: its liveness follows the stream.
    const granted = this.brokerManager.get(ref.key)?.sessionKind === 'lease' ? leaseTtlMs : 0;
    return { complete: true, unchanged: alreadyHeld, session: adm.session, leaseTtlMs: granted, fresh: adm.created || adm.tookOver, stale: false };
  }

  /**
   * A keep-alive; `session` for a Connect stream's own heartbeat. Returns why a full re-register is
   * needed, or undefined when the broker is held (see BrokerManager.heartbeat: a lease is renewed, an
   * ended stream session is never revived).
   */
  heartbeat(ref: BrokerRef, epoch: string, counter: number, session?: number): string | undefined {
    return this.brokerManager.heartbeat(ref.key, epoch, counter, session);
  }

  /** The lease a broker holds from its last renewal (ms); 0 for a stream session or an unknown broker. */
  leaseTtlOf(ref: BrokerRef): number {
    const live = this.brokerManager.liveness(ref.key);
    return live && live.leaseExpiresAtMs ? live.leaseExpiresAtMs - live.lastSeenAtMs : 0;
  }

  /**
   * Apply a topic/group delta on top of the version held. O(size of the delta). Asks for a full
   * re-register when the NameServer does not hold base_counter of this epoch; ignores (stale) a delta
   * not newer than the version held.
   */
  delta(ref: BrokerRef, req: ReportDeltaRequest, session?: number): DeltaOutcome {
    const held = this.current(ref, session, false);
    if (!held) return { reregister: 'broker is not registered on this NameServer', stale: false };
    const dv = req.dataVersion!;
    if (held.epoch !== dv.epoch) return { reregister: 'the delta is of another epoch than the registration held', stale: false };
    if (dv.counter <= held.counter) return { reregister: undefined, stale: true };
    if (held.counter !== req.baseCounter) {
      return { reregister: `base_counter ${req.baseCounter} is not the data version held (${held.counter}): a delta was lost`, stale: false };
    }
    this.opts.onReport?.('delta', req.upsertTopics.length + req.deleteTopics.length);
    const changed = new Set<string>();
    this.topicManager.delete(ref.key, req.deleteTopics, changed);
    this.topicManager.upsert(ref.key, req.upsertTopics, changed);
    const groupsChanged = new Set<string>();
    this.groupManager.delete(ref.key, req.deleteGroups, groupsChanged);
    this.groupManager.upsert(ref.key, req.upsertGroups, groupsChanged);
    this.brokerManager.setCounter(ref.key, dv.counter);
    this.brokerManager.seen(ref.key);
    this.routeTable.recompute(changed);
    return { reregister: undefined, stale: false };
  }

  /** Store a positions report of a registered broker. */
  reportPositions(ref: BrokerRef, req: ReportPositionsRequest, session?: number): { queues: number; consumers: number } {
    this.current(ref, session, true);
    this.brokerManager.seen(ref.key);
    return this.positionManager.report(ref, req.queuePositions, req.consumerPositions, req.full);
  }

  /** Store an instances report of a registered broker. */
  reportInstances(ref: BrokerRef, req: ReportInstancesRequest, session?: number): number {
    this.current(ref, session, true);
    this.brokerManager.seen(ref.key);
    return this.instanceManager.report(ref, req.instances, req.full, this.clock());
  }

  /**
   * Graceful leave. An `epoch` other than the one held means a late goodbye of an older process: it is
   * ignored. Returns why nothing was removed, or undefined when removed.
   */
  unregister(ref: BrokerRef, epoch: string): string | undefined {
    const held = this.brokerManager.get(ref.key);
    if (!held) return 'broker is not registered';
    if (epoch !== '' && held.epoch !== epoch) return 'stale: a newer registration (another epoch) holds this broker';
    this.remove(ref.key, 'unregistered', { epoch });
    return undefined;
  }

  /** A Connect stream ended: the broker goes after the grace period unless it reconnects. */
  streamClosed(ref: BrokerRef, session: number): void {
    this.brokerManager.streamClosed(ref.key, session);
  }

  /** Change a broker's permission as its broker reported it (after a set-permission command). */
  setBrokerPermission(ref: BrokerRef, permission: Permission): void {
    const before = this.brokerManager.get(ref.key);
    const after = this.brokerManager.setPermission(ref.key, permission);
    if (!before || !after || before.permission === after.permission) return;
    const changed = new Set<string>();
    this.addReplicaSetTopics(ref, changed);
    this.routeTable.recompute(changed);
  }

  /**
   * Remove a broker and everything it reported, fenced by session or epoch. Returns whether it was
   * removed.
   */
  remove(key: BrokerKey, reason: string, fence: { session?: number; epoch?: string } = {}): boolean {
    const gone = this.brokerManager.remove(key, reason, fence);
    if (!gone) return false;
    const changed = new Set<string>();
    this.topicManager.removeBroker(key, changed);
    this.groupManager.removeBroker(key, new Set());
    this.positionManager.removeBroker(key);
    this.instanceManager.removeBroker(key);
    this.chunks.discard(key);
    // The replica set's other routes list this broker as a replica: they change too.
    this.addReplicaSetTopics(gone, changed);
    this.routeTable.recompute(changed);
    return true;
  }

  /**
   * Cross-check the managers (for tests and fuzzing): every topic holder is a registered broker, every
   * route matches the topics reported, and per-broker data belongs to registered brokers. Returns the
   * problems found (empty when consistent). O(everything): not for hot paths.
   */
  checkConsistency(): string[] {
    const problems: string[] = [];
    const keys = new Set(this.brokerManager.all().map((b) => b.key));
    for (const key of keys) {
      for (const t of this.topicManager.namesOf(key)) {
        if (!this.topicManager.holders(t)?.has(key)) problems.push(`topic ${t}: broker ${key} reports it but is not a holder`);
      }
    }
    for (const t of this.topicManager.sortedNames()) {
      for (const key of this.topicManager.holders(t)?.keys() ?? []) if (!keys.has(key)) problems.push(`topic ${t}: holder ${key} is not registered`);
      if (!this.routeTable.get(t)) problems.push(`topic ${t}: reported but has no route`);
    }
    for (const t of this.routeTable.topicNames()) if (!this.topicManager.has(t)) problems.push(`route ${t}: no broker reports the topic`);
    for (const g of this.groupManager.sortedNames()) {
      for (const key of this.groupManager.holders(g)?.keys() ?? []) if (!keys.has(key)) problems.push(`group ${g}: holder ${key} is not registered`);
    }
    if (this.positionManager.stats().brokers > keys.size) problems.push('positions held for more brokers than are registered');
    return problems;
  }

  /**
   * The size of every table the registry keeps (brokers, replica sets, liveness timers, topic and group
   * indexes, positions, instances, routes, pending chunked reports): all zero once every broker is gone.
   * For leak checks in tests and soaks; O(brokers).
   */
  footprint(): Record<string, number> {
    const positions = this.positionManager.stats();
    const instances = { ...this.instanceManager.stats(), ...this.instanceManager.indexSizes() };
    return {
      brokers: this.brokerManager.size,
      replicaSets: this.brokerManager.replicaSetCount,
      livenessTimers: this.brokerManager.armedTimers,
      topics: this.topicManager.size,
      topicEntries: this.topicManager.entryCount(),
      topicBrokers: this.topicManager.brokerCount,
      topicConfigs: this.topicManager.distinctConfigs,
      groups: this.groupManager.size,
      groupEntries: this.groupManager.entryCount(),
      groupBrokers: this.groupManager.brokerCount,
      positionBrokers: positions.brokers,
      queuePositions: positions.queuePositions,
      consumerPositions: positions.consumerPositions,
      positionGroups: this.positionManager.groupsWithPositions().length,
      instances: instances.instances,
      instanceBrokers: instances.brokers,
      instanceGroups: instances.groups,
      routes: this.routeTable.size,
      routeSections: this.routeTable.sectionCount,
      pendingChunkedReports: this.chunks.size,
    };
  }

  /** Chunked reports being assembled. */
  get pendingChunkedReports(): number {
    return this.chunks.size;
  }

  /** Bytes held by chunked reports being assembled. */
  get pendingChunkBytes(): number {
    return this.chunks.bytes;
  }

  /** Stop every timer (shutdown). */
  close(): void {
    this.brokerManager.close();
    this.chunks.close();
  }

  /** The held registration, checked against the caller's session. */
  private current(ref: BrokerRef, session: number | undefined, required: true): BrokerState;
  private current(ref: BrokerRef, session: number | undefined, required: false): BrokerState | undefined;
  private current(ref: BrokerRef, session: number | undefined, required: boolean): BrokerState | undefined {
    const held = this.brokerManager.get(ref.key);
    if (!held) {
      if (required) throw new BrokerNotFound(`${ref.key} (register first)`);
      return undefined;
    }
    if (session !== undefined) this.brokerManager.checkSession(ref.key, session);
    return held;
  }

  private grantLease(asked: number): number {
    if (!asked) return this.opts.leaseTtlMs;
    return Math.min(this.opts.maxLeaseTtlMs, Math.max(this.opts.minLeaseTtlMs, asked));
  }

  /** Add every topic reported by any replica of the broker's replica set. */
  private addReplicaSetTopics(ref: { cluster: string; brokerName: string }, into: Set<string>): void {
    for (const member of this.brokerManager.replicaSet(ref.cluster, ref.brokerName)) {
      for (const name of this.topicManager.namesOf(member.key)) into.add(name);
    }
  }
}
