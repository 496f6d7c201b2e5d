/**
 * BrokerManager: live brokers, their sessions and liveness.
 *
 * Sessions. Every registration belongs to a session, a number this replica assigns. A Connect stream is
 * one session; a unary broker's session is its epoch (one boot). Anything that would remove a broker
 * (stream end + grace, lease expiry, unregister) names the session or epoch it is about, and is ignored
 * when a fresher session holds the identity: a late goodbye never removes a newer registration.
 *
 * Conflicts. Two live sessions may claim the same identity only when they come from the same
 * addresses: two processes cannot listen on the same host:port at once, so same addresses means the
 * same broker restarted or reconnected (the new session takes over), and other addresses while the old
 * session is alive means two processes were given the same broker_id (BrokerConflict).
 *
 * Liveness. A broker is registered only while its session is alive, or within the grace after its
 * Connect stream ended: a stream session lives while its stream is open; a lease session until its lease
 * runs out. Once a stream session has ended it never opens again; only a new session (a reconnect, or a
 * unary registration, which starts a lease) can take over before the grace runs out. A unary Heartbeat
 * renews leases only: for a stream session it renews nothing while the stream is open, and asks for a
 * re-register once the stream has ended.
 *
 * Leases. A unary broker's lease is a timer per broker; a heartbeat only moves `leaseExpiresAtMs`
 * (O(1), no timer work), and a timer that fires early re-arms for the remainder; a lease shortened below
 * the armed timer (a registration asking for a shorter lease) re-arms it. Expiry therefore costs
 * O(expired brokers): nothing ever scans all brokers. Each broker has at most one timer: its lease, or
 * the grace of its ended stream.
 */
import { EventEmitter } from 'node:events';
import { Permission } from '../../../generated/nameserver/v1/common';
import { BrokerConflict, FailedPrecondition, Superseded } from './errors';
import { sameStrings } from './equality';
import { systemTimers, type Timer, type Timers } from './timers';
import { brokerKey, replicaSetKey, type BrokerKey, type ReplicaSetKey } from './types';
import { permissionOrDefault } from '../../shared/contract';

/** How a broker keeps its registration alive. */
export type SessionKind = 'stream' | 'lease';

/** Identity and descriptive fields of a registration (what RegisterBroker carries besides data). */
export interface BrokerHeader {
  cluster: string;
  brokerName: string;
  brokerId: number;
  addresses: readonly string[];
  zone: string;
  softwareVersion: string;
  /** Broker-wide permission (UNSPECIFIED is normalised to READ_WRITE). */
  permission: Permission;
  /** Boot id of the broker process. */
  epoch: string;
}

/** A frozen snapshot of a registered broker. */
export interface BrokerState extends Readonly<BrokerHeader> {
  readonly key: BrokerKey;
  readonly addresses: readonly string[];
  /** Data version counter held (within `epoch`); -1 until the first report is applied. */
  readonly counter: number;
  readonly sessionKind: SessionKind;
  readonly session: number;
  readonly registeredAtMs: number;
}

/** Liveness fields that change on every heartbeat (kept out of the frozen snapshot). */
export interface Liveness {
  lastSeenAtMs: number;
  /** 0 for stream sessions. */
  leaseExpiresAtMs: number;
  /** Stream sessions: whether the stream is open (false during the grace period). */
  streamOpen: boolean;
}

interface Entry {
  state: BrokerState;
  live: Liveness;
  leaseTtlMs: number;
  timer: Timer | undefined;
  /** When `timer` fires. */
  timerDueAtMs: number;
}

/** Outcome of admitting a registration. */
export interface Admission {
  /** The session the registration now belongs to. */
  session: number;
  /** The broker was not registered before. */
  created: boolean;
  /** A new session replaced an older one (restart or reconnect). */
  tookOver: boolean;
  /** Addresses, zone, version or permission changed (routes of the replica set must be rebuilt). */
  headerChanged: boolean;
  /** The state before, if any. */
  previous: BrokerState | undefined;
}

/** Events: a broker joined, changed its header, or left (with the reason). */
export interface BrokerEvents {
  joined: [state: BrokerState];
  updated: [state: BrokerState, previous: BrokerState];
  left: [state: BrokerState, reason: string];
}

