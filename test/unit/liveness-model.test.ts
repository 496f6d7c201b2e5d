/**
 * Broker liveness and report ordering, model-based (fast-check) over a fake clock. No network: the real
 * BrokerRegistry handlers and Connect sessions (src/network) are driven with fake calls, over the real
 * Registry with injected fake timers.
 *
 * Generated: interleavings of Connect streams (register, delta, heartbeat, positions, instances, stream end by
 * half-close or cancel), unary calls (RegisterBroker with various leases, Heartbeat, ReportDelta,
 * UnregisterBroker with and without epoch, ReportPositions, ReportInstances), time passing (lease expiry, grace timers),
 * retried and reordered reports (any counter at any time), restarts (a new epoch from the same address)
 * and a second process claiming the same broker id from another address (ALREADY_EXISTS).
 *
 * Checked after every step:
 *  - the invariant, stated from what the brokers did and were told, not from the model: a broker
 *    is registered only while one of its Connect streams is open, or a lease it was granted has not run
 *    out, or within the grace after a stream of it ended; an unregister that answered `removed` removed it;
 *  - the reference model: every answer (ack, stale, reregister_required, lease granted, status code), which
 *    broker holds which epoch and data version in which kind of session, which streams the server ended;
 *  - order independence: every route equals the route built from only the newest report of each
 *    registered broker, so the same reports give the same versions whatever their order;
 *  - no leaks: exactly one liveness timer per lease or grace, none else pending, the session directory
 *    holds exactly the streams the model says, the managers are consistent; after every stream ends and
 *    time passes, every table is empty and no timer is pending.
 *
 * Runs: LIVENESS_RUNS (default 300 sequences of up to 40 steps, and 300 pairs of orders); `npm run soak:liveness`
 * runs 20,000 of each.
 * LIVENESS_SEED replays a seed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { status, type ServerDuplexStream, type ServerUnaryCall } from '@grpc/grpc-js';
import type {
  ConnectRequest,
  ConnectResponse,
  HeartbeatRequest,
  RegisterBrokerRequest,
  ReportDeltaRequest,
  ReportInstancesRequest,
  ReportPositionsRequest,
} from '../../generated/nameserver/v1/broker_registry';
import { ClientRole, GroupConfig, Permission, type TopicConfig } from '../../generated/nameserver/v1/common';
import { DEFAULT_CONFIG, type Config } from '../../src/config';
import { Registry, type RegistryOptions } from '../../src/metadata/registry';
import { brokerKey } from '../../src/metadata/types';
import { brokerRegistryService } from '../../src/network/broker-registry';
import { BrokerSession, SessionDirectory } from '../../src/network/broker-session';
import { CommandDispatcher } from '../../src/network/commands';
import type { ServiceDeps } from '../../src/network/deps';
import { FakeTimers } from '../helpers/fake-timers';
import { topic } from '../fixtures/reports';

const GRACE = 2_000;
const DEFAULT_LEASE = 30_000;
const CONFIG: Config = { ...DEFAULT_CONFIG, streamGraceMs: GRACE, leaseTtlMs: DEFAULT_LEASE, minLeaseTtlMs: 1_000, maxLeaseTtlMs: 300_000 };
const REGISTRY_OPTS: RegistryOptions = {
  leaseTtlMs: CONFIG.leaseTtlMs,
  minLeaseTtlMs: CONFIG.minLeaseTtlMs,
  maxLeaseTtlMs: CONFIG.maxLeaseTtlMs,
  streamGraceMs: GRACE,
  chunkTimeoutMs: 60_000,
};
const RUNS = Number(process.env.LIVENESS_RUNS ?? 300);
const SEED = process.env.LIVENESS_SEED === undefined ? undefined : Number(process.env.LIVENESS_SEED);

// ---------------------------------------------------------------------------------------------------
// The brokers: three identities (two replicas of rs-a, one of rs-b), each with three boots: 0 and 1
// from the broker's own address (a restart), 2 from another address (a second process given that id).

interface Proc {
  k: number;
  boot: number;
  brokerName: string;
  brokerId: number;
  key: string;
  epoch: string;
  address: string;
}

const IDS = [
  { brokerName: 'rs-a', brokerId: 0 },
  { brokerName: 'rs-a', brokerId: 1 },
  { brokerName: 'rs-b', brokerId: 0 },
];
const PROCS: Proc[] = IDS.flatMap((id, k) =>
  [0, 1, 2].map((boot) => ({
    k,
    boot,
    ...id,
    key: brokerKey('c1', id.brokerName, id.brokerId),
    epoch: `boot-${k}-${boot}`,
    address: `10.0.${k}.${boot === 2 ? 2 : 1}:10911`,
  })),
);

/** What a process reports at a counter: a deterministic function, so a report is known by (process, counter). */
function topicsAt(p: Proc, c: number): TopicConfig[] {
  const out: TopicConfig[] = [];
  for (let j = 0; j < 4; j++) {
    if ((c + j + p.k + p.boot) % 3 === 0) continue;
    out.push(topic(`t${j}`, { readQueueNums: 4, writeQueueNums: 1 + ((c * (j + 1)) % 4) }));
  }
  return out;
}

function groupsAt(p: Proc, c: number): GroupConfig[] {
  return (c + p.boot) % 2 ? [GroupConfig.fromPartial({ name: 'g0' })] : [GroupConfig.fromPartial({ name: 'g0' }), GroupConfig.fromPartial({ name: `g${1 + p.k}` })];
}

function registerReq(p: Proc, c: number, leaseTtlMs = 0): RegisterBrokerRequest {
  return {
    cluster: 'c1',
    brokerName: p.brokerName,
    brokerId: p.brokerId,
    addresses: [p.address],
    zone: 'z1',
    softwareVersion: '5.3.1',
    dataVersion: { epoch: p.epoch, counter: c },
    topics: topicsAt(p, c),
    groups: groupsAt(p, c),
    permission: Permission.PERMISSION_UNSPECIFIED,
    chunkIndex: 0,
    chunkCount: 0,
    leaseTtlMs,
  };
}

