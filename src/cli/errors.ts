/**
 * Exit codes of `nameserver-admin` (a stable contract for scripts, listed in `--help` and
 * src/cli/README.md) and the mapping from gRPC status codes to them.
 */
import { status } from '@grpc/grpc-js';

/** Exit codes. */
export const EXIT = {
  /** Success (check-replicas: the replicas agree). */
  OK: 0,
  /** Usage error: bad flags or arguments, or the server rejected the input (INVALID_ARGUMENT). */
  USAGE: 1,
  /** The topic, group, broker or cluster does not exist (NOT_FOUND). */
  NOT_FOUND: 2,
  /** A write was not applied by every targeted broker, or conflicts (ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION). */
  WRITE_INCOMPLETE: 3,
  /** The NameServer is unreachable, unavailable (e.g. warming up) or too slow (UNAVAILABLE, DEADLINE_EXCEEDED). */
  UNAVAILABLE: 4,
  /** Authentication or authorisation failed (UNAUTHENTICATED, PERMISSION_DENIED). */
  AUTH: 5,
  /** check-replicas: the replicas disagree or one is unreachable. */
  INCONSISTENT: 6,
  /** Anything else (INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED, UNIMPLEMENTED, ...). */
  OTHER: 10,
  /** Interrupted (Ctrl-C) while a call was pending; a watch stopped with Ctrl-C exits 0. */
  INTERRUPTED: 130,
} as const;

/** The exit-code table as printed by `--help` and documented in README.md. */
export const EXIT_CODES_HELP = `Exit codes:
  0   ok
  1   usage error (bad flags or arguments; the server answered INVALID_ARGUMENT)
  2   not found (NOT_FOUND: unknown topic, group, broker or cluster)
  3   write incomplete or conflict: some broker did not apply the change (each broker's outcome is
      printed), or ALREADY_EXISTS / ABORTED / FAILED_PRECONDITION
  4   unavailable: server unreachable, warming up, or deadline exceeded (UNAVAILABLE, DEADLINE_EXCEEDED)
  5   auth: UNAUTHENTICATED or PERMISSION_DENIED (see --token)
  6   check-replicas: replicas are inconsistent (or one is unreachable)
  10  any other error
  130 interrupted (Ctrl-C) during a call; watch commands stopped with Ctrl-C exit 0`;

/** A usage error found by the CLI itself (exit 1). */
export class UsageError extends Error {}

/** An error that ends the CLI with a given exit code and an already worded message. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The exit code for a gRPC status code. */
export function exitCodeForStatus(code: status): number {
  switch (code) {
    case status.OK:
      return EXIT.OK;
    case status.INVALID_ARGUMENT:
      return EXIT.USAGE;
    case status.NOT_FOUND:
      return EXIT.NOT_FOUND;
    case status.ALREADY_EXISTS:
    case status.ABORTED:
    case status.FAILED_PRECONDITION:
      return EXIT.WRITE_INCOMPLETE;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return EXIT.UNAVAILABLE;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return EXIT.AUTH;
    default:
      return EXIT.OTHER;
  }
}

/** The name of a status code ("NOT_FOUND"), or the number when unknown. */
export function statusName(code: number): string {
  return status[code] ?? String(code);
}

/**
 * A status as the CLI prints it: "UNAVAILABLE: <details>", with grpc-js's transport notes taken out
 * ("Resolution note:", "Last error:" chains) so the line says what went wrong once.
 */
export function describeStatus(err: { code: number; details?: string }): string {
  const details = (err.details ?? '')
    .replace(/[\s.]*Resolution note:.*$/s, '')
    .replace(/^No connection established\. Last error: (?:Error: )?/, 'no connection: ')
    .trim();
  return `${statusName(err.code)}: ${details || 'no details'}`;
}
