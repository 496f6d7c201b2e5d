/**
 * Prometheus metrics (prom-client), one registry per NameServer so several servers can live in one
 * process (tests). Gauges are read from the managers at scrape time (no bookkeeping on hot paths);
 * counters and histograms are fed by the RPC instrumentation and the push writers.
 */
import * as prom from 'prom-client';
import type { MetadataCore } from './metadata/core';
import type { WarmUp } from './metadata/warm-up';

/** What the gauges read. */
export interface MetricSources {
  core: MetadataCore;
  warmup: WarmUp;
  sessions: () => number;
  watchStreams: () => number;
  watchSubscriptions: () => number;
  clusterWatchers: () => number;
  openStreams: () => number;
  pendingCommands: () => number;
  remotingConnections: () => number;
}

/** Latency buckets of unary RPCs, in seconds. */
const RPC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/**
 * Counts and latency of one RPC method. Kept in plain numbers on the hot path (GetRoute answers tens
 * of thousands of calls a second; prom-client's labelled children hash their labels on every call)
 * and turned into Prometheus series only at scrape time.
 */
export class MethodStats {
  private readonly byCode = new Map<string, number>();
  private readonly buckets = new Float64Array(RPC_BUCKETS.length);
  private sum = 0;
  private count = 0;

  /** A call ended with `code`; unary calls also give their latency. */
  done(code: string, seconds?: number): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    if (seconds === undefined) return;
    let i = 0;
    while (i < RPC_BUCKETS.length && seconds > RPC_BUCKETS[i]!) i++;
    if (i < RPC_BUCKETS.length) this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** @internal Series of `nameserver_rpc_total`. */
  counterValues(method: string): prom.MetricValue<string>[] {
    return [...this.byCode].map(([code, value]) => ({ labels: { method, code }, value }));
  }

  /** @internal Series of `nameserver_rpc_duration_seconds` (cumulative buckets, sum, count). */
  histogramValues(method: string, name: string): prom.MetricValueWithName<string>[] {
    if (this.count === 0) return [];
    const out: prom.MetricValueWithName<string>[] = [];
    let cumulative = 0;
    RPC_BUCKETS.forEach((le, i) => {
      cumulative += this.buckets[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { method, le: String(le) }, value: cumulative });
    });
    out.push({ metricName: `${name}_bucket`, labels: { method, le: '+Inf' }, value: this.count });
    out.push({ metricName: `${name}_sum`, labels: { method }, value: this.sum });
    out.push({ metricName: `${name}_count`, labels: { method }, value: this.count });
    return out;
  }
}

/**
 * A counter by two labels kept in plain numbers (as MethodStats: no label hashing per call), turned
 * into Prometheus series at scrape time.
 */
export class PairCounts<A extends string, B extends string> {
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(private readonly labels: readonly [A, B]) {}

  inc(a: string, b: string): void {
    let m = this.counts.get(a);
    if (!m) this.counts.set(a, (m = new Map()));
    m.set(b, (m.get(b) ?? 0) + 1);
  }

  /** @internal The counter's series. */
  values(): prom.MetricValue<string>[] {
    const [la, lb] = this.labels;
    return [...this.counts].flatMap(([a, m]) => [...m].map(([b, value]) => ({ labels: { [la]: a, [lb]: b }, value })));
  }
}

/** The NameServer's metrics. */
export class Metrics {
  readonly core = new prom.Registry();
  private readonly methods = new Map<string, MethodStats>();
  /** RocketMQ remoting requests answered, by request name and response code name. */
  readonly remotingRequests = new PairCounts(['request', 'response'] as const);
  readonly pushes: prom.Counter;
  readonly coalesced: prom.Counter;
  readonly watchersEnded: prom.Counter<'reason'>;
  readonly reportTopics: prom.Histogram<'kind'>;