/** The delta that turns the report at `b` into the report at `c`. */
function deltaReq(p: Proc, b: number, c: number, identity: boolean): ReportDeltaRequest {
  const before = new Map(topicsAt(p, b).map((t) => [t.name, t]));
  const after = topicsAt(p, c);
  const gBefore = new Set(groupsAt(p, b).map((g) => g.name));
  const gAfter = groupsAt(p, c);
  return {
    cluster: identity ? 'c1' : '',
    brokerName: identity ? p.brokerName : '',
    brokerId: identity ? p.brokerId : 0,
    baseCounter: b,
    dataVersion: { epoch: p.epoch, counter: c },
    upsertTopics: after.filter((t) => JSON.stringify(before.get(t.name)) !== JSON.stringify(t)),
    deleteTopics: [...before.keys()].filter((n) => !after.some((t) => t.name === n)),
    upsertGroups: gAfter.filter((g) => !gBefore.has(g.name)),
    deleteGroups: [...gBefore].filter((n) => !gAfter.some((g) => g.name === n)),
  };
}

const heartbeatReq = (p: Proc, c: number, identity = true): HeartbeatRequest => ({
  cluster: identity ? 'c1' : '',
  brokerName: identity ? p.brokerName : '',
  brokerId: identity ? p.brokerId : 0,
  dataVersion: { epoch: p.epoch, counter: c },
});

const instancesReq = (p: Proc, identity = true): ReportInstancesRequest => ({
  cluster: identity ? 'c1' : '',
  brokerName: identity ? p.brokerName : '',
  brokerId: identity ? p.brokerId : 0,
  instances: [{ clientId: `app-${p.k}`, role: ClientRole.CLIENT_ROLE_CONSUMER, group: 'g0', topics: ['t0'], host: '10.1.1.1', language: 'JAVA', version: '5.0' }],
  full: true,
});

const positionsReq = (p: Proc, identity = true): ReportPositionsRequest => ({
  cluster: identity ? 'c1' : '',
  brokerName: identity ? p.brokerName : '',
  brokerId: identity ? p.brokerId : 0,
  queuePositions: [{ topic: 't0', queueId: 0, minOffset: 0, maxOffset: 100 }],
  consumerPositions: [{ group: 'g0', topic: 't0', queueId: 0, committedOffset: 50 }],
  full: true,
});

// ---------------------------------------------------------------------------------------------------
// Fakes of the grpc-js calls the handlers see.

/** A server-side Connect call: the test plays the broker by emitting 'data', 'end' or 'cancelled'. */
class FakeConnectCall extends EventEmitter {
  readonly sent: ConnectResponse[] = [];
  writableEnded = false;
  cancelled = false;
  /** The status the server ended the stream with, if it did. */
  endedWith: { code: number; details: string } | undefined;

  constructor() {
    super();
    // grpc-js sends an 'error' emitted on a server stream as its status and ends the call.
    this.on('error', (s: { code: number; details: string }) => {
      this.endedWith ??= { code: s.code, details: s.details };
      this.writableEnded = true;
    });
  }

  write(m: ConnectResponse): boolean {
    if (this.writableEnded) throw new Error('write after end');
    this.sent.push(m);
    return true;
  }

  end(): void {
    this.writableEnded = true;
  }

  getPeer(): string {
    return '127.0.0.1:1';
  }
}

type UnaryHandler<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: (err: { code: number; details: string } | null, res?: Res) => void) => void;

/** Call a unary handler synchronously (the BrokerRegistry handlers answer before returning). */
function unaryCall<Req, Res>(h: unknown, request: Req): { ok: true; res: Res } | { ok: false; code: number; details: string } {
  let out: { ok: true; res: Res } | { ok: false; code: number; details: string } | undefined;
  (h as UnaryHandler<Req, Res>)({ request, getPeer: () => '127.0.0.1:2' } as unknown as ServerUnaryCall<Req, Res>, (err, res) => {
    out = err ? { ok: false, code: err.code, details: err.details } : { ok: true, res: res! };
  });
  if (!out) throw new Error('the handler did not answer synchronously');
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Operations.

/**
 * Which data version a report carries, relative to the process's own counter (what it has reached):
 * its current one, a new one (the process changed something), an older one (a late retry, or a report
 * overtaken by a newer one), the last one the NameServer acknowledged to it (what a heartbeat says it
 * believes is held), or a fixed number.
 */
type CSpec = 'cur' | 'bump' | 'old' | 'acked' | number;
/** Which delta: the next one, the last one sent again, an older one, or one after a lost delta. */
type DSpec = 'next' | 'again' | 'old' | 'gap';

type Op =
  | { t: 'open'; p: number; c: CSpec }
  | { t: 'sReg'; s: number; c: CSpec }
  | { t: 'sDelta'; s: number; d: DSpec }
  | { t: 'sHb'; s: number; c: CSpec }
  | { t: 'sPos'; s: number; instances: boolean }
  | { t: 'sEnd'; s: number; how: 'end' | 'cancel' }
  | { t: 'uReg'; p: number; c: CSpec; ttl: number }
  | { t: 'uHb'; p: number; c: CSpec }
  | { t: 'uDelta'; p: number; d: DSpec }
  | { t: 'uUnreg'; p: number; withEpoch: boolean }
  | { t: 'uPos'; p: number; instances: boolean }
  | { t: 'tick'; ms: number };

// Mostly one broker identity and its own address, so that sessions of one broker meet often.
const procArb = fc.tuple(fc.constantFrom(0, 0, 0, 1, 2), fc.constantFrom(0, 0, 0, 1, 1, 2)).map(([k, boot]) => k * 3 + boot);
const cArb: fc.Arbitrary<CSpec> = fc.oneof(
  { arbitrary: fc.constant('cur' as const), weight: 4 },
  { arbitrary: fc.constant('bump' as const), weight: 3 },
  { arbitrary: fc.constant('old' as const), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 1 },
);
const hbArb: fc.Arbitrary<CSpec> = fc.oneof({ arbitrary: fc.constant('acked' as const), weight: 3 }, { arbitrary: cArb, weight: 1 });
const dArb: fc.Arbitrary<DSpec> = fc.oneof(
  { arbitrary: fc.constant('next' as const), weight: 4 },
  { arbitrary: fc.constant('again' as const), weight: 2 },
  { arbitrary: fc.constant('old' as const), weight: 1 },
  { arbitrary: fc.constant('gap' as const), weight: 1 },
);
const streamArb = fc.nat({ max: 7 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('open' as const), p: procArb, c: cArb }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('sReg' as const), s: streamArb, c: cArb }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('sDelta' as const), s: streamArb, d: dArb }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('sHb' as const), s: streamArb, c: hbArb }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('sPos' as const), s: streamArb, instances: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('sEnd' as const), s: streamArb, how: fc.constantFrom('end' as const, 'cancel' as const) }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('uReg' as const), p: procArb, c: cArb, ttl: fc.constantFrom(0, 1_000, 3_000, 10_000, 300_000) }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('uHb' as const), p: procArb, c: hbArb }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('uDelta' as const), p: procArb, d: dArb }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('uUnreg' as const), p: procArb, withEpoch: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('uPos' as const), p: procArb, instances: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.constantFrom(1, 500, 1_000, 1_999, 2_000, 3_000, 10_000) }), weight: 4 },
);