/** Called when a session's liveness ran out (grace after stream end, or lease expiry). */
export type ExpireHandler = (key: BrokerKey, session: number, reason: string) => void;

/** Options of a BrokerManager. */
export interface BrokerManagerOptions {
  /** Clock and timers (the real ones by default; tests inject a fake). */
  timers?: Timers;
  /** Grace after a Connect stream ends. */
  streamGraceMs: number;
  /** Invoked (by a timer) when a session expires; the owner removes the broker's data. */
  onExpire: ExpireHandler;
}


/** See the module comment. */
export class BrokerManager extends EventEmitter<BrokerEvents> {
  private readonly entries = new Map<BrokerKey, Entry>();
  private readonly replicaSets = new Map<ReplicaSetKey, Map<number, BrokerKey>>();
  private readonly timers: Timers;
  private nextSession = 1;

  constructor(private readonly opts: BrokerManagerOptions) {
    super();
    this.timers = opts.timers ?? systemTimers;
  }

  /** The broker's current snapshot. */
  get(key: BrokerKey): BrokerState | undefined {
    return this.entries.get(key)?.state;
  }

  /** A copy of the broker's liveness fields. */
  liveness(key: BrokerKey): Liveness | undefined {
    const e = this.entries.get(key);
    return e && { ...e.live };
  }

  /** Number of registered brokers. */
  get size(): number {
    return this.entries.size;
  }

  /** Replica sets with at least one broker (leak checks). */
  get replicaSetCount(): number {
    return this.replicaSets.size;
  }

