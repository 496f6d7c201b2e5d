/**
 * A two-way index of named configs (topics or groups) reported per broker: name → broker → config and
 * broker → name → config. TopicManager and GroupManager are instances of it. Every write reports the
 * names whose aggregate changed into a caller-supplied set, so the route table recomputes only those.
 *
 * Layout. At 1,000 brokers × 1,000 topics the (broker, name) entries are most of the NameServer's
 * memory, so an entry is two array slots, not two Map entries (a Map entry with its share of the
 * hash table is ~30-40 bytes; an array slot is 8): each name has one Slot holding its brokers (ordered
 * by when this index first saw each broker) and their config (one shared object, or one per broker
 * when they differ), and each broker lists its slots in report order. A broker's config of a name is found by
 * binary search among the name's holders (O(log holders)).
 *
 * With `intern`, equal configs of a name are shared: a broker reporting a config equal to another
 * holder's gets that holder's object (a thousand brokers reporting the same topic configuration hold one
 * object). Sharing is by reference only, so a config lives as long as a holder keeps it.
 */
import type { BrokerKey } from './types';

/** Anything with a name. */
export interface Named {
  name: string;
}

/**
 * One name: its holders, ascending by `seq` (brokers first seen earlier first), and their configs:
 * `config` when every holder reports the same object (the usual case: one array slot per holder), else
 * `configs`, the config of each holder (same index).
 */
interface Slot<T> {
  readonly name: string;
  readonly brokers: Table<T>[];
  config: T | undefined;
  configs: T[] | undefined;
}

/** One broker's entries: its slots, in the order it reported them. */
interface Table<T> {
  readonly key: BrokerKey;
  /** Order of holders within a slot: tables created later sort later (never reused). */
  readonly seq: number;
  /** Its slots in report order; undefined where one was deleted (compacted once those are many). */
  slots: (Slot<T> | undefined)[];
  /** Slots held: `slots` without the holes. */
  live: number;
  /** Where each slot is in `slots`, for a broker with many names (else a delete scans for it). */
  index: Map<Slot<T>, number> | undefined;
}

/** Brokers with this many names keep Table.index (a delete then finds its slot in O(1), not by a scan). */
const INDEX_FROM = 2048;

/** See the module comment. `equal` decides whether a re-reported config is a change. */
export class PerBrokerIndex<T extends Named> {
  private readonly tables = new Map<BrokerKey, Table<T>>();
  private readonly slots = new Map<string, Slot<T>>();
  private sorted: string[] | undefined;
  private nextSeq = 0;
  private entries = 0;

  /**
   * `intern`: share equal configs of a name between its holders; `compact` then turns a config kept for
   * the first time into its smallest equal form (it must return an equal config).
   */
  constructor(
    private readonly equal: (a: T, b: T) => boolean,
    private readonly intern = false,
    private readonly compact: (item: T) => T = (item) => item,
  ) {}

  /** Replace everything a broker reports (a full registration). O(old + new) for this broker only (× log holders). */
  replaceBroker(key: BrokerKey, items: readonly T[], changed: Set<string>): void {
    const old = this.tables.get(key);
    const table = old ?? this.table(key);
    const next: Slot<T>[] = [];
    const kept = new Set<Slot<T>>();
    for (const item of items) {
      const slot = this.slotOf(item.name);
      // The same name twice in one report: the last config counts, as a Map would keep it.
      if (!kept.has(slot)) {
        kept.add(slot);
        next.push(slot);
      }
      if (this.put(slot, table, item)) changed.add(slot.name);
    }
    if (old) {
      for (const slot of old.slots) {
        if (slot === undefined || kept.has(slot)) continue;
        this.unlink(slot, table);
        changed.add(slot.name);
      }
    }
    setSlots(table, next.slice()); // an exact-size copy: a list grown by push keeps up to half again spare
    if (next.length === 0) this.tables.delete(key);
  }

  /** Add or change some of a broker's items (a delta). O(items × log holders). */
  upsert(key: BrokerKey, items: readonly T[], changed: Set<string>): void {
    const table = this.tables.get(key) ?? this.table(key);
    for (const item of items) {
      const slot = this.slotOf(item.name);
      const before = this.entries;
      if (this.put(slot, table, item)) changed.add(slot.name);
      if (this.entries > before) append(table, slot);
    }
    if (table.live === 0) this.tables.delete(key);
  }

