/**
 * A two-way index of named configs (topics or groups) reported per broker: name → broker → config and
 * broker → name → config. TopicManager and GroupManager are instances of it. Every write reports the
 * names whose aggregate changed into a caller-supplied set, so the route table recomputes only those.
 *
 * With a `canonical` key function, equal configs are interned: a thousand brokers reporting the same
 * topic configuration share one object (reference-counted, released with the last holder), which at
 * 1,000 brokers × 1,000 topics is most of the memory a config would otherwise take.
 */
import type { BrokerKey } from './types';

/** Anything with a name. */
export interface Named {
  name: string;
}

/** See the module comment. `equal` decides whether a re-reported config is a change. */
export class PerBrokerIndex<T extends Named> {
  private readonly byBroker = new Map<BrokerKey, Map<string, T>>();
  private readonly byName = new Map<string, Map<BrokerKey, T>>();
  private sorted: string[] | undefined;
  private readonly pool = new Map<string, T>();
  private readonly refs = new Map<T, { key: string; count: number }>();

  constructor(
    private readonly equal: (a: T, b: T) => boolean,
    private readonly canonical?: (item: T) => string,
  ) {}

  /** Replace everything a broker reports (a full registration). O(old + new) for this broker only. */
  replaceBroker(key: BrokerKey, items: readonly T[], changed: Set<string>): void {
    const old = this.byBroker.get(key);
    const next = new Map<string, T>();
    for (const item of items) {
      const prev = old?.get(item.name);
      if (prev !== undefined && this.equal(prev, item)) {
        next.set(prev.name, prev);
        continue;
      }
      const kept = this.intern(item);
      if (prev !== undefined) this.release(prev);
      next.set(kept.name, kept);
      this.link(key, kept);
      changed.add(item.name);
    }
    if (old) {
      for (const [name, prev] of old) {
        if (!next.has(name)) {
          this.release(prev);
          this.unlink(key, name);
          changed.add(name);
        }
      }
    }
    if (next.size > 0) this.byBroker.set(key, next);
    else this.byBroker.delete(key);
  }

  /** Add or change some of a broker's items (a delta). O(items). */
  upsert(key: BrokerKey, items: readonly T[], changed: Set<string>): void {
    let mine = this.byBroker.get(key);
    if (!mine) this.byBroker.set(key, (mine = new Map()));
    for (const item of items) {
      const prev = mine.get(item.name);
      if (prev !== undefined && this.equal(prev, item)) continue;
      const kept = this.intern(item);
      if (prev !== undefined) this.release(prev);
      mine.set(kept.name, kept);
      this.link(key, kept);
      changed.add(item.name);
    }
  }

  /** Remove some of a broker's items by name (a delta). O(names). */
  delete(key: BrokerKey, names: readonly string[], changed: Set<string>): void {
    const mine = this.byBroker.get(key);
    if (!mine) return;
    for (const name of names) {
      const prev = mine.get(name);
      if (prev === undefined) continue;
      mine.delete(name);
      this.release(prev);
      this.unlink(key, name);
      changed.add(name);
    }
    if (mine.size === 0) this.byBroker.delete(key);
  }

  /** Forget a broker entirely. O(its items). */
  removeBroker(key: BrokerKey, changed: Set<string>): void {
    const mine = this.byBroker.get(key);
    if (!mine) return;
    for (const [name, prev] of mine) {
      this.release(prev);
      this.unlink(key, name);
      changed.add(name);
    }
    this.byBroker.delete(key);
  }

  /** Names a broker reports. */
  namesOf(key: BrokerKey): IterableIterator<string> {
    return (this.byBroker.get(key) ?? new Map<string, T>()).keys();
  }

  /** How many items a broker reports. */
  countOf(key: BrokerKey): number {
    return this.byBroker.get(key)?.size ?? 0;
  }

  /** One broker's config of a name. */
  configOf(key: BrokerKey, name: string): T | undefined {
    return this.byBroker.get(key)?.get(name);
  }

  /** Brokers reporting a name, with their configs (read-only view; callers must not keep it). */
  holders(name: string): ReadonlyMap<BrokerKey, T> | undefined {
    return this.byName.get(name);
  }

  /** Whether any broker reports the name. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Number of distinct names. */
  get size(): number {
    return this.byName.size;
  }

  /** Number of brokers with at least one entry (leak checks). */
  get brokerCount(): number {
    return this.byBroker.size;
  }

  /** Number of (broker, name) entries. */
  entryCount(): number {
    let n = 0;
    for (const m of this.byBroker.values()) n += m.size;
    return n;
  }

  /** All names, sorted (cached until a name appears or disappears). */
  sortedNames(): readonly string[] {
    if (!this.sorted) this.sorted = [...this.byName.keys()].sort();
    return this.sorted;
  }

  /** Distinct config objects held (interned ones count once). */
  get distinctConfigs(): number {
    return this.canonical ? this.refs.size : this.entryCount();
  }

  /** The shared copy of an equal config, counting one more holder. */
  private intern(item: T): T {
    if (!this.canonical) return item;
    const key = this.canonical(item);
    const shared = this.pool.get(key);
    if (shared !== undefined) {
      this.refs.get(shared)!.count++;
      return shared;
    }
    this.pool.set(key, item);
    this.refs.set(item, { key, count: 1 });
    return item;
  }

  /** One holder fewer; the last one frees the shared copy. */
  private release(item: T): void {
    if (!this.canonical) return;
    const r = this.refs.get(item);
    if (!r || --r.count > 0) return;
    this.refs.delete(item);
    this.pool.delete(r.key);
  }

  private link(key: BrokerKey, item: T): void {
    let holders = this.byName.get(item.name);
    if (!holders) {
      this.byName.set(item.name, (holders = new Map()));
      this.sorted = undefined;
    }
    holders.set(key, item);
  }

  private unlink(key: BrokerKey, name: string): void {
    const holders = this.byName.get(name);
    if (!holders) return;
    holders.delete(key);
    if (holders.size === 0) {
      this.byName.delete(name);
      this.sorted = undefined;
    }
  }
}

/** What callers outside the metadata module may use of a topic or group index: reads only. */
export type IndexReader<T extends Named> = Pick<PerBrokerIndex<T>, 'namesOf' | 'countOf' | 'configOf' | 'holders' | 'has' | 'size' | 'brokerCount' | 'entryCount' | 'sortedNames' | 'distinctConfigs'>;
