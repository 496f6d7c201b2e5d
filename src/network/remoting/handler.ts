/**
 * What a remoting handler is: a small function from a decoded request to a reply, listed in the
 * code → handler table (table.ts) with the access it needs. Handlers are thin: read the header, call
 * the registry or a view, build the reply. Errors are DomainErrors, turned into response codes in one
 * place (`replyForError`).
 */
import type { Config } from '../../config';
import { log } from '../../log';
import { DomainError, InvalidArgument, type ErrorKind } from '../../metadata/errors';
import type { Registry } from '../../metadata/registry';
import type { WarmUp } from '../../warmup';
import type { CommandDispatcher } from '../commands';
import type { RemotingBrokers, ConnectionRef } from './brokers';
import { ResponseCode } from './codes';
import type { RemotingCommand } from './frame';
import type { KvStore } from './kv-store';

/** Who may send a code: clients (reads), brokers (registration), admins (writes). */
export type Access = 'client' | 'broker' | 'admin';

/** A reply: response code, optional remark, header fields and body. */
export interface RemotingReply {
  code: number;
  remark?: string;
  extFields?: Record<string, string>;
  body?: Buffer;
}

/** A request as a handler sees it. */
export interface RemotingRequest {
  readonly cmd: RemotingCommand;
  readonly conn: ConnectionRef;
}

/** What handlers are given: the metadata core and the front door's own state. */
export interface FrontDoor {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  readonly warmup: WarmUp;
  readonly brokers: RemotingBrokers;
  readonly kv: KvStore;
  readonly commands: CommandDispatcher;
}

/** A handler. */
export type Handler = (req: RemotingRequest, door: FrontDoor) => RemotingReply | Promise<RemotingReply>;

/** One row of the code → handler table. */
export interface HandlerEntry {
  readonly name: string;
  readonly access: Access;
  readonly handle: Handler;
}

/** A SUCCESS reply. */
export function success(opts: Omit<RemotingReply, 'code'> = {}): RemotingReply {
  return { code: ResponseCode.SUCCESS, ...opts };
}

/** A header field (RocketMQ's @CFNotNull fields are required: missing is an error naming it). */
export function field(cmd: RemotingCommand, name: string): string {
  const v = cmd.extFields[name];
  if (v === undefined) throw new InvalidArgument(name, 'the custom field is null (required in the request header)');
  return v;
}

/** An optional header field. */
export function optionalField(cmd: RemotingCommand, name: string): string | undefined {
  return cmd.extFields[name];
}

/** An integer header field (Java Long/Integer text). */
export function intField(cmd: RemotingCommand, name: string, optional: true): number | undefined;
export function intField(cmd: RemotingCommand, name: string, optional?: false): number;
export function intField(cmd: RemotingCommand, name: string, optional = false): number | undefined {
  const v = optional ? cmd.extFields[name] : field(cmd, name);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,18}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgument(name, `must be an integer, got ${JSON.stringify(v.slice(0, 32))}`);
  return Number(v);
}

/** A JSON body as bytes. */
export function jsonBody(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

const CODE_OF: Partial<Record<ErrorKind, number>> = {
  'invalid-argument': ResponseCode.INVALID_PARAMETER,
  'not-found': ResponseCode.QUERY_NOT_FOUND,
  'permission-denied': ResponseCode.NO_PERMISSION,
  unauthenticated: ResponseCode.NO_PERMISSION,
  'resource-exhausted': ResponseCode.SYSTEM_BUSY,
};

/**
 * The one table from errors to remoting replies: domain errors keep their message as the remark; any
 * other error is a bug, answered SYSTEM_ERROR with a generic remark and logged.
 */
export function replyForError(err: unknown, what: string): RemotingReply {
  if (err instanceof DomainError) return { code: CODE_OF[err.kind] ?? ResponseCode.SYSTEM_ERROR, remark: err.message };
  log.error({ request: what, err }, 'remoting: internal error');
  return { code: ResponseCode.SYSTEM_ERROR, remark: 'internal error (logged on the server)' };
}
