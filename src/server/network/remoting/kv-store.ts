/**
 * RocketMQ's KV config (PUT/GET/DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE), held in memory only: the
 * NameServer persists nothing, so entries are lost when this replica restarts and are not shared with
 * other replicas (write them to every replica, as mqadmin's updateKvConfig does). Bounded in entries
 * and bytes so a client cannot grow it without limit.
 */
import { LimitExceeded } from '../../metadata/errors';

/** Limits of the store. */
export interface KvLimits {
  maxEntries: number;
  /** Longest namespace, key or value, in characters. */
  maxChars: number;
}

/** See the module comment. */
export class KvStore {
  private readonly spaces = new Map<string, Map<string, string>>();
  private entries = 0;
  private rev = 0;

  constructor(private readonly limits: KvLimits = { maxEntries: 10_000, maxChars: 65_536 }) {}

  /** Moves on every change (answers that include KV entries may be cached under it). */
  get revision(): number {
    return this.rev;
  }

  /** Set a value. Throws LimitExceeded. */
  put(namespace: string, key: string, value: string): void {
    for (const [what, s] of [['namespace', namespace], ['key', key], ['value', value]] as const) {
      if (s.length > this.limits.maxChars) throw new LimitExceeded(`KV ${what} longer than ${this.limits.maxChars} characters`);
    }
    let space = this.spaces.get(namespace);
    if (!space?.has(key) && this.entries >= this.limits.maxEntries) {
      throw new LimitExceeded(`the KV config holds at most ${this.limits.maxEntries} entries`);
    }
    if (!space) this.spaces.set(namespace, (space = new Map()));
    if (!space.has(key)) this.entries++;
    space.set(key, value);
    this.rev++;
  }

  /** A value, or undefined. */
  get(namespace: string, key: string): string | undefined {
    return this.spaces.get(namespace)?.get(key);
  }

  /** Remove a value (absent is fine). */
  delete(namespace: string, key: string): void {
    const space = this.spaces.get(namespace);
    if (!space?.delete(key)) return;
    this.entries--;
    this.rev++;
    if (space.size === 0) this.spaces.delete(namespace);
  }

  /** Every entry of a namespace, or undefined when it has none. */
  list(namespace: string): Record<string, string> | undefined {
    const space = this.spaces.get(namespace);
    return space ? Object.fromEntries(space) : undefined;
  }
}
