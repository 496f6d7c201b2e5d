/**
 * One broker session with one NameServer replica: a `Connect` stream that registers (in chunks when
 * large), then carries deltas, heartbeats, positions, instances and command results, each with a
 * non-zero seq so the NameServer acknowledges it. The session tracks the data version counter the
 * NameServer holds once it has processed everything sent so far: a delta is based on it, and an Ack
 * that asks for a re-register (or a failed delta or heartbeat) makes the session send the full
 * registration again. A stream that fails or ends is reopened with jittered exponential back-off, and
 * starts over with a full registration.
 *
 * Messages are written in order on one stream and the NameServer processes them in order, so the
 * session pipelines: it does not wait for one Ack before sending the next message. It only waits for
 * `accepted` before sending anything but the registration, because anything else before a complete
 * registration ends the stream.
 */
import * as grpc from '@grpc/grpc-js';
import {
  BrokerRegistryClient,
  type Ack,
  type Command,
  type CommandResult,
  type ConnectRequest,
  type ConnectResponse,
  type SessionAccepted,
  type UnregisterBrokerResponse,
} from '../../generated/nameserver/v1/broker_registry';
import type { ClientInstance } from '../../generated/nameserver/v1/common';
import { Backoff, type BackoffOptions } from '../shared/backoff';
import type { Change, LocalState } from './local-state';
import type { NameServerAddress, PositionsReport, SessionPhase, SessionStats } from './types';

/** What a session needs from its agent; the agent turns these calls into its public events. */
export interface SessionHost {
  readonly state: LocalState;
  metadata(): grpc.Metadata;
  accepted(s: NameServerSession, info: SessionAccepted): void;
  command(s: NameServerSession, cmd: Command): void;
  disconnected(s: NameServerSession, err: Error): void;
  resync(s: NameServerSession, reason: string): void;
  rejected(s: NameServerSession, error: string): void;
  reported(s: NameServerSession, kind: 'positions' | 'instances'): void;
  warning(err: Error): void;
}

/** Channel settings of a session. */
export interface SessionOptions {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
  backoff: BackoffOptions;
}

type Body = NonNullable<ConnectRequest['body']>;
type Kind = Body['$case'];
type Stream = grpc.ClientDuplexStream<ConnectRequest, ConnectResponse>;

/** See the module comment. */
export class NameServerSession {
  private readonly stats: SessionStats;
  private readonly client: BrokerRegistryClient;
  private readonly backoff: Backoff;
  private stream: Stream | undefined;
  private phaseValue: SessionPhase = 'connecting';
  private seq = 0;
  /** Counter the NameServer holds after processing what was sent on this stream; undefined: nothing. */
  private held: number | undefined;
  /** Seq of the first chunk of the latest full registration: older refusals are moot after it. */
  private registrationSeq = 0;
  /** Kinds of messages sent and not yet acknowledged, by seq (cleared with the stream). */
  private readonly inflight = new Map<number, Kind>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Leaving: send nothing more, never reconnect (the stream stays open until close()). */
  private halted = false;

  constructor(
    readonly address: NameServerAddress,
    private readonly host: SessionHost,
    opts: SessionOptions,
  ) {
    this.client = new BrokerRegistryClient(address, opts.credentials, {
      // grpc-js backs off its own reconnects up to 120 s by default; keep it within ours, so a
      // NameServer that comes back is found within one of our back-off steps.
      'grpc.initial_reconnect_backoff_ms': opts.backoff.initialMs,
      'grpc.max_reconnect_backoff_ms': opts.backoff.maxMs,
      // Find a NameServer that vanished without closing TCP (host down, network cut).
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      ...opts.channelOptions,
    });
    this.backoff = new Backoff(opts.backoff);
    this.stats = {
      address,
      phase: 'connecting',
      heldCounter: undefined,
      connects: 0,
      registrations: 0,
      chunksSent: 0,
      lastChunkCount: 0,
      deltasSent: 0,
      heartbeatsSent: 0,
      positionsSent: 0,
      instancesSent: 0,
      commandResultsSent: 0,
      resyncs: 0,
    };
  }

  /** Where the session stands. */
  get phase(): SessionPhase {
    return this.phaseValue;
  }

  /** Registered and accepted: deltas, reports and results can be sent. */
  get ready(): boolean {
    return this.phaseValue === 'ready';
  }

  /** A snapshot of the counters. */
  snapshot(): SessionStats {
    return { ...this.stats, phase: this.phaseValue, heldCounter: this.held };
  }

  /** Open the stream and register. */
  open(): void {
    if (this.halted || this.stream) return;
    const stream = this.client.connect(this.host.metadata());
    this.stream = stream;
    this.phaseValue = 'registering';
    this.stats.connects++;
    stream.on('data', (m: ConnectResponse) => {
      if (this.stream === stream) this.onMessage(m);
    });
    stream.on('error', (err: Error) => this.drop(stream, err));
    stream.on('end', () => this.drop(stream, new Error('the NameServer ended the session')));
    this.sendRegistration();
  }

  /**
   * Send the full registration at the current version (chunked). From here on the NameServer holds
   * that version, whatever it held before.
   */
  sendRegistration(): void {
    if (!this.stream || this.halted) return;
    const state = this.host.state;
    const chunks = state.registration();
    this.registrationSeq = this.seq + 1;
    // Writes are queued by grpc-js in order; a 100,000-topic registration is a few MB at most, so it
    // is simply handed over rather than paced on 'drain'.
    for (const register of chunks) this.write({ $case: 'register', register });
    this.held = state.counter;
    this.stats.registrations++;
    this.stats.chunksSent += chunks.length;
    this.stats.lastChunkCount = chunks.length;
  }

