/**
 * The one error table: domain errors → gRPC status. Anything that is not a DomainError is a bug; it
 * becomes INTERNAL with a generic message (the detail goes to the log, never to the caller).
 */
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { DomainError, type ErrorKind } from '../../metadata/errors';
import { log } from '../../log';

const CODES: Record<ErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'failed-precondition': status.FAILED_PRECONDITION,
  aborted: status.ABORTED,
  unavailable: status.UNAVAILABLE,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  unimplemented: status.UNIMPLEMENTED,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  'permission-denied': status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
};

/** Stable message prefixes, so scripts can match on them. */
const PREFIX: Record<ErrorKind, string> = {
  'invalid-argument': 'invalid argument',
  'not-found': 'not found',
  'already-exists': 'already exists',
  'failed-precondition': 'failed precondition',
  aborted: 'aborted',
  unavailable: 'unavailable',
  'resource-exhausted': 'resource exhausted',
  unimplemented: 'unimplemented',
  'deadline-exceeded': 'deadline exceeded',
  'permission-denied': 'permission denied',
  unauthenticated: 'unauthenticated',
};

/** A gRPC status object as grpc-js callbacks and `emit('error')` take it. */
export type StatusObject = Partial<ServiceError> & { code: status; details: string };

/** Map any thrown value to the status the caller sees. `rpc` names the method for the log. */
export function toStatus(err: unknown, rpc: string): StatusObject {
  if (err instanceof DomainError) {
    const metadata = new Metadata();
    if (err.detail) metadata.set(err.detail.key, Buffer.from(err.detail.bytes));
    return { code: CODES[err.kind], details: `${PREFIX[err.kind]}: ${err.message}`, metadata };
  }
  log.error({ rpc, err }, 'internal error');
  return { code: status.INTERNAL, details: 'internal error (logged on the server)', metadata: new Metadata() };
}
