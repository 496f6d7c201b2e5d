/**
 * BrokerAgent: what a broker written in TypeScript embeds to join the NameServers. It keeps one
 * `Connect` session per NameServer replica (every address the configured names resolve to,
 * re-resolved periodically), registers the broker's topics, groups and permission there, reports
 * every later change as a delta, sends positions and instances on a schedule, and hands the
 * NameServers' commands (admin writes) to the broker's callbacks.
 *
 * ```ts
 * const agent = new BrokerAgent({
 *   nameservers: 'nameserver.mq.svc:9876', cluster: 'c1', brokerName: 'b1', addresses: ['10.0.0.5:10911'],
 *   topics: ['orders'], handler: { createTopic: async (t) => { await persist(t); return { outcome: CommandOutcome.COMMAND_OUTCOME_OK }; } },
 * });
 * agent.on('registered', (address) => log.info({ address }, 'registered'));
 * await agent.start();
 * agent.upsertTopics([{ name: 'payments', readQueueNums: 4, writeQueueNums: 4 }]);
 * ...
 * await agent.stop(); // unregisters: routes disappear at once
 * ```
 *
 * Data versions: the epoch is random per agent start and the counter starts at 1 and grows with
 * every change of topics, groups or permission, so a NameServer can tell "already held" from "new"
 * and a restarted broker's registration from a late message of the previous process.
 *
 * Commands are applied one at a time, in arrival order across sessions. When the broker's callback
 * answers OK, the agent updates its own configuration and reports the change on every session first,
 * and only then answers on the session the command came from: the NameServer sees the new state before
 * the result, so an admin who gets "OK" can read the new route at once.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Command, SessionAccepted } from '../../generated/nameserver/v1/broker_registry';
import { CommandOutcome, Permission, type GroupConfig, type TopicConfig } from '../../generated/nameserver/v1/common';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../shared/backoff';
import { resolveAddresses } from '../shared/resolve';
import { DEFAULT_CHUNK_SIZE, LocalState, toGroupConfig, toTopicConfig, type Change } from './local-state';
import { NameServerSession, type SessionHost } from './session';
import type {
  BrokerAgentEvents,
  BrokerAgentOptions,
  CommandReply,
  GroupInput,
  GroupName,
  NameServerAddress,
  SessionStats,
  TopicInput,
  TopicName,
} from './types';

const DEFAULTS = {
  reportIntervalMs: 5_000,
  heartbeatIntervalMs: 10_000,
  resolveIntervalMs: 30_000,
  stopTimeoutMs: 3_000,
  maxQueueNums: 1024,
};

/** See the module comment. */
export class BrokerAgent extends EventEmitter<BrokerAgentEvents> {
  private readonly state: LocalState;
  private readonly sessions = new Map<NameServerAddress, NameServerSession>();
  private readonly host: SessionHost;
  private readonly backoff: BackoffOptions;
  private readonly timers: NodeJS.Timeout[] = [];
  private retryResolveTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  /** Commands run one after another (see the module comment). */
  private commandQueue: Promise<void> = Promise.resolve();
  /** Re-resolutions run one after another, so two never open sessions for the same address. */
  private resolveQueue: Promise<void> = Promise.resolve();
  private reporting = false;

  constructor(private readonly opts: BrokerAgentOptions) {
    super();
    if (!opts.resolve && (typeof opts.nameservers === 'string' ? opts.nameservers.trim() === '' : opts.nameservers.length === 0)) {
      throw new TypeError('nameservers: at least one host:port is required');
    }
    if (!opts.cluster || !opts.brokerName) throw new TypeError('cluster and brokerName are required');
    if (opts.addresses.length === 0) throw new TypeError('addresses: the broker needs at least one host:port clients can reach');
    const maxQueueNums = opts.maxQueueNums ?? DEFAULTS.maxQueueNums;
    this.state = new LocalState(
      {
        cluster: opts.cluster,
        brokerName: opts.brokerName,
        brokerId: opts.brokerId ?? 0,
        addresses: [...opts.addresses],
        zone: opts.zone ?? '',
        softwareVersion: opts.softwareVersion ?? '',
      },
      {
        topics: (opts.topics ?? []).map((t) => toTopicConfig(t, maxQueueNums)),
        groups: (opts.groups ?? []).map(toGroupConfig),
        permission: opts.permission,
      },
      opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
    );
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.host = this.sessionHost();
  }