// ---------------------------------------------------------------------------------------------------
// The reference model: what the NameServer must do, written plainly.

interface MEntry {
  proc: number;
  counter: number;
  kind: 'stream' | 'lease';
  /** The stream whose session holds the broker (kind 'stream'). */
  stream: number | undefined;
  /** The stream is open (kind 'stream'); false during the grace. */
  open: boolean;
  leaseUntil: number;
  ttl: number;
  graceUntil: number;
}

interface MStream {
  proc: number;
  open: boolean;
  /** The server gave this stream a session (it was accepted). */
  session: boolean;
}

/** An answer as the broker sees it. */
type Answer =
  | { kind: 'ack'; ok: boolean; reregister: boolean; stale: boolean }
  | { kind: 'ended'; code: number }
  | { kind: 'res'; fields: Record<string, unknown> }
  | { kind: 'error'; code: number }
  | { kind: 'none' };

class Model {
  readonly entries = new Map<string, MEntry>();
  readonly streams: MStream[] = [];
  /** Broker key → the stream the server's session directory names. */
  readonly dir = new Map<string, number>();
  now = 0;

  constructor(private readonly note: (situation: string) => void = () => {}) {}

  private alive(e: MEntry): boolean {
    return e.kind === 'stream' ? e.open : e.leaseUntil > this.now;
  }

  /** A full report; `stream` is the stream it came on (undefined: unary). */
  register(pi: number, c: number, stream: number | undefined, ttl: number): { stale?: true; conflict?: true; newSession?: boolean; leaseTtl?: number } {
    const p = PROCS[pi]!;
    const e = this.entries.get(p.key);
    const via = stream !== undefined ? 'stream' : 'unary';
    if (e && e.proc === pi && c < e.counter) {
      this.note(`${via} register: stale`);
      return { stale: true };
    }
    const same =
      stream !== undefined ? e?.kind === 'stream' && e.stream === stream : e !== undefined && e.proc === pi && (e.kind === 'lease' || e.open);
    if (!same && e && this.alive(e) && e.proc !== pi && PROCS[e.proc]!.address !== p.address) {
      this.note(`${via} register: ALREADY_EXISTS`);
      return { conflict: true };
    }
    if (!e) this.note(`${via} register: new broker`);
    else if (same) this.note(`${via} register: same session${e.kind === 'stream' && stream === undefined ? ' (a live stream)' : ''}`);
    else if (e.kind === 'stream' && !e.open) this.note(`${via} register: takes over a stream session in its grace`);
    else this.note(`${via} register: takes over a live ${e.kind} session of ${e.proc === pi ? 'the same' : 'another'} epoch`);
    if (same) {
      e!.counter = c;
      if (e!.kind === 'lease') {
        if (this.now + ttl < e!.leaseUntil) this.note('unary register: shortens the lease');
        e!.ttl = ttl;
        e!.leaseUntil = this.now + ttl;
        return { newSession: false, leaseTtl: ttl };
      }
      return { newSession: false, leaseTtl: 0 };
    }
    this.entries.set(p.key, {
      proc: pi,
      counter: c,
      kind: stream !== undefined ? 'stream' : 'lease',
      stream,
      open: stream !== undefined,
      leaseUntil: stream !== undefined ? 0 : this.now + ttl,
      ttl,
      graceUntil: 0,
    });
    return { newSession: true, leaseTtl: stream !== undefined ? 0 : ttl };
  }

  /** A stream register; applies the session directory's claim (an older stream is superseded). */
  streamRegister(si: number, c: number): Answer {
    const s = this.streams[si]!;
    const r = this.register(s.proc, c, si, 0);
    if (r.stale) return { kind: 'ack', ok: true, reregister: false, stale: true };
    if (r.conflict) {
      this.endStream(si);
      return { kind: 'ended', code: status.ALREADY_EXISTS };
    }
    if (r.newSession) {
      s.session = true;
      const key = PROCS[s.proc]!.key;
      const old = this.dir.get(key);
      this.dir.set(key, si);
      if (old !== undefined && old !== si && this.streams[old]!.open) {
        this.streams[old]!.open = false; // superseded: no grace
        this.note('stream superseded by a newer stream');
      }
    }
    return { kind: 'ack', ok: true, reregister: false, stale: false };
  }

  /** The stream ends (the broker ended it, or the server did); its grace starts if it held the session. */
  endStream(si: number): void {
    const s = this.streams[si]!;
    if (!s.open) return;
    s.open = false;
    if (!s.session) return;
    const key = PROCS[s.proc]!.key;
    if (this.dir.get(key) === si) this.dir.delete(key);
    const e = this.entries.get(key);
    if (e && e.kind === 'stream' && e.stream === si && e.open) {
      e.open = false;
      e.graceUntil = this.now + GRACE;
    }
  }

