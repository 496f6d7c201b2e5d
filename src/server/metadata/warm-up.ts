/**
 * The warm-up rule, in one place. A freshly started replica has heard from no broker yet; until
 * `warmupMs` has passed (or `finish()`):
 *
 *  - it reports NOT_SERVING (health, /readyz: server.ts reads `active`);
 *  - a topic it has not seen since it started may simply not be reported yet: asking for it is
 *    UNAVAILABLE ("warming up"), not NOT_FOUND (`missingRoute`), on gRPC and on the RocketMQ door;
 *  - routes it serves may lack replica sets: they are flagged `may_be_incomplete` (`flagsRoutes`);
 *  - route versions a watcher brought from another replica are left alone: no removal or shrunken
 *    route is pushed for them (`keepsForeignVersions`; the watch stream applies it).
 *
 * A route this replica has seen and that then changes or loses its brokers is pushed as usual.
 * Emits `done` once, when the warm-up ends.
 */
import { EventEmitter } from 'node:events';
import { TopicNotFound, WarmingUp, type DomainError } from './errors';
import type { RouteReader } from './route-table';
import type { TopicName } from './types';

/** See the module comment. */
export class WarmUp extends EventEmitter<{ done: [] }> {
  private timer: NodeJS.Timeout | undefined;
  private warming: boolean;
  /** Topics that had a route since start; kept only while warming up. */
  private seen: Set<TopicName> | undefined;
  private readonly onChanged = (topic: TopicName) => this.seen?.add(topic);

  constructor(
    durationMs: number,
    private readonly routes: RouteReader,
  ) {
    super();
    this.warming = durationMs > 0;
    if (this.warming) {
      this.seen = new Set(routes.topicNames());
      routes.on('changed', this.onChanged);
      this.timer = setTimeout(() => this.finish(), durationMs);
      this.timer.unref();
    }
  }

  /** True while warming up. */
  get active(): boolean {
    return this.warming;
  }

  /** Whether routes served now are flagged may_be_incomplete. */
  get flagsRoutes(): boolean {
    return this.warming;
  }

  /** Whether a watch leaves alone the versions a client brought from another replica. */
  get keepsForeignVersions(): boolean {
    return this.warming;
  }

  /** Whether the topic has had a route since start (every topic counts once warm). */
  wasSeen(topic: TopicName): boolean {
    return this.seen === undefined || this.seen.has(topic);
  }

  /** The error for a topic without a route: WarmingUp for one not seen yet while warming, else TopicNotFound. */
  missingRoute(topic: TopicName): DomainError {
    return this.warming && !this.wasSeen(topic) ? new WarmingUp(`topic "${topic}"`) : new TopicNotFound(topic);
  }

  /** End the warm-up now (also used by tests and by shutdown). */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.warming) return;
    this.warming = false;
    this.seen = undefined;
    this.routes.off('changed', this.onChanged);
    this.emit('done');
  }
}