  /** Remove some of a broker's items by name (a delta). O(names × log holders). */
  delete(key: BrokerKey, names: readonly string[], changed: Set<string>): void {
    const table = this.tables.get(key);
    if (!table) return;
    for (const name of names) {
      const slot = this.slots.get(name);
      if (slot === undefined || !this.unlink(slot, table)) continue;
      remove(table, slot);
      changed.add(name);
    }
    if (table.live === 0) this.tables.delete(key);
  }

  /** Forget a broker entirely. O(its items × log holders). */
  removeBroker(key: BrokerKey, changed: Set<string>): void {
    const table = this.tables.get(key);
    if (!table) return;
    for (const slot of table.slots) {
      if (slot === undefined) continue;
      this.unlink(slot, table);
      changed.add(slot.name);
    }
    setSlots(table, []);
    this.tables.delete(key);
  }

  /** Names a broker reports (a snapshot, in report order). */
  namesOf(key: BrokerKey): IterableIterator<string> {
    const names: string[] = [];
    for (const s of this.tables.get(key)?.slots ?? []) if (s !== undefined) names.push(s.name);
    return names.values();
  }

  /** How many items a broker reports. */
  countOf(key: BrokerKey): number {
    return this.tables.get(key)?.live ?? 0;
  }

  /** One broker's config of a name. */
  configOf(key: BrokerKey, name: string): T | undefined {
    const table = this.tables.get(key);
    const slot = this.slots.get(name);
    if (!table || !slot) return undefined;
    const i = find(slot, table.seq);
    return i >= 0 ? configAt(slot, i) : undefined;
  }

  /** Brokers reporting a name, with their configs (a read-only view; callers must not keep it). */
  holders(name: string): ReadonlyMap<BrokerKey, T> | undefined {
    const slot = this.slots.get(name);
    return slot && new HoldersView(slot, this.tables);
  }

  /** Whether any broker reports the name. */
  has(name: string): boolean {
    return this.slots.has(name);
  }

  /** Number of distinct names. */
  get size(): number {
    return this.slots.size;
  }

  /** Number of brokers with at least one entry (leak checks). */
  get brokerCount(): number {
    return this.tables.size;
  }

  /** Number of (broker, name) entries. */
  entryCount(): number {
    return this.entries;
  }

  /** All names, sorted (cached until a name appears or disappears). */
  sortedNames(): readonly string[] {
    if (!this.sorted) this.sorted = [...this.slots.keys()].sort();
    return this.sorted;
  }

  /** Distinct config objects held (shared ones count once). O(entries). */
  get distinctConfigs(): number {
    const seen = new Set<T>();
    for (const slot of this.slots.values()) {
      if (slot.configs) for (const c of slot.configs) seen.add(c);
      else seen.add(slot.config!);
    }
    return seen.size;
  }

  private table(key: BrokerKey): Table<T> {
    const t: Table<T> = { key, seq: this.nextSeq++, slots: [], live: 0, index: undefined };
    this.tables.set(key, t);
    return t;
  }

  private slotOf(name: string): Slot<T> {
    let slot = this.slots.get(name);
    if (!slot) {
      this.slots.set(name, (slot = { name, brokers: [], config: undefined, configs: undefined }));
      this.sorted = undefined;
    }
    return slot;
  }

  /**
   * Set `table`'s config of the slot's name (adding the broker as a holder when it is not one). Returns
   * whether anything changed; an equal config keeps the one held.
   */
  private put(slot: Slot<T>, table: Table<T>, item: T): boolean {
    const i = find(slot, table.seq);
    if (i >= 0) {
      if (this.equal(configAt(slot, i)!, item)) return false;
      const c = this.shared(slot, item);
      if (slot.configs) slot.configs[i] = c;
      else if (slot.brokers.length === 1) slot.config = c;
      else if (c !== slot.config) (slot.configs = slot.brokers.map(() => slot.config!))[i] = c;
      return true;
    }
    const at = ~i;
    const c = this.shared(slot, item);
    slot.brokers.splice(at, 0, table);
    if (slot.configs) slot.configs.splice(at, 0, c);
    else if (slot.brokers.length === 1) slot.config = c;
    else if (c !== slot.config) (slot.configs = slot.brokers.map(() => slot.config!))[at] = c;
    this.entries++;
    return true;
  }