  /**
   * Send one change. A session not yet accepted skips it (it re-registers at acceptance when the
   * version moved meanwhile); one whose NameServer does not hold the change's base version gets the
   * full registration instead.
   */
  sendDelta(change: Change): void {
    if (!this.ready) return;
    if (this.held !== change.baseCounter) {
      this.sendRegistration();
      return;
    }
    const h = this.host.state.header;
    this.write({
      $case: 'delta',
      delta: {
        cluster: h.cluster,
        brokerName: h.brokerName,
        brokerId: h.brokerId,
        baseCounter: change.baseCounter,
        dataVersion: { epoch: this.host.state.epoch, counter: change.counter },
        upsertTopics: change.upsertTopics,
        deleteTopics: change.deleteTopics,
        upsertGroups: change.upsertGroups,
        deleteGroups: change.deleteGroups,
      },
    });
    this.held = change.counter;
    this.stats.deltasSent++;
  }

  /** A keep-alive carrying the version this NameServer should hold; its Ack says if it does not. */
  sendHeartbeat(): void {
    if (!this.ready || this.held === undefined) return;
    const h = this.host.state.header;
    this.write({
      $case: 'heartbeat',
      heartbeat: { cluster: h.cluster, brokerName: h.brokerName, brokerId: h.brokerId, dataVersion: { epoch: this.host.state.epoch, counter: this.held } },
    });
    this.stats.heartbeatsSent++;
  }

  /** A full positions report. */
  sendPositions(report: PositionsReport): void {
    if (!this.ready) return;
    const h = this.host.state.header;
    this.write({
      $case: 'positions',
      positions: { cluster: h.cluster, brokerName: h.brokerName, brokerId: h.brokerId, queuePositions: report.queuePositions, consumerPositions: report.consumerPositions, full: true },
    });
    this.stats.positionsSent++;
  }

  /** A full instances report. */
  sendInstances(instances: ClientInstance[]): void {
    if (!this.ready) return;
    const h = this.host.state.header;
    this.write({ $case: 'instances', instances: { cluster: h.cluster, brokerName: h.brokerName, brokerId: h.brokerId, instances, full: true } });
    this.stats.instancesSent++;
  }

  /** The result of a command. Returns false when the session is not accepted (the result is dropped). */
  sendCommandResult(result: CommandResult): boolean {
    if (!this.ready) return false;
    this.write({ $case: 'commandResult', commandResult: result });
    this.stats.commandResultsSent++;
    return true;
  }

  /** Graceful leave: UnregisterBroker with this agent's epoch (never removes a newer registration). */
  unregister(timeoutMs: number): Promise<UnregisterBrokerResponse | Error> {
    const h = this.host.state.header;
    return new Promise((resolve) => {
      this.client.unregisterBroker(
        { cluster: h.cluster, brokerName: h.brokerName, brokerId: h.brokerId, epoch: this.host.state.epoch },
        this.host.metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => resolve(err ?? res),
      );
    });
  }

  /**
   * Stop sending and reconnecting, but keep the stream open: between this and close() the agent
   * unregisters, and nothing sent meanwhile (a re-register after a late Ack, a reconnect) may add the
   * broker back after the unregister removed it.
   */
  halt(): void {
    this.halted = true;
    this.phaseValue = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  /** End the session for good: no reconnect, stream cancelled, channel closed. */
  close(): void {
    this.halt();
    const s = this.stream;
    this.stream = undefined;
    this.inflight.clear();
    s?.cancel();
    this.client.close();
  }

  private write(body: Body): void {
    if (this.halted) return;
    const seq = ++this.seq;
    this.inflight.set(seq, body.$case);
    this.stream!.write({ seq, body });
  }

  private onMessage(m: ConnectResponse): void {
    if (this.halted) return;
    switch (m.body?.$case) {
      case 'ack':
        this.onAck(m.body.ack);
        return;
      case 'accepted': {
        this.phaseValue = 'ready';
        this.backoff.reset();
        // Changes made while the registration was in flight were not sent as deltas: catch up.
        if (this.held !== this.host.state.counter) this.sendRegistration();
        this.host.accepted(this, m.body.accepted);
        return;
      }
      case 'command':
        this.host.command(this, m.body.command);
        return;
    }
  }

  private onAck(ack: Ack): void {
    const kind = this.inflight.get(ack.seq);
    this.inflight.delete(ack.seq);
    if (ack.ok && !ack.reregisterRequired) {
      if (kind === 'positions' || kind === 'instances') this.host.reported(this, kind);
      return;
    }
    // A full registration sent after this message supersedes whatever this Ack complains about.
    if (ack.seq < this.registrationSeq) return;
    if (kind === 'register') {
      // The content was refused; sending it again at once would be refused again. Start over later.
      this.host.rejected(this, ack.error);
      this.drop(this.stream!, new Error(`registration refused: ${ack.error}`));
      return;
    }
    if (ack.reregisterRequired || kind === 'delta' || kind === 'heartbeat') {
      this.stats.resyncs++;
      this.host.resync(this, ack.error || 'the NameServer asked for a full registration');
      this.sendRegistration();
      return;
    }
    this.host.warning(new Error(`${this.address}: ${kind ?? 'message'} ${ack.seq} refused: ${ack.error}`));
    // A refused report may mean the NameServer lost this broker; a heartbeat's Ack says so precisely.
    if (kind === 'positions' || kind === 'instances') this.sendHeartbeat();
  }

  /** The stream is gone (or we give up on it): forget what it held, tell the agent, reconnect later. */
  private drop(stream: Stream, err: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.inflight.clear();
    this.held = undefined;
    stream.cancel();
    this.host.disconnected(this, err);
    if (this.halted) return;
    this.phaseValue = 'connecting';
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
  }
}
