/**
 * One broker's Connect session. The first message must be `register` (possibly chunked); later
 * messages carry deltas, heartbeats, positions, instances and command results, and may leave their
 * identity fields empty (they inherit the session's). A bad message is answered with a failed Ack and
 * the session stays; a protocol violation (wrong order, another identity, a superseded session) ends
 * the stream with a status. When the stream ends, the registry starts the broker's grace period.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { ConnectRequest, ConnectResponse } from '../../generated/nameserver/v1/broker_registry';
import { BrokerNotFound, DomainError, FailedPrecondition, InvalidArgument, Superseded } from '../metadata/errors';
import { brokerRef, type BrokerKey, type BrokerRef } from '../metadata/types';
import {
  checkCommandResult,
  checkHeartbeatRequest,
  checkRegisterBrokerRequest,
  checkReportDeltaRequest,
  checkReportInstancesRequest,
  checkReportPositionsRequest,
} from '../metadata/validate';
import type { ServiceDeps } from './deps';
import { peerHost } from './rate-limit';
import type { ChunkSource } from '../metadata/chunk-assembler';
import { checkDecoded, endWithStatus } from './handler';
import { toStatus } from './status';

/** Live Connect sessions by broker, so a newer session can end an older one and commands find them. */
export class SessionDirectory {
  private readonly byKey = new Map<BrokerKey, BrokerSession>();

  /** The live session of a broker. */
  get(key: BrokerKey): BrokerSession | undefined {
    return this.byKey.get(key);
  }

  /** Number of live sessions. */
  get size(): number {
    return this.byKey.size;
  }

  /** Make `s` the broker's session; an older one is ended (ABORTED, superseded). */
  claim(key: BrokerKey, s: BrokerSession): void {
    const old = this.byKey.get(key);
    this.byKey.set(key, s);
    if (old && old !== s) old.supersede();
  }

  /** Forget `s` if it is still the broker's session. */
  release(key: BrokerKey, s: BrokerSession): void {
    if (this.byKey.get(key) === s) this.byKey.delete(key);
  }
}

type Call = ServerDuplexStream<ConnectRequest, ConnectResponse>;

/** The client connection of a call, as the chunk budgets count it (see ChunkAssembler). */
export function chunkSource(call: { getPeer(): string }): ChunkSource {
  const connection = call.getPeer();
  return { connection, host: peerHost(connection) };
}

/** See the module comment. */
export class BrokerSession {
  private ref: BrokerRef | undefined;
  private session: number | undefined;
  private closed = false;

  constructor(
    private readonly call: Call,
    private readonly deps: ServiceDeps,
  ) {}

  /** The broker this session serves, once registered. */
  get broker(): BrokerRef | undefined {
    return this.ref;
  }

  /** Attach the stream listeners. */
  start(): void {
    this.call.on('data', (m: ConnectRequest) => this.onMessage(m));
    // A broker that half-closes is leaving: close our side too; the grace period starts.
    this.call.on('end', () => {
      this.close();
      if (!this.call.writableEnded) this.call.end();
    });
    this.call.on('cancelled', () => this.close());
    this.call.on('close', () => this.close());
    this.call.on('error', () => this.close());
  }

  /** Send a message down the stream (commands; acks). */
  send(msg: ConnectResponse): void {
    if (!this.closed && !this.call.writableEnded) this.call.write(msg);
  }

  /** A newer session of the same broker took over: end this one. */
  supersede(): void {
    if (this.closed) return;
    const ref = this.ref;
    this.closed = true; // the registry already moved on: this session must not start a grace period
    endWithStatus(this.call, toStatus(new Superseded(ref?.key ?? '?'), 'Connect'));
  }

  private onMessage(m: ConnectRequest): void {
    if (this.closed) return;
    try {
      this.handle(m);
    } catch (err) {
      if (err instanceof InvalidArgument || (err instanceof DomainError && err.kind === 'not-found')) {
        // Bad content: say so on this message, keep the session.
        // A broker this replica no longer holds (it expired, or this replica restarted) must re-register.
        const gone = err instanceof BrokerNotFound;
        this.ack(typeof m.seq === 'number' ? m.seq : 0, toStatus(err, 'Connect').details, false, true, gone); // m may not have decoded
        return;
      }
      this.close();
      endWithStatus(this.call, toStatus(err, 'Connect'));
    }
  }