  /** Remove `table` from the slot's holders (and the slot when it was the last). Returns whether it held it. */
  private unlink(slot: Slot<T>, table: Table<T>): boolean {
    const i = find(slot, table.seq);
    if (i < 0) return false;
    slot.brokers.splice(i, 1);
    if (slot.configs) {
      slot.configs.splice(i, 1);
      // Back to one shared config when the holders left all report it.
      if (slot.configs.every((c) => c === slot.configs![0])) {
        slot.config = slot.configs[0];
        slot.configs = undefined;
      }
    } else if (slot.brokers.length === 0) {
      slot.config = undefined;
    }
    this.entries--;
    if (slot.brokers.length === 0) {
      this.slots.delete(slot.name);
      this.sorted = undefined;
    }
    return true;
  }

  /** Another holder's equal config, if interning and there is one; else the item itself. */
  private shared(slot: Slot<T>, item: T): T {
    if (!this.intern) return item;
    if (!slot.configs) return slot.config !== undefined && this.equal(slot.config, item) ? slot.config : this.compact(item);
    let last: T | undefined;
    for (const c of slot.configs) {
      if (c === last) continue; // holders of one config are usually adjacent: compare each run once
      if (this.equal(c, item)) return c;
      last = c;
    }
    return this.compact(item);
  }
}

/** Set a broker's slots (no holes). */
function setSlots<T>(table: Table<T>, slots: Slot<T>[]): void {
  table.slots = slots;
  table.live = slots.length;
  table.index = slots.length >= INDEX_FROM ? new Map(slots.map((s, i) => [s, i])) : undefined;
}

/** Add a slot at the end of a broker's. */
function append<T>(table: Table<T>, slot: Slot<T>): void {
  table.index?.set(slot, table.slots.length);
  table.slots.push(slot);
  if (++table.live >= INDEX_FROM && !table.index) compact(table);
}

/** Take a slot out of a broker's (leaving a hole; compacted when the holes outnumber the slots). */
function remove<T>(table: Table<T>, slot: Slot<T>): void {
  const at = table.index ? table.index.get(slot) : table.slots.lastIndexOf(slot);
  if (at === undefined || at < 0) return;
  table.slots[at] = undefined;
  table.index?.delete(slot);
  table.live--;
  if (table.slots.length - table.live > table.live) compact(table);
}

function compact<T>(table: Table<T>): void {
  setSlots(table, table.slots.filter((s): s is Slot<T> => s !== undefined));
}

/** The config of the slot's i-th holder. */
function configAt<T>(slot: Slot<T>, i: number): T | undefined {
  return slot.configs ? slot.configs[i] : slot.config;
}

/** Index of the holder with this seq in the slot, or ~(where it would be inserted). */
function find<T>(slot: Slot<T>, seq: number): number {
  const b = slot.brokers;
  let lo = 0;
  let hi = b.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = b[mid]!.seq;
    if (s === seq) return mid;
    if (s < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return ~lo;
}

/** A name's holders as a read-only Map (broker key → config), without copying them. */
class HoldersView<T> implements ReadonlyMap<BrokerKey, T> {
  constructor(
    private readonly slot: Slot<T>,
    private readonly tables: ReadonlyMap<BrokerKey, Table<T>>,
  ) {}

  get size(): number {
    return this.slot.brokers.length;
  }

  get(key: BrokerKey): T | undefined {
    const i = this.indexOf(key);
    return i >= 0 ? configAt(this.slot, i) : undefined;
  }

  has(key: BrokerKey): boolean {
    return this.indexOf(key) >= 0;
  }

  private indexOf(key: BrokerKey): number {
    const t = this.tables.get(key);
    return t ? find(this.slot, t.seq) : -1;
  }

  *entries(): MapIterator<[BrokerKey, T]> {
    const { brokers } = this.slot;
    for (let i = 0; i < brokers.length; i++) yield [brokers[i]!.key, configAt(this.slot, i)!];
  }

  *keys(): MapIterator<BrokerKey> {
    for (const t of this.slot.brokers) yield t.key;
  }

  *values(): MapIterator<T> {
    for (let i = 0; i < this.slot.brokers.length; i++) yield configAt(this.slot, i)!;
  }

  [Symbol.iterator](): MapIterator<[BrokerKey, T]> {
    return this.entries();
  }

  forEach(fn: (value: T, key: BrokerKey, map: ReadonlyMap<BrokerKey, T>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

/** What callers outside the metadata module may use of a topic or group index: reads only. */
export type IndexReader<T extends Named> = Pick<PerBrokerIndex<T>, 'namesOf' | 'countOf' | 'configOf' | 'holders' | 'has' | 'size' | 'brokerCount' | 'entryCount' | 'sortedNames' | 'distinctConfigs'>;
