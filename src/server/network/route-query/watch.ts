/**
 * WatchRoutes. A RouteWatchHub indexes watchers by topic and forwards the route table's change events
 * to them; each RouteWatcher owns one stream: what the client follows, the version it holds of each
 * topic, and a CoalescingWriter that renders the latest state per topic when the stream can take it.
 *
 * What the client is sent for a followed topic, when its turn comes:
 * - a route whose version differs from the one the client holds → UPDATED (and the client now holds it);
 * - no route, while the client holds a version → REMOVED;
 * - otherwise nothing: a client that re-subscribes with the versions it holds (after a failover) gets
 *   zero bytes for routes that did not change.
 * During warm-up, a version the client brought from another replica (a failover) is left alone:
 * this replica may have heard from only some brokers yet, and must not replace a complete route with a
 * shrunken one or announce a removal. Such topics are re-checked when warm-up ends. Routes this
 * replica itself sent to the client are followed as usual, warm-up or not; those sent during warm-up
 * carry `may_be_incomplete`, and a progress message goes out as soon as warm-up ends to confirm them.
 * After each request (one message per request), and every `watchProgressIntervalMs`, a progress
 * message follows the events.
 *
 * Limits: topics per stream, per connection and in total (an all-topics stream counts as one); a
 * request that would pass one ends the stream with RESOURCE_EXHAUSTED naming it. A route larger than
 * the message limit is never sent (grpc-js would end the whole stream): the client gets a TOO_LARGE
 * event for that topic instead, and every other topic flows as usual.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  RouteEventType,
  WatchRoutesResponse,
  type WatchRoutesRequest,
} from '../../../../generated/nameserver/v1/route_query';
import { LimitExceeded } from '../../metadata/errors';
import { incompleteUpdateEventBytes, removedEventBytes, type RouteReader } from '../../metadata/route-table';
import type { TopicName } from '../../metadata/types';
import { checkWatchRoutesRequest } from '../validate';
import type { WarmUp } from '../../metadata/warm-up';
import { CoalescingWriter, directSink, type CoalescingWriterOptions } from './coalescing-writer';
import { checkDecoded, endWithStatus, type StreamTracker } from '../grpc/adapter';
import { http2SessionOf } from '../grpc/internals';
import { toStatus } from '../grpc/status';
import type { Metrics } from '../../metrics';
import { log } from '../../log';

type Call = ServerDuplexStream<WatchRoutesRequest, WatchRoutesResponse>;

/** Settings of the route watch. */
export interface RouteWatchOptions {
  progressIntervalMs: number;
  stallTimeoutMs: number;
  maxSubscriptionsPerStream: number;
  /** Topics followed over all streams of one connection. */
  maxSubscriptionsPerConnection: number;
  /** Topics followed over all streams. */
  maxSubscriptions: number;
  maxBatchBytes: number;
  /** Largest message the server may send (grpc.max_send_message_length). */
  maxMessageBytes: number;
  /** Ends stalled streams (reset, GOAWAY for connections that keep stalling). */
  streams: StreamTracker;
  serverId: string;
  metrics?: Metrics;
}

/** What a watcher reads to render its stream: the routes, the warm-up, the settings. */
interface WatchView {
  readonly routes: RouteReader;
  readonly warmup: WarmUp;
  readonly opts: RouteWatchOptions;
}

/**
 * Watchers by topic; fan-out of route events. The hub owns its watchers: it serves each stream,
 * applies each request (limits, its indexes, then the watcher's own state), and drops the watcher
 * when its stream ends. A watcher never calls back into the hub.
 */
export class RouteWatchHub {
  private readonly byTopic = new Map<TopicName, Set<RouteWatcher>>();
  private readonly allTopics = new Set<RouteWatcher>();
  private readonly watchers = new Set<RouteWatcher>();
  /** Topics followed per connection (http2 session, or peer string), and in total. */
  private readonly perConnection = new Map<object | string, number>();
  private total = 0;
  private readonly progressTimer: NodeJS.Timeout;
  private readonly view: WatchView;

