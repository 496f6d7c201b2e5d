/**
 * Per-peer request rate limit (token bucket per client host), applied as a service decorator to every
 * call of the three services. Off by default (`--peer-requests-per-second 0`): a NameServer's clients
 * are few, known processes; operators who expose it more widely turn it on. Idle buckets are swept
 * when the map grows, so memory follows the number of active peers.
 */
import { LimitExceeded } from '../../metadata/errors';
import { peerHost } from '../../../shared/address';

interface Bucket {
  tokens: number;
  at: number;
}


/** A token bucket per peer host. */
export class PeerRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = Math.max(1, perSecond * 2),
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /** Whether limiting is on. */
  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Take one token for `peer`; throws LimitExceeded when its bucket is empty. */
  admit(peer: string): void {
    if (!this.enabled) return;
    const host = peerHost(peer);
    const now = this.clock();
    let b = this.buckets.get(host);
    if (!b) {
      if (this.buckets.size >= 10_000) this.sweep(now);
      this.buckets.set(host, (b = { tokens: this.burst, at: now }));
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) throw new LimitExceeded(`more than ${this.perSecond} requests per second from ${host}; slow down`);
    b.tokens -= 1;
  }

  private sweep(now: number): void {
    for (const [host, b] of this.buckets) {
      if (now - b.at > 60_000) this.buckets.delete(host);
    }
  }
}