  /** Liveness timers armed (lease or grace), at most one per broker (leak checks). O(brokers). */
  get armedTimers(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.timer) n++;
    return n;
  }

  /** All brokers (snapshots), in no particular order. */
  all(): BrokerState[] {
    return [...this.entries.values()].map((e) => e.state);
  }

  /** Live replicas of a replica set, ordered by broker id. */
  replicaSet(cluster: string, brokerName: string): BrokerState[] {
    const ids = this.replicaSets.get(replicaSetKey(cluster, brokerName));
    if (!ids) return [];
    return [...ids.entries()].sort((a, b) => a[0] - b[0]).map(([, key]) => this.entries.get(key)!.state);
  }

  /** Whether `session` is the broker's current session. */
  isCurrent(key: BrokerKey, session: number): boolean {
    return this.entries.get(key)?.state.session === session;
  }

  /**
   * Throw unless `session` is the broker's current session and, for a stream session, its stream is
   * still open (Superseded, or FailedPrecondition for a session that ended). The network layer sends
   * nothing on an ended session; this keeps the invariant in the core whatever the caller.
   */
  checkSession(key: BrokerKey, session: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.state.session !== session) throw new Superseded(key);
    if (e.state.sessionKind === 'stream' && !e.live.streamOpen) {
      throw new FailedPrecondition(`Connect session ${session} of broker ${key} has ended; open a new session`);
    }
  }

  /**
   * Admit a registration. `session` is the caller's session for stream registrations after their first
   * one (undefined for a stream's first registration and for unary calls). Throws BrokerConflict, or
   * FailedPrecondition for a stream session that has ended.
   */
  admit(h: BrokerHeader, kind: SessionKind, session: number | undefined, leaseTtlMs: number): Admission {
    const key = brokerKey(h.cluster, h.brokerName, h.brokerId);
    const now = this.timers.now();
    const e = this.entries.get(key);
    const header = { ...h, addresses: Object.freeze([...h.addresses]), permission: permissionOrDefault(h.permission) };
    if (!e) {
      const state = this.freeze(key, header, -1, kind, this.nextSession++, now);
      const entry: Entry = { state, live: { lastSeenAtMs: now, leaseExpiresAtMs: 0, streamOpen: kind === 'stream' }, leaseTtlMs, timer: undefined, timerDueAtMs: 0 };
      this.entries.set(key, entry);
      this.linkReplica(state);
      this.touch(entry, kind, leaseTtlMs);
      this.emit('joined', state);
      return { session: state.session, created: true, tookOver: false, headerChanged: true, previous: undefined };
    }
    const prev = e.state;
    if (kind === 'stream' && session === prev.session) this.checkSession(key, session);
    // A stream is its own session; a unary call belongs to the session of its epoch (one boot), which may
    // be a live stream of the same process.
    const sameSession =
      kind === 'stream'
        ? session === prev.session
        : prev.epoch === h.epoch && (prev.sessionKind === 'lease' || e.live.streamOpen);
    let tookOver = false;
    let nextSession = prev.session;
    let nextKind = prev.sessionKind;
    if (!sameSession) {
      if (this.alive(e, now) && prev.epoch !== h.epoch && !sameStrings(prev.addresses, header.addresses)) {
        throw new BrokerConflict(key, `${prev.addresses.join(',')} (epoch ${prev.epoch})`);
      }
      tookOver = true;
      nextSession = this.nextSession++;
      nextKind = kind;
    }
    const headerChanged = !sameHeader(prev, header);
    const counter = prev.epoch === h.epoch ? prev.counter : -1;
    if (headerChanged || tookOver || prev.epoch !== h.epoch) {
      e.state = this.freeze(key, header, counter, nextKind, nextSession, tookOver ? now : prev.registeredAtMs);
    }
    if (tookOver) this.clearTimer(e);
    this.touch(e, nextKind, leaseTtlMs);
    if (headerChanged) this.emit('updated', e.state, prev);
    return { session: nextSession, created: false, tookOver, headerChanged, previous: prev };
  }

  /** Record the data version now applied. */
  setCounter(key: BrokerKey, counter: number): void {
    const e = this.entries.get(key);
    if (e) e.state = Object.freeze({ ...e.state, counter });
  }

  /** Change the broker-wide permission (a broker reporting it in a register does this via admit). */
  setPermission(key: BrokerKey, permission: Permission): BrokerState | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const prev = e.state;
    e.state = Object.freeze({ ...prev, permission: permissionOrDefault(permission) });
    if (prev.permission !== e.state.permission) this.emit('updated', e.state, prev);
    return e.state;
  }

  /**
   * A heartbeat at a data version. `session` is given for a Connect stream's own heartbeat (which must
   * come from the current, open session: see checkSession); a unary Heartbeat has none. A lease is renewed;
   * a stream session is never revived: while its stream is open there is nothing to renew, and once the
   * stream has ended the answer is a re-register (a RegisterBroker then starts a lease), so the grace
   * still runs out. Returns why a full re-register is needed, or undefined when the broker is held. O(1).
   */
  heartbeat(key: BrokerKey, epoch: string, counter: number, session?: number): string | undefined {
    const e = this.entries.get(key);
    if (!e) return 'broker is not registered on this NameServer (it restarted or the lease expired)';
    if (session !== undefined) this.checkSession(key, session);
    if (e.state.epoch !== epoch) return `epoch ${JSON.stringify(epoch.slice(0, 64))} is not the one registered`;
    if (e.state.counter !== counter) return `data version ${counter} is not the one held (${e.state.counter})`;
    const now = this.timers.now();
    if (e.state.sessionKind === 'stream') {
      if (!e.live.streamOpen) {
        return 'the Connect stream of this broker to this NameServer has ended (the broker is removed after the grace): a Heartbeat does not revive it; reconnect, or send RegisterBroker to start a lease';
      }
      e.live.lastSeenAtMs = now;
      return undefined;
    }
    if (e.live.leaseExpiresAtMs <= now) return 'the lease has expired';
    this.touch(e, 'lease', e.leaseTtlMs);
    return undefined;
  }

  /** Mark a broker as heard from (positions, instances, stream messages). */
  seen(key: BrokerKey): void {
    const e = this.entries.get(key);
    if (e) e.live.lastSeenAtMs = this.timers.now();
  }

  /** A stream session ended: start its grace period; the broker expires unless a new session takes over. */
  streamClosed(key: BrokerKey, session: number): void {
    const e = this.entries.get(key);
    // Only the current session's first close starts the grace: a second close must not extend it.
    if (!e || e.state.session !== session || e.state.sessionKind !== 'stream' || !e.live.streamOpen) return;
    e.live.streamOpen = false;
    this.clearTimer(e);
    e.timerDueAtMs = this.timers.now() + this.opts.streamGraceMs;
    e.timer = this.timers.after(this.opts.streamGraceMs, () => {
      e.timer = undefined;
      if (this.entries.get(key) === e && e.state.session === session && !e.live.streamOpen) {
        this.opts.onExpire(key, session, 'stream closed');
      }
    });
  }

  /**
   * Remove a broker. With `session`, only if that session still holds it; with `epoch`, only if the
   * registration is of that epoch. Returns the removed snapshot, or undefined when nothing matched.
   */
  remove(key: BrokerKey, reason: string, fence: { session?: number; epoch?: string } = {}): BrokerState | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (fence.session !== undefined && e.state.session !== fence.session) return undefined;
    if (fence.epoch !== undefined && fence.epoch !== '' && e.state.epoch !== fence.epoch) return undefined;
    this.clearTimer(e);
    this.entries.delete(key);
    const rs = replicaSetKey(e.state.cluster, e.state.brokerName);
    const ids = this.replicaSets.get(rs);
    ids?.delete(e.state.brokerId);
    if (ids?.size === 0) this.replicaSets.delete(rs);
    this.emit('left', e.state, reason);
    return e.state;
  }

  /** Stop every timer (shutdown). */
  close(): void {
    for (const e of this.entries.values()) this.clearTimer(e);
  }

  private alive(e: Entry, now: number): boolean {
    return e.state.sessionKind === 'stream' ? e.live.streamOpen : e.live.leaseExpiresAtMs > now;
  }

  private touch(e: Entry, kind: SessionKind, leaseTtlMs: number): void {
    const now = this.timers.now();
    e.live.lastSeenAtMs = now;
    if (kind === 'stream') {
      e.live.streamOpen = true;
      e.live.leaseExpiresAtMs = 0;
      this.clearTimer(e); // a reconnect within the grace period cancels the pending removal
      return;
    }
    e.leaseTtlMs = leaseTtlMs;
    e.live.leaseExpiresAtMs = now + leaseTtlMs;
    // A timer due before the new expiry re-arms itself when it fires; one due after it (the lease was
    // shortened) would keep the broker past its lease, so it is replaced.
    if (!e.timer || e.timerDueAtMs > e.live.leaseExpiresAtMs) {
      this.clearTimer(e);
      this.armLease(e, leaseTtlMs);
    }
  }

  private armLease(e: Entry, delayMs: number): void {
    const { key, session } = e.state;
    e.timerDueAtMs = this.timers.now() + Math.max(1, delayMs);
    e.timer = this.timers.after(Math.max(1, delayMs), () => {
      e.timer = undefined;
      if (this.entries.get(key) !== e || e.state.session !== session) return;
      const left = e.live.leaseExpiresAtMs - this.timers.now();
      if (left > 0) this.armLease(e, left);
      else this.opts.onExpire(key, session, 'lease expired');
    });
  }

  private clearTimer(e: Entry): void {
    e.timer?.cancel();
    e.timer = undefined;
  }

  private linkReplica(s: BrokerState): void {
    const rs = replicaSetKey(s.cluster, s.brokerName);
    let ids = this.replicaSets.get(rs);
    if (!ids) this.replicaSets.set(rs, (ids = new Map()));
    ids.set(s.brokerId, s.key);
  }

  private freeze(key: BrokerKey, h: BrokerHeader, counter: number, kind: SessionKind, session: number, registeredAtMs: number): BrokerState {
    return Object.freeze({ ...h, key, counter, sessionKind: kind, session, registeredAtMs });
  }
}

function sameHeader(a: BrokerHeader, b: BrokerHeader): boolean {
  return (
    a.zone === b.zone &&
    a.softwareVersion === b.softwareVersion &&
    a.permission === b.permission &&
    sameStrings(a.addresses, b.addresses)
  );
}

/** What callers outside the metadata module may use of the broker manager: reads and events. */
export type BrokerReader = Pick<BrokerManager, 'get' | 'liveness' | 'size' | 'replicaSetCount' | 'all' | 'replicaSet' | 'isCurrent' | 'on' | 'once' | 'off' | 'listenerCount'>;
