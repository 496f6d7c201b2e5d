/**
 * A two-way index of named configs (topics or groups) reported per broker: name → broker → config and
 * broker → name → config. TopicManager and GroupManager are instances of it. Every write reports the
 * names whose aggregate changed into a caller-supplied set, so the route table recomputes only those.
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

  constructor(private readonly equal: (a: T, b: T) => boolean) {}

  /** Replace everything a broker reports (a full registration). O(old + new) for this broker only. */
  replaceBroker(key: BrokerKey, items: readonly T[], changed: Set<string>): void {
    const old = this.byBroker.get(key);
    const next = new Map<string, T>();
    for (const item of items) {
      next.set(item.name, item);
      const prev = old?.get(item.name);
      if (prev === undefined || !this.equal(prev, item)) {
        this.link(key, item);
        changed.add(item.name);
      }
    }
    if (old) {
      for (const name of old.keys()) {
        if (!next.has(name)) {
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
      mine.set(item.name, item);
      this.link(key, item);
      changed.add(item.name);
    }
  }

  /** Remove some of a broker's items by name (a delta). O(names). */
  delete(key: BrokerKey, names: readonly string[], changed: Set<string>): void {
    const mine = this.byBroker.get(key);
    if (!mine) return;
    for (const name of names) {
      if (!mine.delete(name)) continue;
      this.unlink(key, name);
      changed.add(name);
    }
    if (mine.size === 0) this.byBroker.delete(key);
  }

  /** Forget a broker entirely. O(its items). */
  removeBroker(key: BrokerKey, changed: Set<string>): void {
    const mine = this.byBroker.get(key);
    if (!mine) return;
    for (const name of mine.keys()) {
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
