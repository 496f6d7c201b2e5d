/**
 * Reassembles chunked registrations: a broker with 100,000 topics sends its report as several
 * RegisterBrokerRequest messages sharing one data_version, chunk_index 0..chunk_count-1. The report is
 * applied only when every chunk has arrived, so routes never show half a broker.
 *
 * Memory is bounded in bytes, whatever the senders claim:
 * - nothing is allocated from chunk_count: chunks go into a map as they arrive;
 * - pending chunks are kept encoded (their protobuf bytes), so the bytes counted are the bytes held,
 *   plus a fixed per-chunk charge for the objects around them (CHUNK_OVERHEAD_BYTES);
 * - one pending report per broker: a newer report of the broker replaces its older pending one;
 * - budgets: per broker, per connection (the peer address and port of one client connection), and in
 *   total. A chunk that would pass the broker's or its connection's budget is refused
 *   (LimitExceeded) and its broker's pending report dropped (it could never complete);
 * - fairness at the total budget: when a chunk does not fit, pending reports of the heaviest sender
 *   are evicted to make room, heaviest meaning the client host holding the most bytes, then its
 *   connection holding the most. Only when the sender itself would be the heaviest is it refused. So a
 *   flood, from one connection or many on one host, fills its own share and evicts itself; a broker on
 *   another host (or a lighter connection) always gets its turn;
 * - reports older than `timeoutMs` are dropped by a timer, so a flood's memory is returned even when
 *   nothing else arrives.
 * A later chunk of a dropped report is answered with ChunkedReportDropped naming why, so the broker
 * sends it again from chunk 0 instead of finishing a report that can no longer complete. Pending
 * reports are kept in a Map in start order, so dropping the stale ones costs O(dropped).
 */
import { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { ChunkedReportDropped, FailedPrecondition, InvalidArgument, LimitExceeded } from './errors';
import type { BrokerKey, Clock } from './types';

/**
 * Bytes charged per pending chunk on top of its encoding: the map entries, the report record and the
 * byte array's own header, a few hundred bytes at most. Charged generously, so that a flood of tiny
 * chunks reaches its budget well before the memory it really holds does.
 */
export const CHUNK_OVERHEAD_BYTES = 1024;

/** Most dropped reports remembered (to answer their later chunks); older ones are forgotten. */
const MAX_TOMBSTONES = 10_000;

/** Limits of the chunk assembler. */
export interface ChunkLimits {
  /** A report not complete this long after its first chunk is dropped. */
  timeoutMs: number;
  /** Bytes of all pending reports. */
  maxBytes: number;
  /** Bytes of one broker's pending report. */
  maxBytesPerBroker: number;
  /** Bytes of the pending chunks one client connection sent. */
  maxBytesPerConnection: number;
}

/** Who sent a chunk: one client connection ("address:port") and its host. */
export interface ChunkSource {
  connection: string;
  host: string;
}

interface HostUse {
  id: string;
  bytes: number;
  connections: Set<ConnectionUse>;
}

interface ConnectionUse {
  id: string;
  host: HostUse;
  bytes: number;
  /** Reports holding chunks this connection sent, oldest first. */
  reports: Set<Pending>;
}

interface StoredChunk {
  bytes: Uint8Array;
  charge: number;
  from: ConnectionUse;
}

interface Pending {
  key: BrokerKey;
  epoch: string;
  counter: number;
  count: number;
  chunks: Map<number, StoredChunk>;
  bytes: number;
  startedAtMs: number;
}

interface Tombstone {
  epoch: string;
  counter: number;
  reason: string;
}

/** See the module comment. */
export class ChunkAssembler {
  private readonly pending = new Map<BrokerKey, Pending>();
  private readonly hosts = new Map<string, HostUse>();
  private readonly connections = new Map<string, ConnectionUse>();
  private readonly dropped = new Map<BrokerKey, Tombstone>();
  private total = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: ChunkLimits,
    private readonly clock: Clock = () => Date.now(),
  ) {}

  /** Reports being assembled. */
  get size(): number {
    return this.pending.size;
  }

  /** Bytes charged to pending reports (encoded chunks plus the per-chunk charge). */
  get bytes(): number {
    return this.total;
  }

  /**
   * Add one chunk (already validated: chunk_count > 1, chunk_index < chunk_count). Returns the whole
   * report once complete (topics and groups of every chunk, header of the last chunk), else undefined.
   * Throws LimitExceeded when the chunk does not fit its budgets, ChunkedReportDropped for a chunk of
   * a report already dropped, FailedPrecondition for a chunk older than the report being assembled.
   */
  add(key: BrokerKey, chunk: RegisterBrokerRequest, source: ChunkSource): RegisterBrokerRequest | undefined {
    const now = this.clock();
    this.dropStale(now);
    const { epoch, counter } = chunk.dataVersion!;
    const { chunkIndex: index, chunkCount: count } = chunk;
    let p = this.pending.get(key);
    if (p && (p.epoch !== epoch || p.counter !== counter || p.count !== count)) {
      if (p.epoch === epoch && counter < p.counter) {
        throw new FailedPrecondition(`chunk of data version ${epoch}/${counter} is older than the report being assembled (${p.counter}); ignored`);
      }
      this.drop(p, undefined);
      p = undefined;
    }
    if (!p) {
      const t = this.dropped.get(key);
      if (t && t.epoch === epoch && t.counter === counter && index !== 0) {
        throw new ChunkedReportDropped(key, `${epoch}/${counter}`, t.reason);
      }
      this.dropped.delete(key);
    }
    const replaced = p?.chunks.get(index);
    const received = (p?.chunks.size ?? 0) + (replaced ? 0 : 1);
    if (p && received === count) {
      // The last missing chunk: nothing more to hold.
      try {
        return merge(p, index, chunk);
      } finally {
        this.drop(p, undefined);
      }
    }
    const bytes = RegisterBrokerRequest.encode(chunk).finish();
    const charge = bytes.length + CHUNK_OVERHEAD_BYTES;
    const conn = this.connection(source);
    const brokerBytes = (p?.bytes ?? 0) - (replaced?.charge ?? 0) + charge;
    const connBytes = conn.bytes - (replaced?.from === conn ? replaced.charge : 0) + charge;
    const refuse = (message: string): never => {
      if (p) this.drop(p, message);
      else this.remember(key, epoch, counter, message);
      this.forgetIfIdle(conn);
      throw new LimitExceeded(message);
    };
    if (brokerBytes > this.limits.maxBytesPerBroker) {
      refuse(`chunked report of broker ${key} passes ${this.limits.maxBytesPerBroker} bytes pending per broker (--max-pending-chunk-bytes-per-broker)`);
    }
    if (connBytes > this.limits.maxBytesPerConnection) {
      refuse(`chunks pending from this connection pass ${this.limits.maxBytesPerConnection} bytes (--max-pending-chunk-bytes-per-connection); finish or abandon other reports first`);
    }
    if (replaced && p) this.release(p, index, replaced);
    const room = this.makeRoom(charge, conn, p);
    if (room) refuse(room);
    if (!p) {
      p = { key, epoch, counter, count, chunks: new Map(), bytes: 0, startedAtMs: now };
      this.pending.set(key, p);
      this.schedule();
    }
    p.chunks.set(index, { bytes, charge, from: conn });
    p.bytes += charge;
    conn.bytes += charge;
    conn.host.bytes += charge;
    conn.reports.add(p);
    this.total += charge;
    return undefined;
  }

  /** Forget a broker's pending report (it left, or a complete report replaced it). */
  discard(key: BrokerKey): void {
    const p = this.pending.get(key);
    if (p) this.drop(p, undefined);
    this.dropped.delete(key);
  }

  /** A complete report of this data version arrived: drop a pending report unless it is newer. */
  supersede(key: BrokerKey, epoch: string, counter: number): void {
    const p = this.pending.get(key);
    if (p && !(p.epoch === epoch && p.counter > counter)) this.drop(p, undefined);
  }

  /** Stop the expiry timer (shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Free room for `charge` bytes from `conn` within the total budget by evicting reports of heavier
   * senders. Returns why there is no room (the sender is the heaviest), or undefined.
   */
  private makeRoom(charge: number, conn: ConnectionUse, own: Pending | undefined): string | undefined {
    while (this.total + charge > this.limits.maxBytes) {
      const victim = this.heaviestOther(conn, charge);
      if (!victim) {
        return `chunked reports pending on this NameServer pass ${this.limits.maxBytes} bytes (--max-pending-chunk-bytes) and this sender holds the largest share; retry later`;
      }
      let report: Pending | undefined;
      for (const r of victim.reports) if (r !== own) { report = r; break; }
      if (!report) return `chunked reports pending on this NameServer pass ${this.limits.maxBytes} bytes (--max-pending-chunk-bytes); retry later`;
      this.drop(report, `evicted to make room for other senders' reports (--max-pending-chunk-bytes ${this.limits.maxBytes})`);
    }
    return undefined;
  }

  /**
   * The connection to evict from: of the heaviest host other than the sender's (if it outweighs the
   * sender's host once the chunk is added), else of the sender's own host, the heaviest other
   * connection (if it outweighs the sender's connection once the chunk is added). Undefined when the
   * sender would be the heaviest.
   */
  private heaviestOther(conn: ConnectionUse, charge: number): ConnectionUse | undefined {
    let host: HostUse | undefined;
    for (const h of this.hosts.values()) if (h !== conn.host && h.bytes > 0 && (!host || h.bytes > host.bytes)) host = h;
    const pick = (h: HostUse, floor: number, exclude?: ConnectionUse) => {
      let best: ConnectionUse | undefined;
      for (const c of h.connections) if (c !== exclude && c.bytes > floor && (!best || c.bytes > best.bytes)) best = c;
      return best;
    };
    if (host && host.bytes > conn.host.bytes + charge) return pick(host, 0);
    return pick(conn.host, conn.bytes + charge, conn);
  }

  private connection(source: ChunkSource): ConnectionUse {
    let c = this.connections.get(source.connection);
    if (c) return c;
    let h = this.hosts.get(source.host);
    if (!h) this.hosts.set(source.host, (h = { id: source.host, bytes: 0, connections: new Set() }));
    c = { id: source.connection, host: h, bytes: 0, reports: new Set() };
    h.connections.add(c);
    this.connections.set(source.connection, c);
    return c;
  }

  private forgetIfIdle(c: ConnectionUse): void {
    if (c.bytes > 0 || c.reports.size > 0) return;
    this.connections.delete(c.id);
    c.host.connections.delete(c);
    if (c.host.connections.size === 0) this.hosts.delete(c.host.id);
  }

  /** Un-charge one stored chunk. */
  private release(p: Pending, index: number, s: StoredChunk): void {
    p.chunks.delete(index);
    p.bytes -= s.charge;
    s.from.bytes -= s.charge;
    s.from.host.bytes -= s.charge;
    this.total -= s.charge;
  }

  /** Drop a pending report; with a reason, its later chunks are answered with it. */
  private drop(p: Pending, reason: string | undefined): void {
    if (this.pending.get(p.key) === p) this.pending.delete(p.key);
    const touched = new Set<ConnectionUse>();
    for (const [index, s] of p.chunks) {
      this.release(p, index, s);
      touched.add(s.from);
    }
    for (const c of touched) {
      c.reports.delete(p);
      this.forgetIfIdle(c);
    }
    if (reason !== undefined) this.remember(p.key, p.epoch, p.counter, reason);
  }

  private remember(key: BrokerKey, epoch: string, counter: number, reason: string): void {
    this.dropped.delete(key);
    this.dropped.set(key, { epoch, counter, reason });
    if (this.dropped.size > MAX_TOMBSTONES) this.dropped.delete(this.dropped.keys().next().value!);
  }

  private dropStale(now: number): void {
    for (const p of this.pending.values()) {
      if (now - p.startedAtMs < this.limits.timeoutMs) break;
      this.drop(p, `not complete within ${this.limits.timeoutMs} ms (--chunk-timeout-ms)`);
    }
  }

  /** Run dropStale when the oldest pending report expires. */
  private schedule(): void {
    if (this.timer || this.pending.size === 0) return;
    const oldest = this.pending.values().next().value!;
    const delay = Math.max(0, oldest.startedAtMs + this.limits.timeoutMs - this.clock());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dropStale(this.clock());
      this.schedule();
    }, delay + 1);
    this.timer.unref();
  }
}

/** The whole report: every stored chunk decoded, plus the last one (whose header wins). */
function merge(p: Pending, lastIndex: number, last: RegisterBrokerRequest): RegisterBrokerRequest {
  const topics = [];
  const groups = [];
  const seenTopics = new Set<string>();
  const seenGroups = new Set<string>();
  for (let i = 0; i < p.count; i++) {
    const c = i === lastIndex ? last : RegisterBrokerRequest.decode(p.chunks.get(i)!.bytes);
    for (const t of c.topics) {
      if (seenTopics.has(t.name)) {
        throw new InvalidArgument(`topics`, `topic ${JSON.stringify(t.name)} appears in two chunks of one report`);
      }
      seenTopics.add(t.name);
      topics.push(t);
    }
    for (const g of c.groups) {
      if (seenGroups.has(g.name)) {
        throw new InvalidArgument(`groups`, `group ${JSON.stringify(g.name)} appears in two chunks of one report`);
      }
      seenGroups.add(g.name);
      groups.push(g);
    }
  }
  return { ...last, topics, groups, chunkIndex: 0, chunkCount: 1 };
}
