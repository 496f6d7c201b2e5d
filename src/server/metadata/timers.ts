/**
 * Time and timers as one injected interface, so the managers that own liveness (sessions, leases,
 * grace periods) can be driven by a fake clock in tests: a test advances time and sees exactly which
 * timers fire, in order, with nothing left pending when it is done.
 */

/** A pending timer. */
export interface Timer {
  /** Cancel it (no effect once it fired). */
  cancel(): void;
}

/** The clock and timer source of the metadata core. */
export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` once, `ms` milliseconds from now. Timers never keep the process alive. */
  after(ms: number, fn: () => void): Timer;
}

/** The real clock and Node's timers (unref'd: liveness timers must not hold a stopping process). */
export const systemTimers: Timers = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