  /** The checks every stream message but register goes through: the session's entry, or the answer. */
  private streamHeld(si: number): { entry: MEntry } | { answer: Answer } {
    const s = this.streams[si]!;
    if (!s.session) {
      this.endStream(si);
      this.note('stream message before an accepted register: FAILED_PRECONDITION');
      return { answer: { kind: 'ended', code: status.FAILED_PRECONDITION } };
    }
    const e = this.entries.get(PROCS[s.proc]!.key);
    if (!e) {
      this.note('stream message for a broker no longer registered: reregister');
      return { answer: { kind: 'ack', ok: false, reregister: true, stale: false } };
    }
    if (!(e.kind === 'stream' && e.stream === si)) {
      this.note('stream message on a session taken over: ABORTED');
      this.endStream(si);
      return { answer: { kind: 'ended', code: status.ABORTED } };
    }
    return { entry: e };
  }

  streamDelta(si: number, b: number, c: number): Answer {
    const h = this.streamHeld(si);
    if ('answer' in h) return h.answer;
    if (c <= h.entry.counter) {
      this.note('stream delta: stale');
      return { kind: 'ack', ok: true, reregister: false, stale: true };
    }
    if (b !== h.entry.counter) {
      this.note('stream delta: base not held');
      return { kind: 'ack', ok: false, reregister: true, stale: false };
    }
    this.note('stream delta: applied');
    h.entry.counter = c;
    return { kind: 'ack', ok: true, reregister: false, stale: false };
  }

  streamHeartbeat(si: number, c: number): Answer {
    const h = this.streamHeld(si);
    if ('answer' in h) return h.answer;
    if (c !== h.entry.counter) return { kind: 'ack', ok: false, reregister: true, stale: false };
    return { kind: 'ack', ok: true, reregister: false, stale: false };
  }

  streamPositions(si: number): Answer {
    const h = this.streamHeld(si);
    if ('answer' in h) return h.answer;
    return { kind: 'ack', ok: true, reregister: false, stale: false };
  }

  unaryRegister(pi: number, c: number, ttl: number): Answer {
    const r = this.register(pi, c, undefined, ttl || DEFAULT_LEASE);
    if (r.conflict) return { kind: 'error', code: status.ALREADY_EXISTS };
    if (r.stale) return { kind: 'res', fields: { stale: true, leaseTtlMs: 0 } };
    return { kind: 'res', fields: { stale: false, leaseTtlMs: r.leaseTtl } };
  }

  unaryHeartbeat(pi: number, c: number): Answer {
    const e = this.entries.get(PROCS[pi]!.key);
    const no = { kind: 'res' as const, fields: { reregisterRequired: true, leaseTtlMs: 0 } };
    if (!e || e.proc !== pi || e.counter !== c) return no;
    if (e.kind === 'stream') {
      this.note(e.open ? 'unary heartbeat: a live stream session (renews nothing)' : 'unary heartbeat: a stream session in its grace (reregister, no revival)');
      return e.open ? { kind: 'res', fields: { reregisterRequired: false, leaseTtlMs: 0 } } : no;
    }
    this.note('unary heartbeat: renews the lease');
    e.leaseUntil = this.now + e.ttl;
    return { kind: 'res', fields: { reregisterRequired: false, leaseTtlMs: e.ttl } };
  }

  unaryDelta(pi: number, b: number, c: number): Answer {
    const e = this.entries.get(PROCS[pi]!.key);
    if (!e || e.proc !== pi) return { kind: 'res', fields: { reregisterRequired: true, stale: false } };
    if (c <= e.counter) {
      this.note('unary delta: stale');
      return { kind: 'res', fields: { reregisterRequired: false, stale: true } };
    }
    if (b !== e.counter) {
      this.note('unary delta: base not held');
      return { kind: 'res', fields: { reregisterRequired: true, stale: false } };
    }
    this.note(`unary delta: applied${e.kind === 'stream' ? ' to a stream session' : ''}`);
    e.counter = c;
    return { kind: 'res', fields: { reregisterRequired: false, stale: false } };
  }

  unaryUnregister(pi: number, withEpoch: boolean): Answer {
    const p = PROCS[pi]!;
    const e = this.entries.get(p.key);
    if (!e || (withEpoch && e.proc !== pi)) {
      if (e) this.note('unregister: another epoch, ignored');
      return { kind: 'res', fields: { removed: false } };
    }
    this.note(`unregister: removes a ${e.kind} session`);
    this.entries.delete(p.key);
    return { kind: 'res', fields: { removed: true } };
  }

  unaryPositions(pi: number): Answer {
    return this.entries.has(PROCS[pi]!.key) ? { kind: 'res', fields: {} } : { kind: 'error', code: status.NOT_FOUND };
  }

  tick(ms: number): void {
    const end = this.now + ms;
    for (const [key, e] of this.entries) {
      const deadline = e.kind === 'lease' ? e.leaseUntil : e.open ? Infinity : e.graceUntil;
      if (deadline <= end) {
        this.note(e.kind === 'lease' ? 'lease expired' : 'grace ran out');
        this.entries.delete(key);
      }
    }
    this.now = end;
  }

  /** Liveness timers the server must hold: one per lease, one per stream session in its grace. */
  get timers(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.kind === 'lease' || !e.open) n++;
    return n;
  }
}

// ---------------------------------------------------------------------------------------------------
// The system under test, and the world that runs both and compares.

interface SStream {
  proc: number;
  call: FakeConnectCall;
  /** Responses already looked at. */
  read: number;
  /** The broker saw `accepted` on it. */
  accepted: boolean;
  /** The broker ended it (half-close or cancel). */
  endedByBroker: boolean;
}

class World {
  readonly timers = new FakeTimers(0);
  readonly registry = new Registry({ ...REGISTRY_OPTS, timers: this.timers });
  readonly sessions = new SessionDirectory();
  readonly deps = {
    config: CONFIG,
    registry: this.registry,
    sessions: this.sessions,
    commands: new CommandDispatcher(this.sessions),
    serverId: 'model',
  } as unknown as ServiceDeps;
  readonly svc = brokerRegistryService(this.deps);
  readonly model: Model;
  readonly streams: SStream[] = [];
  private seq = 0;
  /** What the brokers were told: the lease last granted runs until (per key). */
  private readonly leaseUntil = new Map<string, number>();
  /** When a stream of the key that had a session last ended. */
  private readonly streamEndedAt = new Map<string, number>();
  /** The steps as run, with the counters they resolved to (printed with a counterexample). */
  readonly log: string[] = [];
  /** Each process's own data version counter: what it has reached (starts at 1). */
  private readonly cur = PROCS.map(() => 1);
  /** The last data version the NameServer acknowledged to each process (applied or already held). */
  private readonly acked = PROCS.map(() => 1);

