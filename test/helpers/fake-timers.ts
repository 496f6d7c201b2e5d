/** A fake clock and timer source for the metadata core (src/server/metadata/timers.ts): time moves only when a test says. */
import type { Timer, Timers } from '../../src/server/metadata/timers';

interface Scheduled {
  dueMs: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/**
 * Timers fire in due order (ties in scheduling order) while `advance` moves the clock, each with the
 * clock set to its due time, so a timer never observes a clock past its deadline and a timer scheduled
 * by another timer fires in the same advance when it falls due.
 */
export class FakeTimers implements Timers {
  private nowMs: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(startMs = 1_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  after(ms: number, fn: () => void): Timer {
    const t: Scheduled = { dueMs: this.nowMs + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.queue.push(t);
    return { cancel: () => void (t.live = false) };
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get pending(): number {
    this.queue = this.queue.filter((t) => t.live);
    return this.queue.length;
  }

  /** The earliest due time among pending timers, if any. */
  get nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const t of this.queue) if (t.live && (next === undefined || t.dueMs < next)) next = t.dueMs;
    return next;
  }

  /** Move the clock forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let first: Scheduled | undefined;
      for (const t of this.queue) {
        if (!t.live || t.dueMs > end) continue;
        if (!first || t.dueMs < first.dueMs || (t.dueMs === first.dueMs && t.seq < first.seq)) first = t;
      }
      if (!first) break;
      first.live = false;
      this.nowMs = Math.max(this.nowMs, first.dueMs);
      first.fn();
    }
    this.nowMs = end;
    this.queue = this.queue.filter((t) => t.live);
  }
}
