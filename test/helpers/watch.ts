/** A WatchRoutes client for tests: records every message and resolves waits on predicates. */
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { RouteQueryClient, RouteEvent, WatchRoutesRequest, WatchRoutesResponse } from '../../generated/nameserver/v1/route_query';

/** Records a WatchRoutes stream. */
export class WatchProbe {
  readonly messages: WatchRoutesResponse[] = [];
  readonly events: RouteEvent[] = [];
  error: ServiceError | undefined;
  private waiters: (() => void)[] = [];
  readonly stream: ClientDuplexStream<WatchRoutesRequest, WatchRoutesResponse>;

  constructor(client: RouteQueryClient) {
    this.stream = client.watchRoutes();
    this.stream.on('data', (m: WatchRoutesResponse) => {
      this.messages.push(m);
      this.events.push(...m.events);
      this.wake();
    });
    this.stream.on('error', (e: ServiceError) => {
      this.error = e;
      this.wake();
    });
  }

  /** Send a request. */
  send(req: Partial<WatchRoutesRequest>): void {
    this.stream.write({ subscribe: [], unsubscribe: [], allTopics: false, ...req });
  }

  /** Subscribe to topics (optionally with held versions). */
  subscribe(...subs: (string | { topic: string; version: string })[]): void {
    this.send({ subscribe: subs.map((s) => (typeof s === 'string' ? { topic: s, version: '' } : s)) });
  }

  /** Messages that carried route events. */
  get routeMessages(): number {
    return this.messages.filter((m) => m.events.length > 0).length;
  }

  /** Progress messages received. */
  get progressCount(): number {
    return this.messages.filter((m) => m.progress).length;
  }

  /** The latest event of a topic. */
  latest(topic: string): RouteEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.topic === topic) return this.events[i];
    return undefined;
  }

  /** Resolve once `cond` holds (checked now and after every message); reject on stream error or timeout. */
  until(cond: (p: this) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch: ${what} not met within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (cond(this)) {
          clearTimeout(timer);
          resolve();
          return true;
        }
        if (this.error && !cond(this)) {
          clearTimeout(timer);
          reject(this.error);
          return true;
        }
        return false;
      };
      if (!check()) {
        const loop = () => {
          if (!check()) this.waiters.push(loop);
        };
        this.waiters.push(loop);
      }
    });
  }

  /** Wait for the next progress message (the server has processed everything sent before). */
  synced(): Promise<void> {
    const n = this.progressCount;
    return this.until((p) => p.progressCount > n, 15_000, 'progress');
  }

  close(): void {
    this.stream.cancel();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