  /** Boot id of this agent (random per start of the process). */
  get epoch(): string {
    return this.state.epoch;
  }

  /** Current data version counter. */
  get counter(): number {
    return this.state.counter;
  }

  /** Current broker-wide permission. */
  get permission(): Permission {
    return this.state.permission;
  }

  /** The topics the agent reports. */
  topics(): TopicConfig[] {
    return this.state.topics();
  }

  /** The groups the agent reports. */
  groups(): GroupConfig[] {
    return this.state.groups();
  }

  /** NameServer addresses with a session (resolved, not the configured names). */
  nameservers(): NameServerAddress[] {
    return [...this.sessions.keys()];
  }

  /** Per-session counters. */
  sessionStats(): SessionStats[] {
    return [...this.sessions.values()].map((s) => s.snapshot());
  }

  /**
   * Resolve the NameServers, open a session with each, and start the timers. Resolves once sessions
   * are opening; `registered` events say when each NameServer has accepted the registration.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('BrokerAgent.start() called twice');
    this.started = true;
    await this.refreshAddresses();
    if (this.stopped) return; // stop() during the first resolution: no timers to leak
    const every = (ms: number, f: () => void) => {
      if (ms > 0) this.timers.push(setInterval(f, ms));
    };
    every(this.opts.reportIntervalMs ?? DEFAULTS.reportIntervalMs, () => this.reportOnSchedule());
    every(this.opts.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs, () => {
      for (const s of this.sessions.values()) s.sendHeartbeat();
    });
    every(this.opts.resolveIntervalMs ?? DEFAULTS.resolveIntervalMs, () => void this.refreshAddresses());
  }

  /**
   * Re-resolve the NameServer names now: new addresses get a session, vanished ones are closed. An
   * empty answer (DNS down) keeps the current sessions and retries soon.
   */
  refreshAddresses(): Promise<void> {
    this.resolveQueue = this.resolveQueue.then(() => this.resolveOnce());
    return this.resolveQueue;
  }

  /** Add or change topics, and report them to every NameServer. Unchanged ones are skipped. */
  upsertTopics(topics: readonly (TopicName | TopicInput)[]): void {
    const maxQueueNums = this.opts.maxQueueNums ?? DEFAULTS.maxQueueNums;
    this.broadcast(this.state.upsertTopics(topics.map((t) => toTopicConfig(t, maxQueueNums))));
  }

  /** Remove topics, and report it to every NameServer. */
  deleteTopics(names: readonly TopicName[]): void {
    this.broadcast(this.state.deleteTopics(names));
  }

  /** Add or change groups, and report them to every NameServer. */
  upsertGroups(groups: readonly (GroupName | GroupInput)[]): void {
    this.broadcast(this.state.upsertGroups(groups.map(toGroupConfig)));
  }

  /** Remove groups, and report it to every NameServer. */
  deleteGroups(names: readonly GroupName[]): void {
    this.broadcast(this.state.deleteGroups(names));
  }

  /**
   * Change the broker-wide permission (PERMISSION_READ drains the broker: producers go elsewhere).
   * It is part of the registration only, so every NameServer gets a full re-register.
   */
  setPermission(permission: Permission): void {
    // `in` accepts the enum's numeric keys; ts-proto's UNRECOGNIZED (-1) is not a permission.
    if (!(permission in Permission) || permission < 0) throw new RangeError(`unknown permission ${permission}`);
    if (!this.state.setPermission(permission)) return;
    for (const s of this.sessions.values()) if (s.ready) s.sendRegistration();
  }

  /** Send positions and instances to every accepted session now (besides the schedule). */
  reportNow(): Promise<void> {
    return this.report([...this.sessions.values()]);
  }