  constructor(note?: (situation: string) => void) {
    this.model = new Model(note);
  }

  private counter(pi: number, spec: CSpec): number {
    const cur = this.cur[pi]!;
    if (spec === 'cur') return cur;
    if (spec === 'bump') return (this.cur[pi] = cur + 1);
    if (spec === 'old') return Math.max(1, cur - 1);
    if (spec === 'acked') return this.acked[pi]!;
    return spec;
  }

  private delta(pi: number, spec: DSpec): { b: number; c: number } {
    const cur = this.cur[pi]!;
    switch (spec) {
      case 'next':
        this.cur[pi] = cur + 1;
        return { b: cur, c: cur + 1 };
      case 'again':
        return cur >= 2 ? { b: cur - 1, c: cur } : { b: 1, c: 2 };
      case 'old':
        return cur >= 3 ? { b: cur - 2, c: cur - 1 } : { b: 1, c: 2 };
      case 'gap':
        this.cur[pi] = cur + 2;
        return { b: cur + 1, c: cur + 2 };
    }
  }

  private pickOpen(s: number): number | undefined {
    const open = this.streams.map((x, i) => [x, i] as const).filter(([x]) => !x.call.writableEnded && !x.endedByBroker);
    return open.length ? open[s % open.length]![1] : undefined;
  }

  /** Send one message on a stream and return the answer the broker gets. */
  private send(si: number, body: ConnectRequest['body']): Answer {
    const st = this.streams[si]!;
    const seq = ++this.seq;
    st.call.emit('data', { seq, body } satisfies ConnectRequest);
    const fresh = st.call.sent.slice(st.read);
    st.read = st.call.sent.length;
    for (const m of fresh) if (m.body?.$case === 'accepted') st.accepted = true;
    const ack = fresh.find((m) => m.body?.$case === 'ack' && m.body.ack.seq === seq);
    if (ack?.body?.$case === 'ack') {
      const a = ack.body.ack as { ok: boolean; reregisterRequired: boolean; stale?: boolean };
      return { kind: 'ack', ok: a.ok, reregister: a.reregisterRequired, stale: a.stale ?? false };
    }
    if (st.call.endedWith) return { kind: 'ended', code: st.call.endedWith.code };
    return { kind: 'none' };
  }

  private noteStreamEnd(si: number): void {
    const st = this.streams[si]!;
    if (st.accepted) this.streamEndedAt.set(PROCS[st.proc]!.key, this.timers.now());
  }