  constructor(
    readonly routes: RouteReader,
    readonly warmup: WarmUp,
    readonly opts: RouteWatchOptions,
  ) {
    this.view = { routes, warmup, opts };
    const notify = (topic: TopicName) => {
      const set = this.byTopic.get(topic);
      if (set) for (const w of set) w.changed(topic);
      for (const w of this.allTopics) w.changed(topic);
    };
    routes.on('changed', notify);
    routes.on('removed', notify);
    // Warm-up over: routes clients hold that this replica never got are now known to be gone.
    // Its progress message (warming_up false) confirms the routes sent flagged may_be_incomplete.
    warmup.on('done', () => {
      for (const w of this.watchers) {
        w.recheckHeld();
        w.progress();
      }
    });
    this.progressTimer = setInterval(() => {
      for (const w of this.watchers) w.progress();
    }, opts.progressIntervalMs);
    this.progressTimer.unref();
  }

  /** Open watch streams. */
  get size(): number {
    return this.watchers.size;
  }

  /** Topics followed over all streams (explicit subscriptions; all-topics streams count as one). */
  subscriptions(): number {
    return this.total;
  }

  /** Topics with at least one explicit watcher (index size; for leak checks and metrics). */
  get indexedTopics(): number {
    return this.byTopic.size;
  }

  /** Serve one WatchRoutes stream. Client half-close does not end the watch (grpcurl half-closes after its request). */
  serve(call: Call): void {
    const w = new RouteWatcher(call, this.view);
    const conn = http2SessionOf(call) ?? call.getPeer();
    this.watchers.add(w);
    call.on('data', (req: WatchRoutesRequest) => this.onRequest(w, conn, req));
    const drop = () => this.drop(w, conn);
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
    call.on('finish', drop);
  }

  /** Stop the progress timer (shutdown). */
  close(): void {
    clearInterval(this.progressTimer);
  }

  /** One request: check it and the limits, update the indexes, then the watcher; a failure ends the stream. */
  private onRequest(w: RouteWatcher, conn: object | string, req: WatchRoutesRequest): void {
    if (w.closed) return;
    try {
      checkDecoded(req);
      checkWatchRoutesRequest(req);
      for (const t of req.unsubscribe) {
        if (w.unsubscribe(t)) this.uncount(conn, 1);
        this.unfollow(w, t);
      }
      for (const { topic, version } of req.subscribe) {
        if (!w.follows(topic)) {
          if (w.subscribedCount >= this.opts.maxSubscriptionsPerStream) {
            throw new LimitExceeded(`a WatchRoutes stream may follow at most ${this.opts.maxSubscriptionsPerStream} topics (--max-subscriptions-per-stream)`);
          }
          this.count(conn);
          if (!w.followsAll) this.follow(w, topic);
        }
        w.subscribe(topic, version);
      }
      if (req.allTopics && !w.followsAll) {
        this.count(conn);
        this.allTopics.add(w);
        for (const t of w.topics()) this.unfollow(w, t); // the all-topics set covers them
        w.followAll(this.routes.topicNames());
      }
      w.progress(true);
    } catch (err) {
      this.drop(w, conn);
      endWithStatus(w.call, toStatus(err, 'WatchRoutes'));
    }
  }

  /** One more topic followed on this connection; throws LimitExceeded past a limit. */
  private count(conn: object | string): void {
    const onConn = this.perConnection.get(conn) ?? 0;
    if (onConn >= this.opts.maxSubscriptionsPerConnection) {
      throw new LimitExceeded(`one connection may follow at most ${this.opts.maxSubscriptionsPerConnection} topics (--max-subscriptions-per-connection)`);
    }
    if (this.total >= this.opts.maxSubscriptions) {
      throw new LimitExceeded(`this NameServer serves at most ${this.opts.maxSubscriptions} subscriptions (--max-subscriptions); try another replica`);
    }
    this.perConnection.set(conn, onConn + 1);
    this.total++;
  }

