/**
 * Domain errors. Managers and validators throw these and nothing else; they know nothing of gRPC.
 * `network/status.ts` is the one table that maps each kind to a gRPC status code.
 */

/** What went wrong, independent of any transport. */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'aborted'
  | 'unavailable'
  | 'resource-exhausted'
  | 'unimplemented'
  | 'deadline-exceeded'
  | 'permission-denied'
  | 'unauthenticated';

/** Base class of every error the NameServer reports to a caller on purpose. */
export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  /** Structured detail for the caller beyond the message (sent as binary trailing metadata). */
  readonly detail?: { key: string; bytes: Uint8Array };
}

/** A write that not every target broker applied. `detail` carries the encoded per-broker results. */
export class WriteIncomplete extends DomainError {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    override readonly detail: { key: string; bytes: Uint8Array },
  ) {
    super(message);
  }
}

/** The caller gave no credentials, or credentials no role accepts. */
export class Unauthenticated extends DomainError {
  readonly kind = 'unauthenticated';
}

/** The caller is known but may not do this. */
export class PermissionDenied extends DomainError {
  readonly kind = 'permission-denied';
}

/** A request field is missing, malformed or out of range. `field` is the proto path, e.g. `topics[3].name`. */
export class InvalidArgument extends DomainError {
  readonly kind = 'invalid-argument';
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** No live broker reports this topic. */
export class TopicNotFound extends DomainError {
  readonly kind = 'not-found';
  constructor(readonly topic: string) {
    super(`topic "${topic}" has no route`);
  }
}

/** No broker reports this group. */
export class GroupNotFound extends DomainError {
  readonly kind = 'not-found';
  constructor(readonly group: string) {
    super(`group "${group}" is not reported by any broker`);
  }
}

/** Nothing of that name is registered here; the message says what was asked for and what exists. */
export class NotRegistered extends DomainError {
  readonly kind = 'not-found';
}

/** The broker is not registered on this replica. */
export class BrokerNotFound extends DomainError {
  readonly kind = 'not-found';
  constructor(readonly broker: string) {
    super(`broker ${broker} is not registered`);
  }
}

/** Another live session, from other addresses, holds this broker identity. */
export class BrokerConflict extends DomainError {
  readonly kind = 'already-exists';
  constructor(readonly broker: string, readonly heldBy: string) {
    super(`broker ${broker} is held by a live session from ${heldBy}; two processes claim the same broker_id`);
  }
}

/** The request is valid but cannot apply to the current state (wrong message order, stale epoch). */
export class FailedPrecondition extends DomainError {
  readonly kind = 'failed-precondition';
}

/** A newer session of the same broker replaced this one (the broker reconnected elsewhere). */
export class Superseded extends DomainError {
  readonly kind = 'aborted';
  constructor(broker: string) {
    super(`this session of broker ${broker} was superseded by a newer session`);
  }
}

/** This replica started recently and may not have heard from every broker yet. */
export class WarmingUp extends DomainError {
  readonly kind = 'unavailable';
  constructor(what: string) {
    super(`warming up: this NameServer replica started recently and has not heard of ${what} yet; ask another replica or retry`);
  }
}

/** The server is stopping. */
export class ShuttingDown extends DomainError {
  readonly kind = 'unavailable';
  constructor() {
    super('the NameServer is shutting down; reconnect to another replica');
  }
}

/** A configured limit was hit. */
export class LimitExceeded extends DomainError {
  readonly kind = 'resource-exhausted';
}

/** A later chunk of a chunked report that was dropped (timed out, over a budget, evicted). */
export class ChunkedReportDropped extends DomainError {
  readonly kind = 'aborted';
  constructor(broker: string, version: string, reason: string) {
    super(`the chunked report ${version} of broker ${broker} was dropped (${reason}); send it again from chunk 0`);
  }
}