  apply(op: Op): void {
    const m = this.model;
    const say = (what: string) => this.log.push(`t=${this.timers.now()} ${what}`);
    const expectAnswer = (got: Answer, want: Answer, what: string) => assert.deepEqual(got, want, `${what}: answer`);
    switch (op.t) {
      case 'open': {
        const call = new FakeConnectCall();
        const si = this.streams.length;
        this.streams.push({ proc: op.p, call, read: 0, accepted: false, endedByBroker: false });
        new BrokerSession(call as unknown as ServerDuplexStream<ConnectRequest, ConnectResponse>, this.deps).start();
        m.streams.push({ proc: op.p, open: true, session: false });
        const c = this.counter(op.p, op.c);
        say(`stream ${si} opened by ${PROCS[op.p]!.epoch}: register @${c}`);
        const want = m.streamRegister(si, c);
        const got = this.send(si, { $case: 'register', register: registerReq(PROCS[op.p]!, c) });
        expectAnswer(got, want, `open stream ${si}`);
        if (got.kind === 'ack' && got.ok && !got.stale) this.acked[op.p] = c;
        break;
      }
      case 'sReg': {
        const si = this.pickOpen(op.s);
        if (si === undefined) return;
        const pi = this.streams[si]!.proc;
        const c = this.counter(pi, op.c);
        say(`stream ${si}: register @${c}`);
        const want = m.streamRegister(si, c);
        const got = this.send(si, { $case: 'register', register: registerReq(PROCS[pi]!, c) });
        expectAnswer(got, want, `register on stream ${si}`);
        if (got.kind === 'ack' && got.ok && !got.stale) this.acked[pi] = c;
        break;
      }
      case 'sDelta': {
        const si = this.pickOpen(op.s);
        if (si === undefined) return;
        const pi = this.streams[si]!.proc;
        const { b, c } = this.delta(pi, op.d);
        say(`stream ${si}: delta ${b}->${c}`);
        const want = m.streamDelta(si, b, c);
        const got = this.send(si, { $case: 'delta', delta: deltaReq(PROCS[pi]!, b, c, false) });
        expectAnswer(got, want, `delta on stream ${si}`);
        if (got.kind === 'ack' && got.ok && !got.stale) this.acked[pi] = c;
        break;
      }
      case 'sHb': {
        const si = this.pickOpen(op.s);
        if (si === undefined) return;
        const pi = this.streams[si]!.proc;
        const c = this.counter(pi, op.c);
        say(`stream ${si}: heartbeat @${c}`);
        const want = m.streamHeartbeat(si, c);
        const got = this.send(si, { $case: 'heartbeat', heartbeat: heartbeatReq(PROCS[pi]!, c, false) });
        expectAnswer(got, want, `heartbeat on stream ${si}`);
        break;
      }
      case 'sPos': {
        const si = this.pickOpen(op.s);
        if (si === undefined) return;
        const p = PROCS[this.streams[si]!.proc]!;
        say(`stream ${si}: ${op.instances ? 'instances' : 'positions'}`);
        const want = m.streamPositions(si);
        const got = this.send(si, op.instances ? { $case: 'instances', instances: instancesReq(p, false) } : { $case: 'positions', positions: positionsReq(p, false) });
        expectAnswer(got, want, `${op.instances ? 'instances' : 'positions'} on stream ${si}`);
        break;
      }
      case 'sEnd': {
        const si = this.pickOpen(op.s);
        if (si === undefined) return;
        const st = this.streams[si]!;
        say(`stream ${si}: ${op.how === 'end' ? 'half-closed' : 'cancelled'} by the broker`);
        st.endedByBroker = true;
        m.endStream(si);
        if (op.how === 'end') st.call.emit('end');
        else {
          st.call.cancelled = true;
          st.call.emit('cancelled');
        }
        this.noteStreamEnd(si);
        break;
      }
      case 'uReg': {
        const c = this.counter(op.p, op.c);
        say(`RegisterBroker ${PROCS[op.p]!.epoch} (${PROCS[op.p]!.address}) @${c} lease ${op.ttl}`);
        const want = m.unaryRegister(op.p, c, op.ttl);
        const out = unaryCall<RegisterBrokerRequest, { stale?: boolean; leaseTtlMs: number }>(this.svc.registerBroker, registerReq(PROCS[op.p]!, c, op.ttl));
        const got: Answer = out.ok ? { kind: 'res', fields: { stale: out.res.stale ?? false, leaseTtlMs: out.res.leaseTtlMs } } : { kind: 'error', code: out.code };
        expectAnswer(got, want, 'RegisterBroker');
        if (out.ok && !out.res.stale) this.acked[op.p] = c;
        if (out.ok && !out.res.stale && out.res.leaseTtlMs > 0) this.grantLease(PROCS[op.p]!.key, out.res.leaseTtlMs);
        break;
      }
      case 'uHb': {
        const c = this.counter(op.p, op.c);
        say(`Heartbeat ${PROCS[op.p]!.epoch} @${c}`);
        const want = m.unaryHeartbeat(op.p, c);
        const out = unaryCall<HeartbeatRequest, { reregisterRequired: boolean; leaseTtlMs: number }>(this.svc.heartbeat, heartbeatReq(PROCS[op.p]!, c));
        assert.ok(out.ok, 'Heartbeat answers OK');
        const got: Answer = { kind: 'res', fields: { reregisterRequired: out.res.reregisterRequired, leaseTtlMs: out.res.leaseTtlMs } };
        expectAnswer(got, want, 'Heartbeat');
        if (!out.res.reregisterRequired && out.res.leaseTtlMs > 0) this.grantLease(PROCS[op.p]!.key, out.res.leaseTtlMs);
        break;
      }
      case 'uDelta': {
        const { b, c } = this.delta(op.p, op.d);
        say(`ReportDelta ${PROCS[op.p]!.epoch} ${b}->${c}`);
        const want = m.unaryDelta(op.p, b, c);
        const out = unaryCall<ReportDeltaRequest, { reregisterRequired: boolean; stale?: boolean }>(this.svc.reportDelta, deltaReq(PROCS[op.p]!, b, c, true));
        assert.ok(out.ok, 'ReportDelta answers OK');
        expectAnswer({ kind: 'res', fields: { reregisterRequired: out.res.reregisterRequired, stale: out.res.stale ?? false } }, want, 'ReportDelta');
        if (!out.res.reregisterRequired && !out.res.stale) this.acked[op.p] = c;
        break;
      }
      case 'uUnreg': {
        const p = PROCS[op.p]!;
        say(`UnregisterBroker ${p.key} epoch ${op.withEpoch ? p.epoch : '""'}`);
        const want = m.unaryUnregister(op.p, op.withEpoch);
        const out = unaryCall<unknown, { removed: boolean }>(this.svc.unregisterBroker, { cluster: 'c1', brokerName: p.brokerName, brokerId: p.brokerId, epoch: op.withEpoch ? p.epoch : '' });
        assert.ok(out.ok, 'UnregisterBroker answers OK');
        expectAnswer({ kind: 'res', fields: { removed: out.res.removed } }, want, 'UnregisterBroker');
        if (out.res.removed) {
          assert.equal(this.registry.brokers.get(p.key), undefined, 'an unregister that answered removed removed the broker');
          this.leaseUntil.delete(p.key);
          this.streamEndedAt.delete(p.key);
        }
        break;
      }
      case 'uPos': {
        const p = PROCS[op.p]!;
        say(`${op.instances ? 'ReportInstances' : 'ReportPositions'} ${p.key}`);
        const want = m.unaryPositions(op.p);
        const out = op.instances ? unaryCall(this.svc.reportInstances, instancesReq(p)) : unaryCall(this.svc.reportPositions, positionsReq(p));
        expectAnswer(out.ok ? { kind: 'res', fields: {} } : { kind: 'error', code: out.code }, want, op.instances ? 'ReportInstances' : 'ReportPositions');
        break;
      }
      case 'tick':
        say(`${op.ms} ms pass`);
        m.tick(op.ms);
        this.timers.advance(op.ms);
        break;
    }
    // Streams the server ended on this step (superseded, conflict, protocol error) are gone for the broker too.
    for (let si = 0; si < this.streams.length; si++) {
      const st = this.streams[si]!;
      const serverEnded = st.call.endedWith !== undefined && !st.endedByBroker;
      assert.equal(!(st.endedByBroker || serverEnded), m.streams[si]!.open, `stream ${si} open`);
      if (serverEnded && !st.endedByBroker) {
        st.endedByBroker = true; // counted once
        this.noteStreamEnd(si);
      }
    }
  }

  /** A lease granted (or renewed) replaces the one before: a broker may ask for a shorter one. */
  private grantLease(key: string, ttl: number): void {
    this.leaseUntil.set(key, this.timers.now() + ttl);
  }