  /** `n` topics no longer followed on this connection. */
  private uncount(conn: object | string, n: number): void {
    if (n === 0) return;
    const left = (this.perConnection.get(conn) ?? n) - n;
    if (left > 0) this.perConnection.set(conn, left);
    else this.perConnection.delete(conn);
    this.total -= n;
  }

  private follow(w: RouteWatcher, topic: TopicName): void {
    let set = this.byTopic.get(topic);
    if (!set) this.byTopic.set(topic, (set = new Set()));
    set.add(w);
  }

  private unfollow(w: RouteWatcher, topic: TopicName): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.byTopic.delete(topic);
  }

  /** The stream ended (or was ended): forget the watcher everywhere. Idempotent. */
  private drop(w: RouteWatcher, conn: object | string): void {
    if (!w.close()) return;
    this.uncount(conn, w.followed);
    for (const t of w.topics()) this.unfollow(w, t);
    this.allTopics.delete(w);
    this.watchers.delete(w);
  }
}

/**
 * One WatchRoutes stream's state (see the module comment); the hub applies requests to it. It is also
 * its writer's options object (settings read from the hub's, events as methods): a replica holds one
 * watcher per client, so per-stream closures and objects are avoided where a method does.
 */
export class RouteWatcher implements CoalescingWriterOptions {
  /** Topics followed explicitly. */
  private readonly subscribed = new Set<TopicName>();
  /** Version the client holds, per topic (absent: none). */
  private readonly held = new Map<TopicName, string>();
  /** Topics whose held version came from the client, not from this replica (see the module comment); made when first needed. */
  private foreign: Set<TopicName> | undefined;
  private all = false;
  private ended = false;
  private readonly writer: CoalescingWriter<TopicName>;

  constructor(
    readonly call: Call,
    private readonly view: WatchView,
  ) {
    this.writer = new CoalescingWriter<TopicName>(
      directSink(call as unknown as Parameters<typeof directSink>[0]),
      (topic) => this.render(topic),
      () => this.renderProgress(),
      this,
    );
  }

  get maxBatchBytes(): number {
    return this.view.opts.maxBatchBytes;
  }

  get maxMessageBytes(): number {
    return this.view.opts.maxMessageBytes;
  }

  get stallTimeoutMs(): number {
    return this.view.opts.stallTimeoutMs;
  }

  /** @internal Writer event: a message was written. */
  onWritten(): void {
    this.view.opts.metrics?.pushes.inc();
  }

  /** @internal Writer event: a mark was absorbed by a pending one. */
  onCoalesced(): void {
    this.view.opts.metrics?.coalesced.inc();
  }

  /** @internal Writer event: the client read nothing for stallTimeoutMs. The stream is ended (then reset); its 'close' makes the hub drop this watcher. */
  onStall(): void {
    const { opts } = this.view;
    const call = this.call;
    opts.metrics?.watchersEnded.inc({ reason: 'stalled' });
    log.warn({ event: 'watch.stalled', peer: call.getPeer(), stallTimeoutMs: opts.stallTimeoutMs }, 'ended a WatchRoutes stream whose client read nothing');
    this.writer.close();
    opts.streams.abortStalled(
      call,
      toStatus(new LimitExceeded(`watcher read nothing for ${opts.stallTimeoutMs} ms; resubscribe with the versions you hold`), 'WatchRoutes'),
    );
  }

  /** Whether the stream has ended (no more requests are applied). */
  get closed(): boolean {
    return this.ended;
  }

  /** Whether this stream follows every topic. */
  get followsAll(): boolean {
    return this.all;
  }

  /** Number of topics followed explicitly. */
  get subscribedCount(): number {
    return this.subscribed.size;
  }

  /** Topics this stream follows explicitly (+1 when it follows all topics). */
  get followed(): number {
    return this.subscribed.size + (this.all ? 1 : 0);
  }