  private handle(m: ConnectRequest): void {
    const { registry, config } = this.deps;
    checkDecoded(m);
    const body = m.body;
    if (!body) throw new InvalidArgument('body', 'is required (one of register, delta, heartbeat, positions, instances, command_result)');
    if (body.$case === 'register') {
      const req = body.register;
      checkRegisterBrokerRequest(req, { limits: { maxQueueNums: config.maxQueueNums } });
      const ref = brokerRef(req.cluster, req.brokerName, req.brokerId);
      if (this.ref && this.ref.key !== ref.key) {
        throw new FailedPrecondition(`this Connect session serves broker ${this.ref.key}; open another stream for ${ref.key}`);
      }
      const out = registry.register(req, { kind: 'stream', session: this.session, source: chunkSource(this.call) });
      if (out.stale) {
        // Older than what this replica holds (a late retry racing this stream): ignored, and said so.
        this.ack(m.seq, '', true, true, false, true);
        return;
      }
      if (out.complete && out.session !== this.session) {
        const first = this.session === undefined;
        this.session = out.session;
        this.ref = ref;
        this.deps.sessions.claim(ref.key, this);
        if (first) {
          this.send({ body: { $case: 'accepted', accepted: { sessionId: String(out.session), serverId: this.deps.serverId, graceMs: config.streamGraceMs } } });
        }
      }
      this.ack(m.seq, '', true, false);
      return;
    }
    if (this.session === undefined || !this.ref) {
      throw new FailedPrecondition('the first message of a Connect session must be a complete register');
    }
    switch (body.$case) {
      case 'delta': {
        const req = this.inherit(body.delta);
        checkReportDeltaRequest(req, { limits: { maxQueueNums: config.maxQueueNums } });
        const out = registry.delta(this.ref, req, this.session);
        this.ack(m.seq, out.reregister ?? '', out.reregister === undefined, out.stale, out.reregister !== undefined, out.stale);
        return;
      }
      case 'heartbeat': {
        const req = this.inherit(body.heartbeat);
        checkHeartbeatRequest(req);
        const reason = registry.heartbeat(this.ref, req.dataVersion!.epoch, req.dataVersion!.counter, this.session);
        this.ack(m.seq, reason ?? '', reason === undefined, false, reason !== undefined);
        return;
      }
      case 'positions': {
        const req = this.inherit(body.positions);
        checkReportPositionsRequest(req);
        registry.reportPositions(this.ref, req, this.session);
        this.ack(m.seq, '', true, false);
        return;
      }
      case 'instances': {
        const req = this.inherit(body.instances);
        checkReportInstancesRequest(req);
        registry.reportInstances(this.ref, req, this.session);
        this.ack(m.seq, '', true, false);
        return;
      }
      case 'commandResult':
        checkCommandResult(body.commandResult);
        this.deps.commands.resolve(this.ref.key, body.commandResult);
        this.ack(m.seq, '', true, false);
        return;
    }
  }

  /** Fill empty identity fields with the session's; reject another broker's identity. */
  private inherit<T extends { cluster: string; brokerName: string; brokerId: number }>(req: T): T {
    const ref = this.ref!;
    if (req.cluster === '' && req.brokerName === '') return { ...req, cluster: ref.cluster, brokerName: ref.brokerName, brokerId: ref.brokerId };
    if (brokerRef(req.cluster, req.brokerName, req.brokerId).key !== ref.key) {
      throw new FailedPrecondition(`this Connect session serves broker ${ref.key}, not ${req.cluster}/${req.brokerName}/${req.brokerId}`);
    }
    return req;
  }

  /** Acknowledge a message: always when it failed (or `force`), otherwise when the broker asked (seq != 0). */
  private ack(seq: number, error: string, ok: boolean, force: boolean, reregister = false, stale = false): void {
    if (seq === 0 && ok && !force) return;
    this.send({ body: { $case: 'ack', ack: { seq, ok, error, reregisterRequired: reregister, stale } } });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ref && this.session !== undefined) {
      this.deps.sessions.release(this.ref.key, this);
      this.deps.registry.streamClosed(this.ref, this.session);
    }
  }
}
