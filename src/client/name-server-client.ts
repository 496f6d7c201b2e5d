/**
 * NameServerClient: what producers and consumers embed to find brokers. It follows routes by push
 * (one WatchRoutes stream to one replica), keeps a local route cache, and fails over to another
 * replica with jittered back-off when its replica goes away. On every (re)connect it subscribes with
 * the versions it holds, so a failover re-sends nothing that did not change: replicas derive versions
 * from content, so the same routes have the same versions everywhere.
 *
 * A replica that is warming up (started recently, may not have heard from every broker) answers with
 * routes flagged `may_be_incomplete`. The client prefers warm replicas: `getRoute` asks the others and
 * keeps a warming answer only when no warm replica answers; the watch stream moves on from a
 * warming replica unless every other replica is warming or unreachable. Route changes say whether the
 * route may be incomplete, and a flagged route is delivered again, unflagged, once its replica is warm.
 *
 * ```ts
 * const ns = new NameServerClient({ nameservers: ['10.0.0.1:9876', '10.0.0.2:9876'] });
 * const route = await ns.getRoute('orders');
 * const w = ns.watch(['orders'], ({ topic, route }) => console.log(topic, route?.version ?? 'removed'));
 * ...
 * w.close(); ns.close();
 * ```
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  RouteEvent,
  RouteEventType,
  RouteQueryClient,
  type GetRouteResponse,
  type Route,
  type WatchRoutesRequest,
  type WatchRoutesResponse,
} from '../../generated/nameserver/v1/route_query';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { resolveAddresses } from './resolve';

/** Options of a NameServerClient. */
export interface NameServerClientOptions {
  /** NameServer addresses ("host:port", a list or comma-separated); a host name expands to all its addresses. */
  nameservers: string | readonly string[];
  /** Channel credentials (default: insecure, for loopback and trusted networks). */
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent with every call (e.g. `authorization: Bearer …`). */
  metadata?: () => grpc.Metadata;
  /** Deadline of unary calls (default 3 s). */
  callTimeoutMs?: number;
  /** Reconnect back-off (default 100 ms doubling to 5 s, half jitter). */
  backoff?: Partial<BackoffOptions>;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
}

/** A route that changed (`route` undefined: the topic has no route any more). */
export interface RouteChange {
  topic: string;
  route: Route | undefined;
  /**
   * True when a warming replica sent the route (no warm replica was reachable): it may lack replica
   * sets. The same route comes again with false once that replica is warm, or after a later change.
   */
  mayBeIncomplete: boolean;
}

/** Receives route changes of watched topics. */
export type RouteListener = (change: RouteChange) => void;

/** A watch handle. */
export interface Watch {
  /** Stop this listener (topics nobody watches any more are unsubscribed). */
  close(): void;
}

/** Counters, for tests, benchmarks and metrics. */
export interface ClientStats {
  /** Watch streams opened. */
  connects: number;
  /** Times the watch stream was lost and moved on. */
  failovers: number;
  /** Route events received (updates and removals). */
  routeEvents: number;
  /** Encoded bytes of the route events received. */
  routeEventBytes: number;
  /** Watch streams left for another replica because this one was warming up. */
  warmingSkipped: number;
}

/**
 * Events: `route` for every change of a watched topic; `connected`/`disconnected` per replica;
 * `routeTooLarge` when a watched topic's route is larger than the replica sends in one message (the
 * cached route, if any, is kept).
 */
export interface NameServerClientEvents {
  route: [RouteChange];
  routeTooLarge: [topic: string, error: string];
  connected: [address: string, serverId: string];
  disconnected: [address: string, error: Error];
}

const RETRY_ON = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.CANCELLED]);

/** See the module comment. */
export class NameServerClient extends EventEmitter<NameServerClientEvents> {
  readonly stats: ClientStats = { connects: 0, failovers: 0, routeEvents: 0, routeEventBytes: 0, warmingSkipped: 0 };
  private addresses: string[] = [];
  private next = 0;
  private readonly clients = new Map<string, RouteQueryClient>();
  private readonly cache = new Map<string, Route>();
  /** Cached topics whose route came flagged may_be_incomplete and is not confirmed yet. */
  private readonly incomplete = new Set<string>();
  /** Attempts since the watch stream last settled on a replica (failures and warming replicas left). */
  private searching = 0;
  private readonly watchers = new Map<string, Set<RouteListener>>();
  private stream: grpc.ClientDuplexStream<WatchRoutesRequest, WatchRoutesResponse> | undefined;
  private streamAddress: string | undefined;
  private connecting = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly backoff: Backoff;

