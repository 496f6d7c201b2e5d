/**
 * Authentication by role. Optional bearer tokens (`authorization: Bearer <token>`): brokers present
 * the broker token on BrokerRegistry, consoles the admin token on Admin, clients the client token on
 * RouteQuery (any configured token may read routes). Health and reflection stay open. Without an admin
 * token configured, Admin writes are accepted from loopback peers only. Tokens are compared in
 * constant time and never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CONSOLE_PEER_METADATA, INTERNAL_METADATA, isLoopbackPeer } from '../../../shared/peers';
import type { Metadata } from '@grpc/grpc-js';
import { PermissionDenied, Unauthenticated } from '../../metadata/errors';

/** Who may call a service. */
export type Role = 'broker' | 'admin' | 'client';

/** Configured tokens (empty string: none required for that role). */
export interface Tokens {
  broker: string;
  admin: string;
  client: string;
}

const SERVICE_OF: Record<Role, string> = {
  broker: 'nameserver.v1.BrokerRegistry',
  admin: 'nameserver.v1.Admin',
  client: 'nameserver.v1.RouteQuery',
};

const digest = (s: string) => createHash('sha256').update(s).digest();

export { INTERNAL_METADATA, isLoopbackPeer };

/** Checks calls against the configured tokens. */
export class Guard {
  private readonly digests: Partial<Record<Role, Buffer>> = {};

  /**
   * A random per-process secret for this process's own clients (the console gateway, which applies
   * the loopback-only-writes rule on the HTTP side); sent as `INTERNAL_METADATA`, never logged.
   */
  readonly internalSecret = randomBytes(32).toString('hex');
  private readonly internalDigest = digest(this.internalSecret);

  constructor(tokens: Tokens) {
    for (const role of ['broker', 'admin', 'client'] as Role[]) if (tokens[role]) this.digests[role] = digest(tokens[role]);
  }

  /** Whether any token is configured for the role. */
  required(role: Role): boolean {
    return this.digests[role] !== undefined;
  }

  /** Throw unless the call's metadata authorises `role`. */
  check(role: Role, metadata: Metadata): void {
    const acceptsAnyToken = role === 'client';
    if (!this.required(role)) return;
    const header = metadata.get('authorization')[0];
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new Unauthenticated(`${SERVICE_OF[role]} needs a bearer token (metadata "authorization: Bearer <token>")`);
    const got = digest(m[1]!);
    const matches = (Object.keys(this.digests) as Role[]).filter((r) => timingSafeEqual(this.digests[r]!, got));
    if (matches.includes(role) || (acceptsAnyToken && matches.length > 0)) return;
    if (matches.length > 0) throw new PermissionDenied(`the ${matches[0]} token may not call ${SERVICE_OF[role]}`);
    throw new Unauthenticated(`the bearer token is not valid for ${SERVICE_OF[role]}`);
  }

  /**
   * Who a call says it is, for the audit log: the role whose token it presented ("none" without one),
   * and for this process's own console the HTTP client it serves (`via`).
   */
  identify(call: { getPeer(): string; metadata?: Metadata }): { role: Role | 'console' | 'none' | 'unknown-token'; peer: string } {
    const internal = call.metadata?.get(INTERNAL_METADATA)[0];
    if (typeof internal === 'string' && timingSafeEqual(digest(internal), this.internalDigest)) {
      const via = call.metadata?.get(CONSOLE_PEER_METADATA)[0];
      return { role: 'console', peer: typeof via === 'string' ? `console ${via}` : 'console' };
    }
    const header = call.metadata?.get('authorization')[0];
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) return { role: 'none', peer: call.getPeer() };
    const got = digest(m[1]!);
    const role = (Object.keys(this.digests) as Role[]).find((r) => timingSafeEqual(this.digests[r]!, got));
    return { role: role ?? 'unknown-token', peer: call.getPeer() };
  }

  /** Admin writes: with no admin token configured, only loopback peers may write. */
  adminWrite(call: { getPeer(): string; metadata?: Metadata }): void {
    if (this.required('admin')) return; // the token was checked for the whole service
    const internal = call.metadata?.get(INTERNAL_METADATA)[0];
    if (typeof internal === 'string' && timingSafeEqual(digest(internal), this.internalDigest)) return;
    if (!isLoopbackPeer(call.getPeer())) {
      throw new PermissionDenied('Admin writes from non-loopback peers need an admin token (start the NameServer with --admin-token)');
    }
  }
}