  /** Every check of the module comment that holds after each step. */
  check(): void {
    const now = this.timers.now();
    const brokers = this.registry.brokers.all();
    // 1. The invariant, from what the brokers did and were told.
    for (const b of brokers) {
      const openStream = this.streams.some((st) => PROCS[st.proc]!.key === b.key && st.accepted && !st.endedByBroker && !st.call.endedWith);
      const lease = (this.leaseUntil.get(b.key) ?? -1) > now;
      const grace = now < (this.streamEndedAt.get(b.key) ?? -Infinity) + GRACE;
      assert.ok(openStream || lease || grace, `${b.key} is registered with no open stream, no unexpired lease and no grace running (a ${b.sessionKind} session)`);
    }
    // 2. The model: who holds which broker, at which version, in which kind of session.
    const got = Object.fromEntries(brokers.map((b) => [b.key, `${b.epoch}@${b.counter} ${b.sessionKind}`]));
    const want = Object.fromEntries([...this.model.entries].map(([key, e]) => [key, `${PROCS[e.proc]!.epoch}@${e.counter} ${e.kind}`]));
    assert.deepEqual(got, want, 'registered brokers');
    // 3. Order independence: routes equal those of the newest report of each registered broker alone.
    const ref = new Registry(REGISTRY_OPTS);
    for (const e of this.model.entries.values()) ref.register(registerReq(PROCS[e.proc]!, e.counter), { kind: 'lease' });
    const versions = (r: Registry) => Object.fromEntries(r.routes.sortedTopics().map((t) => [t, r.routes.get(t)!.version]));
    assert.deepEqual(versions(this.registry), versions(ref), 'routes equal those of the newest reports');
    ref.close();
    // 4. No leaks: one timer per lease or grace and none else; the session directory as the model says.
    assert.equal(this.registry.footprint().livenessTimers, this.model.timers, 'liveness timers armed');
    assert.equal(this.timers.pending, this.model.timers, 'timers pending');
    assert.equal(this.sessions.size, this.model.dir.size, 'sessions in the directory');
    assert.deepEqual(this.registry.checkConsistency(), []);
  }

  /** Every broker stops: streams end, time passes; nothing may remain. */
  drain(): void {
    while (this.pickOpen(0) !== undefined) this.apply({ t: 'sEnd', s: 0, how: 'cancel' });
    this.check();
    this.apply({ t: 'tick', ms: 300_000 + GRACE });
    this.check();
    const fp = this.registry.footprint();
    assert.deepEqual(Object.entries(fp).filter(([, n]) => n !== 0), [], 'every table is empty');
    assert.equal(this.timers.pending, 0, 'no timer pending');
    assert.equal(this.sessions.size, 0, 'no session in the directory');
  }
}