  constructor(private readonly opts: NameServerClientOptions) {
    super();
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, ...opts.backoff });
  }

  /** The replica the watch stream is connected to (undefined while reconnecting). */
  get address(): string | undefined {
    return this.streamAddress;
  }

  /** The cached route of a watched topic. */
  cached(topic: string): Route | undefined {
    return this.cache.get(topic);
  }

  /**
   * The route of a topic: from the cache when the topic is watched and known (and not flagged as
   * possibly incomplete), otherwise by GetRoute, trying the replicas in turn while they answer
   * UNAVAILABLE (down, or warming up) or answer a route flagged `may_be_incomplete` (warming up): the
   * first warm replica's answer wins (a route, or NOT_FOUND), and a warming replica's route is returned
   * only when no warm replica answers. NOT_FOUND and INVALID_ARGUMENT are thrown as grpc-js
   * ServiceErrors.
   */
  async getRoute(topic: string): Promise<Route> {
    const hit = this.cache.get(topic);
    if (hit && this.watchers.has(topic) && !this.incomplete.has(topic)) return hit;
    const addresses = await this.knownAddresses();
    let lastError: unknown = new Error('no NameServer address');
    let warming: Route | undefined;
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[(this.next + i) % addresses.length]!;
      try {
        const res = await new Promise<GetRouteResponse>((resolve, reject) => {
          this.client(address).getRoute(
            { topic },
            this.opts.metadata?.() ?? new grpc.Metadata(),
            { deadline: Date.now() + (this.opts.callTimeoutMs ?? 3_000) },
            (err, r) => (err ? reject(err) : r.route ? resolve(r) : reject(new Error('empty GetRoute answer'))),
          );
        });
        if (!res.mayBeIncomplete) return res.route!;
        warming ??= res.route; // keep looking for a warm replica
      } catch (err) {
        lastError = err;
        // Anything else (NOT_FOUND...) is a warm replica's answer, and a warm answer wins.
        if (!RETRY_ON.has((err as grpc.ServiceError).code)) throw err;
      }
    }
    if (warming) return warming;
    throw lastError;
  }

  /**
   * Follow topics. The listener gets every later change, and the current route of topics already
   * cached. Topics need not exist yet: their route arrives when they appear.
   */
  watch(topics: readonly string[], listener: RouteListener): Watch {
    const added: string[] = [];
    for (const topic of new Set(topics)) {
      let set = this.watchers.get(topic);
      if (!set) {
        this.watchers.set(topic, (set = new Set()));
        added.push(topic);
      }
      set.add(listener);
      const route = this.cache.get(topic);
      if (route) queueMicrotask(() => listener({ topic, route, mayBeIncomplete: this.incomplete.has(topic) }));
    }
    if (added.length > 0) {
      if (this.stream) this.stream.write(this.subscribeRequest(added));
      else this.ensureStream();
    }
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        const dropped: string[] = [];
        for (const topic of new Set(topics)) {
          const set = this.watchers.get(topic);
          if (!set) continue;
          set.delete(listener);
          if (set.size === 0) {
            this.watchers.delete(topic);
            this.cache.delete(topic);
            this.incomplete.delete(topic);
            dropped.push(topic);
          }
        }
        if (dropped.length > 0 && this.stream) this.stream.write({ subscribe: [], unsubscribe: dropped, allTopics: false });
      },
    };
  }

  /** Close the stream and every channel. */
  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(address: string): RouteQueryClient {
    let c = this.clients.get(address);
    if (!c) {
      c = new RouteQueryClient(address, this.opts.credentials ?? grpc.credentials.createInsecure(), {
        // Find a replica that vanished without closing TCP (host down, network cut).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        ...this.opts.channelOptions,
      });
      this.clients.set(address, c);
    }
    return c;
  }

  private async knownAddresses(): Promise<string[]> {
    if (this.addresses.length === 0) this.addresses = await resolveAddresses(this.opts.nameservers);
    return this.addresses;
  }

  private subscribeRequest(topics: Iterable<string>): WatchRoutesRequest {
    const subscribe = [...topics].map((topic) => ({ topic, version: this.cache.get(topic)?.version ?? '' }));
    return { subscribe, unsubscribe: [], allTopics: false };
  }

  private ensureStream(): void {
    if (this.closed || this.stream || this.connecting || this.reconnectTimer || this.watchers.size === 0) return;
    this.connecting = true;
    void this.open().finally(() => {
      this.connecting = false;
    });
  }

  private async open(): Promise<void> {
    // Re-resolve once per round over the replicas (a DNS name may now list other pods).
    if (this.next % Math.max(1, this.addresses.length) === 0) {
      const fresh = await resolveAddresses(this.opts.nameservers);
      if (fresh.length > 0) this.addresses = fresh;
    }
    if (this.closed) return;
    if (this.addresses.length === 0) return this.retryLater(new Error('no NameServer address resolved'), undefined);
    const address = this.addresses[this.next % this.addresses.length]!;
    const stream = this.client(address).watchRoutes(this.opts.metadata?.() ?? new grpc.Metadata());
    this.stream = stream;
    this.streamAddress = undefined;
    this.stats.connects++;
    let greeted = false;
    // Events that come before the first progress message wait for it: it says whether the replica is
    // warming up, and then the client may prefer another replica and drop them.
    let early: RouteEvent[] = [];
    stream.on('data', (m: WatchRoutesResponse) => {
      if (this.stream !== stream) return;
      if (greeted) {
        for (const ev of m.events) this.apply(ev);
        if (m.progress) this.confirm(m.progress.warmingUp);
        return;
      }
      early.push(...m.events);
      if (!m.progress) return;
      if (m.progress.warmingUp && this.searching < this.addresses.length - 1) {
        // Warming up, and another replica may be warm: try the next one now.
        this.searching++;
        this.stats.warmingSkipped++;
        this.stream = undefined;
        this.next++;
        stream.cancel();
        this.ensureStream();
        return;
      }
      greeted = true;
      this.searching = 0;
      this.streamAddress = address;
      this.backoff.reset();
      this.emit('connected', address, m.progress.serverId);
      for (const ev of early) this.apply(ev);
      early = [];
      this.confirm(m.progress.warmingUp);
    });
    const lost = (err: Error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.streamAddress = undefined;
      this.stats.failovers++;
      if (!greeted) this.searching++;
      this.next++;
      this.emit('disconnected', address, err);
      this.retryLater(err, address);
    };
    stream.on('error', lost);
    stream.on('end', () => lost(new Error('watch stream ended by the server')));
    stream.write(this.subscribeRequest(this.watchers.keys()));
  }

  private retryLater(_err: Error, _address: string | undefined): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.ensureStream();
    }, this.backoff.next());
    this.reconnectTimer.unref();
  }

  private apply(ev: RouteEvent): void {
    this.stats.routeEvents++;
    this.stats.routeEventBytes += RouteEvent.encode(ev).finish().length;
    const listeners = this.watchers.get(ev.topic);
    if (!listeners) return; // unsubscribed meanwhile
    if (ev.type === RouteEventType.ROUTE_EVENT_TYPE_TOO_LARGE) {
      this.emit('routeTooLarge', ev.topic, ev.error);
      return;
    }
    const route = ev.type === RouteEventType.ROUTE_EVENT_TYPE_UPDATED ? ev.route : undefined;
    if (route) this.cache.set(ev.topic, route);
    else this.cache.delete(ev.topic);
    const mayBeIncomplete = route !== undefined && ev.mayBeIncomplete;
    if (mayBeIncomplete) this.incomplete.add(ev.topic);
    else this.incomplete.delete(ev.topic);
    this.notify({ topic: ev.topic, route, mayBeIncomplete }, listeners);
  }

  /** A progress message from a warm replica confirms the flagged routes it sent before it. */
  private confirm(warmingUp: boolean): void {
    if (warmingUp || this.incomplete.size === 0) return;
    for (const topic of [...this.incomplete]) {
      this.incomplete.delete(topic);
      const route = this.cache.get(topic);
      const listeners = this.watchers.get(topic);
      if (route && listeners) this.notify({ topic, route, mayBeIncomplete: false }, listeners);
    }
  }

  private notify(change: RouteChange, listeners: Set<RouteListener>): void {
    for (const l of listeners) l(change);
    this.emit('route', change);
  }
}