  constructor(src: MetricSources) {
    const r = this.core;
    prom.collectDefaultMetrics({ register: r, prefix: 'nameserver_' });
    const gauge = (name: string, help: string, read: () => number) =>
      new prom.Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    new prom.Gauge({
      name: 'nameserver_brokers',
      help: 'Registered brokers by session kind (stream: Connect; lease: unary with heartbeats).',
      labelNames: ['session_kind'],
      registers: [r],
      collect() {
        let stream = 0;
        let lease = 0;
        for (const b of src.core.brokers.all()) b.sessionKind === 'stream' ? stream++ : lease++;
        this.set({ session_kind: 'stream' }, stream);
        this.set({ session_kind: 'lease' }, lease);
      },
    });
    gauge('nameserver_broker_sessions', 'Open broker Connect sessions.', src.sessions);
    gauge('nameserver_topics', 'Topics with a route.', () => src.core.routes.size);
    gauge('nameserver_topic_broker_entries', 'Topic-on-broker entries reported.', () => src.core.topics.entryCount());
    gauge('nameserver_groups', 'Distinct consumer groups.', () => src.core.groups.size);
    gauge('nameserver_instances', 'Distinct client instances reported by brokers.', () => src.core.instances.stats().instances);
    gauge('nameserver_watch_streams', 'Open WatchRoutes streams.', src.watchStreams);
    gauge('nameserver_watch_subscriptions', 'Topics followed over all WatchRoutes streams.', src.watchSubscriptions);
    gauge('nameserver_cluster_watchers', 'Open WatchCluster streams.', src.clusterWatchers);
    gauge('nameserver_open_streams', 'Open server streams of every kind.', src.openStreams);
    gauge('nameserver_pending_commands', 'Admin write commands waiting for a broker result.', src.pendingCommands);
    gauge('nameserver_pending_chunked_reports', 'Chunked registrations partly received.', () => src.core.pendingChunkedReports);
    gauge('nameserver_pending_chunk_bytes', 'Bytes held by partly received chunked registrations (as counted against --max-pending-chunk-bytes).', () => src.core.pendingChunkBytes);
    gauge('nameserver_warming_up', '1 while this replica is warming up.', () => (src.warmup.active ? 1 : 0));
    const custom = (name: string, help: string, type: 'counter' | 'histogram', values: () => prom.MetricValue<string>[]) =>
      r.registerMetric({ name, get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }) } as unknown as prom.Metric);
    custom('nameserver_rpc_total', 'RPCs by method and status code.', 'counter', () =>
      [...this.methods].flatMap(([m, s]) => s.counterValues(m)),
    );
    custom('nameserver_rpc_duration_seconds', 'Unary RPC latency by method.', 'histogram', () =>
      [...this.methods].flatMap(([m, s]) => s.histogramValues(m, 'nameserver_rpc_duration_seconds')),
    );
    custom('nameserver_remoting_requests_total', 'RocketMQ remoting requests answered, by request and response code.', 'counter', () => this.remotingRequests.values());
    gauge('nameserver_remoting_connections', 'Open RocketMQ remoting connections.', src.remotingConnections);
    this.pushes = new prom.Counter({ name: 'nameserver_watch_messages_total', help: 'Messages written to watch streams.', registers: [r] });
    this.coalesced = new prom.Counter({ name: 'nameserver_watch_coalesced_total', help: 'Route changes absorbed by a change already pending for the same subscriber and topic.', registers: [r] });
    this.watchersEnded = new prom.Counter({ name: 'nameserver_watchers_ended_total', help: 'Watch streams the server ended, by reason.', labelNames: ['reason'], registers: [r] });
    this.reportTopics = new prom.Histogram({
      name: 'nameserver_report_topics',
      help: 'Topics per broker report (full registration or delta).',
      labelNames: ['kind'],
      buckets: [1, 10, 100, 1_000, 10_000, 100_000],
      registers: [r],
    });
  }

  /** The stats of one RPC method (created on first use; callers keep the object). */
  rpc(method: string): MethodStats {
    let s = this.methods.get(method);
    if (!s) this.methods.set(method, (s = new MethodStats()));
    return s;
  }

  /** The text exposition. */
  text(): Promise<string> {
    return this.core.metrics();
  }
}
