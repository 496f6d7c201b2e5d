/**
 * The NameServer's security model on the remoting door, with RocketMQ's ACL signature as the
 * credential. A signed request carries `AccessKey` (here: the role, `broker`, `admin` or `client`) and
 * `Signature`: base64 HMAC-SHA1, keyed with the SecretKey (here: that role's token, --broker-token
 * etc.), of the values of every other header field in key order followed by the body, as RocketMQ's
 * AclClientRPCHook computes it. So a broker or mqadmin configured with accessKey=admin and
 * secretKey=<admin token> is an admin here. Rules, as on the gRPC door: a role whose token is set
 * needs that role's signature (reads accept any role's); without an admin token, admin writes are
 * accepted from loopback peers only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PermissionDenied, Unauthenticated } from '../../metadata/errors';
import type { Tokens } from '../auth';
import { isLoopbackPeer } from '../auth';
import type { RemotingCommand } from './frame';
import type { Access } from './handler';

/** Header field names of RocketMQ's ACL hook. */
export const ACCESS_KEY = 'AccessKey';
export const SIGNATURE = 'Signature';

/** The signature RocketMQ's ACL hook computes for a request. */
export function signature(cmd: Pick<RemotingCommand, 'extFields' | 'body'>, secret: string): string {
  const keys = Object.keys(cmd.extFields).filter((k) => k !== SIGNATURE).sort();
  const text = Buffer.from(keys.map((k) => cmd.extFields[k]).join(''), 'utf8');
  const hmac = createHmac('sha1', secret).update(text);
  if (cmd.body) hmac.update(cmd.body);
  return hmac.digest('base64');
}

const ROLES: readonly Access[] = ['broker', 'admin', 'client'];

/** Checks requests against the configured tokens. */
export class RemotingAcl {
  constructor(private readonly tokens: Tokens) {}

  /** Throw Unauthenticated or PermissionDenied unless `cmd` from `peer` may have `access`. */
  check(access: Access, cmd: RemotingCommand, peer: string): void {
    const role = this.signer(cmd);
    if (role !== undefined) {
      if (role !== access && access !== 'client') throw new PermissionDenied(`AccessKey "${role}" may not send a request that needs "${access}"`);
      return;
    }
    if (this.tokens[access]) {
      throw new Unauthenticated(`this request needs RocketMQ ACL credentials: AccessKey "${access}", SecretKey = the NameServer's --${access}-token`);
    }
    if (access === 'admin' && !isLoopbackPeer(peer)) {
      throw new PermissionDenied('admin writes from non-loopback peers need credentials (start the NameServer with --admin-token; sign with AccessKey "admin")');
    }
  }

  /** The role whose token signed the request; undefined when unsigned. Throws for a bad signature. */
  private signer(cmd: RemotingCommand): Access | undefined {
    const key = cmd.extFields[ACCESS_KEY];
    const sig = cmd.extFields[SIGNATURE];
    if (key === undefined && sig === undefined) return undefined;
    const role = ROLES.find((r) => r === key);
    if (!role || !this.tokens[role]) throw new Unauthenticated(`unknown AccessKey ${JSON.stringify(String(key).slice(0, 32))} (use "broker", "admin" or "client" with that role's token as SecretKey)`);
    const want = Buffer.from(signature(cmd, this.tokens[role]));
    const got = Buffer.from(sig ?? '');
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw new Unauthenticated(`the Signature does not match AccessKey "${role}"`);
    return role;
  }
}