  /**
   * Graceful leave: UnregisterBroker (with this agent's epoch) on every NameServer, so routes
   * disappear at once instead of after the stream grace; then end the streams and clear every timer.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  private async leave(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    if (this.retryResolveTimer) clearTimeout(this.retryResolveTimer);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) s.halt();
    const timeout = this.opts.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs;
    await Promise.all(
      sessions.map(async (s) => {
        const res = await s.unregister(timeout);
        if (res instanceof Error) this.emit('warning', new Error(`${s.address}: unregister failed: ${res.message}`));
        s.close();
      }),
    );
  }

  private get stopped(): boolean {
    return this.stopping !== undefined;
  }

  private async resolveOnce(): Promise<void> {
    if (this.stopped) return;
    const fresh = this.opts.resolve
      ? await this.opts.resolve().catch((err: unknown) => {
          this.emit('warning', asError(err));
          return [];
        })
      : await resolveAddresses(this.opts.nameservers, (entry, err) =>
          this.emit('warning', new Error(`cannot resolve NameServer ${entry}: ${asError(err).message}`)),
        );
    if (this.stopped) return;
    if (fresh.length === 0) {
      this.emit('warning', new Error('no NameServer address resolved; keeping the current sessions'));
      // Without any session the broker is invisible: do not wait a whole resolve interval.
      if (this.sessions.size === 0 && !this.retryResolveTimer) {
        this.retryResolveTimer = setTimeout(() => {
          this.retryResolveTimer = undefined;
          void this.refreshAddresses();
        }, this.backoff.maxMs);
      }
      return;
    }
    const want = new Set(fresh);
    for (const address of want) {
      if (this.sessions.has(address)) continue;
      const s = new NameServerSession(address, this.host, {
        credentials: this.opts.credentials ?? grpc.credentials.createInsecure(),
        channelOptions: this.opts.channelOptions ?? {},
        backoff: this.backoff,
      });
      this.sessions.set(address, s);
      s.open();
    }
    for (const [address, s] of this.sessions) {
      if (want.has(address)) continue;
      // The replica left the DNS answer (scaled down): end the stream; it forgets us after its grace.
      this.sessions.delete(address);
      s.close();
      this.emit('disconnected', address, new Error('the address is no longer in the NameServer list'));
    }
  }

  private broadcast(change: Change | undefined): void {
    if (!change) return;
    for (const s of this.sessions.values()) s.sendDelta(change);
  }

  private reportOnSchedule(): void {
    if (this.reporting) return; // a slow provider: skip a beat rather than pile up reports
    this.reporting = true;
    void this.report([...this.sessions.values()]).finally(() => (this.reporting = false));
  }

  private async report(targets: NameServerSession[]): Promise<void> {
    const { positions, instances } = this.opts;
    if ((!positions && !instances) || !targets.some((s) => s.ready)) return;
    try {
      const p = positions ? await positions() : undefined;
      const i = instances ? await instances() : undefined;
      for (const s of targets) {
        if (p) s.sendPositions(p);
        if (i) s.sendInstances(i);
      }
    } catch (err) {
      this.emit('warning', new Error(`positions/instances provider failed: ${asError(err).message}`));
    }
  }

  private onCommand(from: NameServerSession, cmd: Command): void {
    this.emit('command', cmd);
    // The catch keeps the queue going whatever happens to one command.
    this.commandQueue = this.commandQueue.then(() => this.runCommand(from, cmd)).catch((err: unknown) => {
      this.emit('warning', asError(err));
    });
  }

  private async runCommand(from: NameServerSession, cmd: Command): Promise<void> {
    if (this.stopped) return;
    let reply = await this.callHandler(cmd);
    if (reply.outcome === CommandOutcome.COMMAND_OUTCOME_OK && !this.stopped) {
      try {
        this.adopt(cmd);
      } catch (err) {
        // The broker accepted something the agent cannot report (e.g. an unknown permission value).
        reply = { outcome: CommandOutcome.COMMAND_OUTCOME_FAILED, message: `applied by the broker but not reportable: ${asError(err).message}` };
      }
    }
    from.sendCommandResult({ commandId: cmd.commandId, outcome: reply.outcome, message: reply.message ?? '' });
  }

  /** Run the broker's callback for a command; never throws. */
  private async callHandler(cmd: Command): Promise<CommandReply> {
    const h = this.opts.handler ?? {};
    const a = cmd.action;
    const unsupported = { outcome: CommandOutcome.COMMAND_OUTCOME_FAILED, message: `${a?.$case ?? 'command'} is not supported by this broker` };
    const missing = (field: string) => ({ outcome: CommandOutcome.COMMAND_OUTCOME_INVALID, message: `${field} is missing` });
    try {
      let reply: CommandReply | undefined;
      switch (a?.$case) {
        case 'createTopic':
          if (!a.createTopic.topic) return missing('create_topic.topic');
          reply = h.createTopic ? await h.createTopic(a.createTopic.topic) : unsupported;
          break;
        case 'updateTopic':
          if (!a.updateTopic.topic) return missing('update_topic.topic');
          reply = h.updateTopic ? await h.updateTopic(a.updateTopic.topic) : unsupported;
          break;
        case 'deleteTopic':
          reply = h.deleteTopic ? await h.deleteTopic(a.deleteTopic.name) : unsupported;
          break;
        case 'createGroup':
          if (!a.createGroup.group) return missing('create_group.group');
          reply = h.createGroup ? await h.createGroup(a.createGroup.group) : unsupported;
          break;
        case 'updateGroup':
          if (!a.updateGroup.group) return missing('update_group.group');
          reply = h.updateGroup ? await h.updateGroup(a.updateGroup.group) : unsupported;
          break;
        case 'deleteGroup':
          reply = h.deleteGroup ? await h.deleteGroup(a.deleteGroup.name) : unsupported;
          break;
        case 'setPermission':
          reply = h.setPermission ? await h.setPermission(a.setPermission.permission) : unsupported;
          break;
        default:
          return { outcome: CommandOutcome.COMMAND_OUTCOME_INVALID, message: 'the command has no action this agent knows' };
      }
      if (!reply || typeof reply.outcome !== 'number') {
        return { outcome: CommandOutcome.COMMAND_OUTCOME_FAILED, message: 'the broker handler returned no outcome' };
      }
      return reply;
    } catch (err) {
      return { outcome: CommandOutcome.COMMAND_OUTCOME_FAILED, message: asError(err).message };
    }
  }

