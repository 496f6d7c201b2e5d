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

/** A gRPC status object as grpc-js callbacks and `emit('error')` take it. */
export type StatusObject = Partial<ServiceError> & { code: status; details: string };

/** Map any thrown value to the status the caller sees. `rpc` names the method for the log. */
export function toStatus(err: unknown, rpc: string): StatusObject {
  if (err instanceof DomainError) {
    const metadata = new Metadata();
    if (err.detail) metadata.set(err.detail.key, Buffer.from(err.detail.bytes));
    // The message only: every client shows the status code beside it ("INVALID_ARGUMENT: topics[3].name ...").
    return { code: CODES[err.kind], details: err.message, metadata };
  }
  log.error({ rpc, err }, 'internal error');
  return { code: status.INTERNAL, details: 'internal error (logged on the server)', metadata: new Metadata() };
}