  /** The topics followed explicitly. */
  topics(): IterableIterator<TopicName> {
    return this.subscribed.values();
  }

  /** Whether the topic is followed explicitly. */
  follows(topic: TopicName): boolean {
    return this.subscribed.has(topic);
  }

  /** Follow a topic (again), with the version the client holds ('' for none); its state is sent when it differs. */
  subscribe(topic: TopicName, version: string): void {
    this.subscribed.add(topic);
    if (version) {
      this.held.set(topic, version);
      (this.foreign ??= new Set()).add(topic);
    } else {
      this.held.delete(topic);
      this.foreign?.delete(topic);
    }
    this.writer.mark(topic);
  }

  /** Stop following a topic; true when it was followed explicitly. */
  unsubscribe(topic: TopicName): boolean {
    const was = this.subscribed.delete(topic);
    if (!this.all) {
      this.held.delete(topic);
      this.foreign?.delete(topic);
      this.writer.forget(topic);
    }
    return was;
  }

  /** Follow every topic, present (`current`) and future. */
  followAll(current: Iterable<TopicName>): void {
    this.all = true;
    for (const t of current) this.writer.mark(t);
  }

  /** A followed topic's route changed or was removed. */
  changed(topic: TopicName): void {
    this.writer.mark(topic);
  }

  /** Send a progress message (`each`: one of its own, as after every request; else coalesced). */
  progress(each = false): void {
    this.writer.progress(each);
  }

  /** Re-check every topic the client holds a version of (warm-up just ended). */
  recheckHeld(): void {
    if (this.foreign) for (const t of this.foreign) this.writer.mark(t);
  }

  /** Stop writing; true the first time (the hub then forgets this watcher). */
  close(): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.writer.close();
    return true;
  }

  private render(topic: TopicName): Buffer | undefined {
    if (!this.all && !this.subscribed.has(topic)) return undefined;
    const { routes, warmup, opts } = this.view;
    const entry = routes.get(topic);
    const have = this.held.get(topic);
    const foreign = this.foreign;
    if (entry?.version === have) {
      foreign?.delete(topic); // the client's version is ours: follow it as usual from now on
      return undefined;
    }
    if (have !== undefined && foreign?.has(topic) && warmup.keepsForeignVersions) return undefined;
    foreign?.delete(topic);
    if (entry) {
      const bytes = entry.updateEventBytes; // assembled on first read, then cached: read once per render
      if (bytes.length > opts.maxMessageBytes) return this.renderTooLarge(topic, bytes.length);
      this.held.set(topic, entry.version);
      return warmup.flagsRoutes ? incompleteUpdateEventBytes(bytes) : bytes;
    }
    if (have === undefined) return undefined;
    this.held.delete(topic);
    return removedEventBytes(topic);
  }

  /** The route cannot be sent: say so for this topic; the client keeps what it holds (see the proto). */
  private renderTooLarge(topic: TopicName, bytes: number): Buffer {
    return Buffer.from(
      WatchRoutesResponse.encode({
        events: [{
          topic,
          type: RouteEventType.ROUTE_EVENT_TYPE_TOO_LARGE,
          route: undefined,
          error: routeTooLargeMessage(topic, bytes, this.view.opts.maxMessageBytes),
          mayBeIncomplete: false,
        }],
        progress: undefined,
      }).finish(),
    );
  }

  private renderProgress(): Buffer {
    return Buffer.from(
      WatchRoutesResponse.encode({
        events: [],
        progress: {
          subscribedTopics: this.subscribed.size,
          allTopics: this.all,
          warmingUp: this.view.warmup.active,
          serverId: this.view.opts.serverId,
        },
      }).finish(),
    );
  }
}

/** The words for a route larger than the message limit (WatchRoutes events, GetRoute statuses). */
export function routeTooLargeMessage(topic: TopicName, bytes: number, limit: number): string {
  return `the route of topic "${topic}" is ${bytes} bytes encoded, more than this server sends in one message (${limit} bytes, --max-message-bytes)`;
}
