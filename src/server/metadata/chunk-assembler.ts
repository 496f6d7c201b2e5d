/**
 * Reassembles chunked registrations: a broker with 100,000 topics sends its report as several
 * RegisterBrokerRequest messages sharing one data_version, chunk_index 0..chunk_count-1. The report is
 * applied only when every chunk has arrived, so routes never show half a broker.
 *
 * Memory is bounded: one pending report per broker (a newer data version discards the older one), at
 * most `maxPending` brokers at once, and reports idle for `timeoutMs` are dropped. Pending reports are
 * kept in a Map in start order, so dropping the stale ones costs O(dropped).
 */
import type { RegisterBrokerRequest } from '../../../generated/nameserver/v1/broker_registry';
import { InvalidArgument, LimitExceeded } from './errors';
import type { BrokerKey, Clock } from './types';

interface Pending {
  epoch: string;
  counter: number;
  chunks: (RegisterBrokerRequest | undefined)[];
  received: number;
  startedAtMs: number;
}

/** See the module comment. */
export class ChunkAssembler {
  private readonly pending = new Map<BrokerKey, Pending>();

  constructor(
    private readonly timeoutMs: number,
    private readonly maxPending: number,
    private readonly clock: Clock = () => Date.now(),
  ) {}

  /** Reports being assembled. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Add one chunk (already validated: chunk_count > 1, chunk_index < chunk_count). Returns the whole
   * report once complete (topics and groups of every chunk, header of the last chunk), else undefined.
   */
  add(key: BrokerKey, chunk: RegisterBrokerRequest): RegisterBrokerRequest | undefined {
    const now = this.clock();
    this.dropStale(now);
    const { epoch, counter } = chunk.dataVersion!;
    let p = this.pending.get(key);
    if (!p || p.epoch !== epoch || p.counter !== counter || p.chunks.length !== chunk.chunkCount) {
      this.pending.delete(key);
      if (this.pending.size >= this.maxPending) {
        throw new LimitExceeded(`too many chunked registrations in progress (${this.maxPending}); retry later`);
      }
      p = { epoch, counter, chunks: new Array(chunk.chunkCount), received: 0, startedAtMs: now };
      this.pending.set(key, p);
    }
    if (p.chunks[chunk.chunkIndex] === undefined) p.received++;
    p.chunks[chunk.chunkIndex] = chunk;
    if (p.received < p.chunks.length) return undefined;
    this.pending.delete(key);
    return merge(p.chunks as RegisterBrokerRequest[], chunk);
  }

  /** Forget a broker's pending report (it left). */
  discard(key: BrokerKey): void {
    this.pending.delete(key);
  }

  private dropStale(now: number): void {
    for (const [key, p] of this.pending) {
      if (now - p.startedAtMs < this.timeoutMs) break;
      this.pending.delete(key);
    }
  }
}

function merge(chunks: RegisterBrokerRequest[], last: RegisterBrokerRequest): RegisterBrokerRequest {
  const topics = [];
  const groups = [];
  const seenTopics = new Set<string>();
  const seenGroups = new Set<string>();
  for (const c of chunks) {
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
