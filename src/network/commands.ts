/**
 * Admin writes travel to brokers as commands down their Connect sessions. The dispatcher sends one
 * command per target, waits (bounded by the call's deadline) for each CommandResult, and turns the
 * outcomes into one result per broker. Brokers send the state change (delta or register) before the
 * result, so when a write answers OK its effect is already in the routes and pushed to watchers.
 */
import { randomUUID } from 'node:crypto';
import type { BrokerResult } from '../../generated/nameserver/v1/admin';
import type { Command, CommandResult } from '../../generated/nameserver/v1/broker_registry';
import { CommandOutcome } from '../../generated/nameserver/v1/common';
import { WriteIncomplete, type ErrorKind } from '../metadata/errors';
import type { BrokerKey, BrokerRef } from '../metadata/types';
import type { SessionDirectory } from './broker-session';

type Action = NonNullable<Command['action']>;

interface Pending {
  broker: BrokerKey;
  done: (r: CommandResult) => void;
}

/** Trailing metadata key carrying the encoded per-broker results of an incomplete write. */
export const RESULTS_TRAILER = 'nameserver-results-bin';

/**
 * Another way to reach some brokers (RocketMQ brokers registered over remoting, which take commands as
 * requests to their own address): when it serves a target without a Connect session, it applies the
 * action and answers the per-broker result.
 */
export interface CommandChannel {
  serves(target: BrokerRef): boolean;
  apply(target: BrokerRef, action: Action, deadlineMs: number): Promise<BrokerResult>;
}

/** Sends commands and matches their results. */
export class CommandDispatcher {
  private readonly pending = new Map<string, Pending>();
  private channel: CommandChannel | undefined;

  constructor(private readonly sessions: SessionDirectory) {}

  /** Route commands for the brokers `channel` serves through it (set once, at assembly). */
  useChannel(channel: CommandChannel): void {
    this.channel = channel;
  }

  /** Commands waiting for a result. */
  get size(): number {
    return this.pending.size;
  }

  /** Send `action` to every target; resolve with one result per target, in target order. */
  sendAll(targets: readonly BrokerRef[], action: Action, deadlineMs: number): Promise<BrokerResult[]> {
    return Promise.all(targets.map((t) => this.send(t, action, deadlineMs)));
  }

  /** A broker answered (called by its session; results from another broker than the target are ignored). */
  resolve(from: BrokerKey, result: CommandResult): void {
    const p = this.pending.get(result.commandId);
    if (!p || p.broker !== from) return;
    this.pending.delete(result.commandId);
    p.done(result);
  }

  private send(target: BrokerRef, action: Action, deadlineMs: number): Promise<BrokerResult> {
    const base = { cluster: target.cluster, brokerName: target.brokerName, brokerId: target.brokerId };
    const session = this.sessions.get(target.key);
    if (!session && this.channel?.serves(target)) return this.channel.apply(target, action, deadlineMs);
    if (!session) {
      return Promise.resolve({
        ...base,
        outcome: CommandOutcome.COMMAND_OUTCOME_NO_SESSION,
        message: target.cluster
          ? `broker ${target.key} has no live Connect session on this NameServer replica`
          : `replica set ${target.brokerName} is not registered on this NameServer replica (down, or not reporting here)`,
      });
    }
    const commandId = randomUUID();
    return new Promise<BrokerResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(commandId);
        resolve({ ...base, outcome: CommandOutcome.COMMAND_OUTCOME_TIMEOUT, message: `no result from ${target.key} before the deadline` });
      }, Math.max(0, deadlineMs - Date.now()));
      timer.unref();
      this.pending.set(commandId, {
        broker: target.key,
        done: (r) => {
          clearTimeout(timer);
          const outcome = r.outcome === CommandOutcome.COMMAND_OUTCOME_UNSPECIFIED ? CommandOutcome.COMMAND_OUTCOME_FAILED : r.outcome;
          resolve({ ...base, outcome, message: r.message });
        },
      });
      session.send({ body: { $case: 'command', command: { commandId, action } } });
    });
  }
}

/** Status kind of a write from its outcomes, most telling first; undefined when all are OK. */
const PRIORITY: [CommandOutcome, ErrorKind][] = [
  [CommandOutcome.COMMAND_OUTCOME_INVALID, 'invalid-argument'],
  [CommandOutcome.COMMAND_OUTCOME_ALREADY_EXISTS, 'already-exists'],
  [CommandOutcome.COMMAND_OUTCOME_NOT_FOUND, 'not-found'],
  [CommandOutcome.COMMAND_OUTCOME_FAILED, 'aborted'],
  [CommandOutcome.COMMAND_OUTCOME_NO_SESSION, 'unavailable'],
  [CommandOutcome.COMMAND_OUTCOME_TIMEOUT, 'deadline-exceeded'],
];

const OUTCOME_NAME: Record<number, string> = {
  [CommandOutcome.COMMAND_OUTCOME_OK]: 'OK',
  [CommandOutcome.COMMAND_OUTCOME_ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [CommandOutcome.COMMAND_OUTCOME_NOT_FOUND]: 'NOT_FOUND',
  [CommandOutcome.COMMAND_OUTCOME_INVALID]: 'INVALID',
  [CommandOutcome.COMMAND_OUTCOME_FAILED]: 'FAILED',
  [CommandOutcome.COMMAND_OUTCOME_NO_SESSION]: 'NO_SESSION',
  [CommandOutcome.COMMAND_OUTCOME_TIMEOUT]: 'TIMEOUT',
};

/**
 * The results of a write, or a WriteIncomplete naming every broker's outcome (message and binary
 * trailer `nameserver-results-bin` holding the encoded response) when not every target applied it.
 */
export function requireAllOk<R extends { results: BrokerResult[] }>(
  what: string,
  response: R,
  encode: (r: R) => Uint8Array,
): R {
  const failing = response.results.filter((r) => r.outcome !== CommandOutcome.COMMAND_OUTCOME_OK);
  if (failing.length === 0) return response;
  const kind = PRIORITY.find(([o]) => failing.some((r) => r.outcome === o))?.[1] ?? 'aborted';
  const applied = response.results.length - failing.length;
  const lines = response.results.map(
    (r) => `${r.cluster}/${r.brokerName}/${r.brokerId} ${OUTCOME_NAME[r.outcome] ?? 'FAILED'}${r.message ? ` (${r.message})` : ''}`,
  );
  throw new WriteIncomplete(kind, `${what}: ${applied} of ${response.results.length} brokers applied it: ${lines.join('; ')}`, {
    key: RESULTS_TRAILER,
    bytes: encode(response),
  });
}
