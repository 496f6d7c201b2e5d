/**
 * Warm-up: a freshly started replica has heard from no broker yet. Until `warmupMs` has passed it
 * reports NOT_SERVING, answers UNAVAILABLE ("warming up") instead of NOT_FOUND for topics it has not
 * seen, and pushes no removals for them, so clients go to a warm replica instead of being told that
 * routes vanished.
 */
import { EventEmitter } from 'node:events';

/** See the module comment. Emits `done` once. */
export class WarmUp extends EventEmitter<{ done: [] }> {
  private timer: NodeJS.Timeout | undefined;
  private warming: boolean;

  constructor(durationMs: number) {
    super();
    this.warming = durationMs > 0;
    if (this.warming) {
      this.timer = setTimeout(() => this.finish(), durationMs);
      this.timer.unref();
    }
  }

  /** True while warming up. */
  get active(): boolean {
    return this.warming;
  }

  /** End the warm-up now (also used by tests and by shutdown). */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.warming) return;
    this.warming = false;
    this.emit('done');
  }
}