function run(ops: Op[], note?: (situation: string) => void): void {
  const w = new World(note);
  try {
    for (const op of ops) {
      w.apply(op);
      w.check();
    }
    w.log.push('every broker stops; time passes');
    w.drain();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  steps:\n    ${w.log.join('\n    ')}`, { cause: err });
  } finally {
    w.registry.close();
  }
}

describe('broker liveness and report ordering (model-based, fake clock)', () => {
  test(`interleavings of streams, unary calls, expiry and reordered reports keep the invariants (${RUNS} runs of up to 40 steps)`, (t) => {
    const seen = new Map<string, number>();
    const note = (situation: string) => seen.set(situation, (seen.get(situation) ?? 0) + 1);
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => run(ops, note)),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
    const steps = [...seen.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`situations reached (${steps} in all): ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
    // The generator must reach the situations the issue is about, or the property proves little.
    for (const situation of [
      'unary heartbeat: a stream session in its grace (reregister, no revival)',
      'unary heartbeat: a live stream session (renews nothing)',
      'unary register: stale',
      'stream register: stale',
      'unary delta: stale',
      'stream delta: stale',
      'unary register: takes over a stream session in its grace',
      'stream register: takes over a stream session in its grace',
      'unary register: ALREADY_EXISTS',
      'stream register: ALREADY_EXISTS',
      'stream superseded by a newer stream',
      'stream message on a session taken over: ABORTED',
      'unary register: shortens the lease',
      'lease expired',
      'grace ran out',
      'unregister: another epoch, ignored',
    ]) {
      assert.ok((seen.get(situation) ?? 0) > 0, `never reached: ${situation}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Order independence, stated directly: one process's reports delivered in two orders.

type Report = { kind: 'full'; c: number; unary: boolean } | { kind: 'delta'; b: number; c: number; unary: boolean };

const reportArb: fc.Arbitrary<Report> = fc.oneof(
  fc.record({ kind: fc.constant('full' as const), c: fc.integer({ min: 1, max: 8 }), unary: fc.boolean() }),
  fc.record({ kind: fc.constant('delta' as const), b: fc.integer({ min: 1, max: 7 }), unary: fc.boolean() }).map((r) => ({ ...r, c: r.b + 1 })),
);

/**
 * Deliver a process's reports in this order: its Connect session opens with the report at counter 1,
 * then each report goes unary or on the stream. When any answer asked for a re-register, the broker
 * does what it must: it registers its newest version. Returns the held version, the routes, and the
 * answers that did not say `stale` exactly when the report was older than the version held; checks on
 * the way that the version held never goes back.
 */
function deliver(reports: Report[]): { held: string; routes: Record<string, string>; wrongAnswers: string[] } {
  const timers = new FakeTimers(0);
  const registry = new Registry({ ...REGISTRY_OPTS, timers });
  const sessions = new SessionDirectory();
  const deps = { config: CONFIG, registry, sessions, commands: new CommandDispatcher(sessions), serverId: 'order' } as unknown as ServiceDeps;
  const svc = brokerRegistryService(deps);
  const p = PROCS[0]!;
  const call = new FakeConnectCall();
  new BrokerSession(call as unknown as ServerDuplexStream<ConnectRequest, ConnectResponse>, deps).start();
  let seq = 0;
  const onStream = (body: ConnectRequest['body']) => {
    call.emit('data', { seq: ++seq, body } satisfies ConnectRequest);
    const ack = [...call.sent].reverse().find((m) => m.body?.$case === 'ack');
    assert.ok(ack?.body?.$case === 'ack' && ack.body.ack.seq === seq, `stream message ${seq} acknowledged`);
    assert.equal(call.endedWith, undefined, 'the stream stays open');
    return ack.body.ack;
  };
  const held = () => registry.brokers.get(p.key)!.counter;
  let reregister = false;
  let newest = 1;
  const wrongAnswers: string[] = [];
  const expectStale = (got: boolean | undefined, want: boolean, what: string) => {
    if (Boolean(got) !== want) wrongAnswers.push(`${what}: stale ${Boolean(got)}, expected ${want}`);
  };
  onStream({ $case: 'register', register: registerReq(p, 1) });
  for (const r of reports) {
    newest = Math.max(newest, r.c);
    const before = held();
    if (r.kind === 'full') {
      if (r.unary) {
        const out = unaryCall<RegisterBrokerRequest, { stale: boolean }>(svc.registerBroker, registerReq(p, r.c));
        assert.ok(out.ok);
        expectStale(out.res.stale, r.c < before, `unary register @${r.c} over @${before}`);
      } else {
        const ack = onStream({ $case: 'register', register: registerReq(p, r.c) });
        expectStale(ack.stale, r.c < before, `stream register @${r.c} over @${before}`);
      }
    } else {
      let answer: { stale: boolean; reregister: boolean };
      if (r.unary) {
        const out = unaryCall<ReportDeltaRequest, { stale: boolean; reregisterRequired: boolean }>(svc.reportDelta, deltaReq(p, r.b, r.c, true));
        assert.ok(out.ok);
        answer = { stale: Boolean(out.res.stale), reregister: out.res.reregisterRequired };
      } else {
        const ack = onStream({ $case: 'delta', delta: deltaReq(p, r.b, r.c, false) });
        answer = { stale: Boolean(ack.stale), reregister: ack.reregisterRequired };
      }
      expectStale(answer.stale, r.c <= before, `${r.unary ? 'unary' : 'stream'} delta ${r.b}->${r.c} over @${before}`);
      reregister ||= answer.reregister;
    }
    assert.ok(held() >= before, `the version held went back from ${before} to ${held()} (${JSON.stringify(r)})`);
  }
  if (reregister) onStream({ $case: 'register', register: registerReq(p, newest) });
  const routes = Object.fromEntries(registry.routes.sortedTopics().map((t) => [t, registry.routes.get(t)!.version]));
  registry.close();
  return { held: `${registry.brokers.get(p.key)!.epoch}@${held()}`, routes, wrongAnswers };
}

describe('report order (property)', () => {
  test(`the same reports give the same routes whatever their order: full and delta, unary and stream (${RUNS} pairs of orders)`, () => {
    const orders = fc.array(reportArb, { minLength: 1, maxLength: 10 }).chain((rs) => fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length })));
    fc.assert(
      fc.property(orders, ([first, second]) => {
        const a = deliver(first);
        const b = deliver(second);
        assert.deepEqual({ held: b.held, routes: b.routes }, { held: a.held, routes: a.routes }, 'two orders of the same reports');
        // And both equal the newest report alone.
        const newest = Math.max(1, ...first.map((r) => r.c));
        const ref = new Registry(REGISTRY_OPTS);
        ref.register(registerReq(PROCS[0]!, newest), { kind: 'lease' });
        assert.deepEqual(a.routes, Object.fromEntries(ref.routes.sortedTopics().map((t) => [t, ref.routes.get(t)!.version])), 'the routes of the newest report');
        assert.equal(a.held, `${PROCS[0]!.epoch}@${newest}`);
        ref.close();
        assert.deepEqual([...a.wrongAnswers, ...b.wrongAnswers], [], 'stale answered exactly for older reports');
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The cases the properties found on the code before the fix, as plain examples on the Registry.

describe('liveness and order: the counterexamples, as examples', () => {
  const setup = () => {
    const timers = new FakeTimers(0);
    return { timers, r: new Registry({ ...REGISTRY_OPTS, timers }) };
  };
  const p = PROCS[0]!;
  const ref = { key: p.key, cluster: 'c1', brokerName: p.brokerName, brokerId: p.brokerId };

  test('a unary heartbeat in the grace of an ended stream (same epoch and counter) does not keep the broker', () => {
    const { timers, r } = setup();
    const { session } = r.register(registerReq(p, 2), { kind: 'stream' });
    r.streamClosed(ref, session!);
    assert.match(r.heartbeat(ref, p.epoch, 2)!, /Connect stream .* has ended/);
    timers.advance(GRACE - 1);
    assert.ok(r.brokers.get(p.key), 'still within the grace');
    timers.advance(1);
    assert.equal(r.brokers.get(p.key), undefined);
    assert.equal(timers.pending, 0);
    assert.deepEqual(Object.entries(r.footprint()).filter(([, n]) => n !== 0), []);
  });

  test('an ended stream session cannot register or report again; a new session can take over', () => {
    const { r } = setup();
    const { session } = r.register(registerReq(p, 2), { kind: 'stream' });
    r.streamClosed(ref, session!);
    assert.throws(() => r.register(registerReq(p, 3), { kind: 'stream', session }), /has ended/);
    assert.throws(() => r.delta(ref, deltaReq(p, 2, 3, true), session), /has ended/);
    const again = r.register(registerReq(p, 3), { kind: 'stream' });
    assert.notEqual(again.session, session);
    assert.equal(r.brokers.liveness(p.key)!.streamOpen, true);
    r.close();
  });

  test('a registration asking for a shorter lease expires on the shorter deadline', () => {
    const { timers, r } = setup();
    r.register(registerReq(p, 1, 30_000), { kind: 'lease' });
    r.register(registerReq(p, 2, 1_000), { kind: 'lease' });
    timers.advance(999);
    assert.ok(r.brokers.get(p.key));
    timers.advance(1);
    assert.equal(r.brokers.get(p.key), undefined);
    assert.equal(timers.pending, 0);
  });

  test('two unary reports in reverse order (6 then 5): the older is stale and the newer stays', () => {
    const { r } = setup();
    r.register(registerReq(p, 6), { kind: 'lease' });
    const before = r.routes.sortedTopics().map((t) => r.routes.get(t)!.version);
    const late = r.register(registerReq(p, 5), { kind: 'lease' });
    assert.deepEqual({ stale: late.stale, lease: late.leaseTtlMs }, { stale: true, lease: 0 });
    assert.equal(r.brokers.get(p.key)!.counter, 6);
    assert.deepEqual(r.routes.sortedTopics().map((t) => r.routes.get(t)!.version), before);
    assert.deepEqual(r.delta(ref, deltaReq(p, 4, 5, true)), { reregister: undefined, stale: true });
    r.close();
  });
});
