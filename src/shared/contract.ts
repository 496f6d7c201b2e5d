/**
 * What the contract (proto/nameserver/v1) says in its comments rather than in generated code, in one
 * place: what an UNSPECIFIED enum value means, and the name of the trailer that carries an Admin
 * write's per-broker results when the write is incomplete.
 */
import { ConsumeMode, FilterType, MessageType, Permission } from '../../generated/nameserver/v1/common';

/** Trailing metadata key holding the encoded XxxResponse of an incomplete Admin write. */
export const RESULTS_TRAILER = 'nameserver-results-bin';

/** A permission; UNSPECIFIED means PERMISSION_READ_WRITE. */
export function permissionOrDefault(p: Permission): Permission {
  return p === Permission.PERMISSION_UNSPECIFIED ? Permission.PERMISSION_READ_WRITE : p;
}

/** A message type; UNSPECIFIED means MESSAGE_TYPE_NORMAL. */
export function messageTypeOrDefault(t: MessageType): MessageType {
  return t === MessageType.MESSAGE_TYPE_UNSPECIFIED ? MessageType.MESSAGE_TYPE_NORMAL : t;
}

/** A consume mode; UNSPECIFIED means CONSUME_MODE_CLUSTERING. */
export function consumeModeOrDefault(m: ConsumeMode): ConsumeMode {
  return m === ConsumeMode.CONSUME_MODE_UNSPECIFIED ? ConsumeMode.CONSUME_MODE_CLUSTERING : m;
}

/** A subscription's filter type; UNSPECIFIED means FILTER_TYPE_TAG. */
export function filterTypeOrDefault(f: FilterType): FilterType {
  return f === FilterType.FILTER_TYPE_UNSPECIFIED ? FilterType.FILTER_TYPE_TAG : f;
}