  /** The broker applied a command: take the change into the reported state and report it everywhere. */
  private adopt(cmd: Command): void {
    const a = cmd.action!;
    switch (a.$case) {
      case 'createTopic':
        return this.broadcast(this.state.upsertTopics([a.createTopic.topic!]));
      case 'updateTopic':
        return this.broadcast(this.state.upsertTopics([a.updateTopic.topic!]));
      case 'deleteTopic':
        return this.broadcast(this.state.deleteTopics([a.deleteTopic.name]));
      case 'createGroup':
        return this.broadcast(this.state.upsertGroups([a.createGroup.group!]));
      case 'updateGroup':
        return this.broadcast(this.state.upsertGroups([a.updateGroup.group!]));
      case 'deleteGroup':
        return this.broadcast(this.state.deleteGroups([a.deleteGroup.name]));
      case 'setPermission':
        return this.setPermission(a.setPermission.permission);
    }
  }

  private sessionHost(): SessionHost {
    return {
      state: this.state,
      metadata: () => this.metadata(),
      accepted: (s: NameServerSession, info: SessionAccepted) => {
        this.emit('registered', s.address, { sessionId: info.sessionId, serverId: info.serverId });
        // A replica that just (re)joined should not wait a whole interval for positions and instances.
        void this.report([s]);
      },
      command: (s, cmd) => this.onCommand(s, cmd),
      disconnected: (s, err) => {
        if (!this.stopped) this.emit('disconnected', s.address, err);
      },
      resync: (s, reason) => this.emit('resync', s.address, reason),
      rejected: (s, error) => this.emit('rejected', s.address, error),
      reported: (s, kind) => this.emit('reported', s.address, kind),
      warning: (err) => this.emit('warning', err),
    };
  }

  private metadata(): grpc.Metadata {
    const m = this.opts.metadata;
    const md = typeof m === 'function' ? m() : m ? m.clone() : new grpc.Metadata();
    if (this.opts.token) md.set('authorization', `Bearer ${this.opts.token}`);
    return md;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
