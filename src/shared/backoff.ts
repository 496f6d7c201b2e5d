/** Exponential back-off with jitter, for reconnect loops (client SDK and broker agent). */

/** Back-off settings. */
export interface BackoffOptions {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
  /** Fraction of each delay that is random (0 = none, 1 = "full jitter"). */
  jitter: number;
}

/** Defaults: 100 ms doubling to 5 s, half of each delay random. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5_000, jitter: 0.5 };

/** Successive delays; `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay, in milliseconds. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(base * (1 - this.opts.jitter * this.random()));
  }

  /** Start again from the first delay. */
  reset(): void {
    this.attempt = 0;
  }
}
