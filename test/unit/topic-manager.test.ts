/** TopicManager's interning of equal configs: only equal configs may share one object. No network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TopicManager, topicConfigKey } from '../../src/server/metadata/topic-manager';
import { topic } from '../fixtures/reports';
import fc from 'fast-check';

describe('topic config interning', () => {
  // Under a key that joined entries with separator characters (key \u0000 value, entries \u0001), these
  // two maps had the same key: the second broker was handed the first broker's config.
  const joined = topic('t', { attributes: { a: 'x\u0001b\u0000y' } });
  const split = topic('t', { attributes: { a: 'x', b: 'y' } });

  test('attribute maps whose values contain separator characters get different keys', () => {
    assert.notEqual(topicConfigKey(joined), topicConfigKey(split));
    assert.equal(topicConfigKey(split), topicConfigKey(topic('t', { attributes: { b: 'y', a: 'x' } })), 'key order does not matter');
  });

  test('each broker keeps its own attributes; equal configs are still shared', () => {
    const m = new TopicManager();
    m.replaceBroker('c1/b1/0', [joined], new Set());
    m.replaceBroker('c1/b2/0', [split], new Set());
    m.replaceBroker('c1/b3/0', [topic('t', { attributes: { b: 'y', a: 'x' } })], new Set());
    const held = m.holders('t')!;
    assert.deepEqual(held.get('c1/b1/0')!.attributes, { a: 'x\u0001b\u0000y' });
    assert.deepEqual(held.get('c1/b2/0')!.attributes, { a: 'x', b: 'y' });
    assert.equal(held.get('c1/b3/0'), held.get('c1/b2/0'), 'equal configs share one object');
    assert.equal(m.distinctConfigs, 2);
  });
});

describe('topic index layout: shared configs, holders, a reference model', () => {
  test('changing one broker\'s config of a shared topic leaves the other brokers\' configs intact', () => {
    const m = new TopicManager();
    const keys = ['c1/b1/0', 'c1/b1/1', 'c1/b2/0'];
    for (const k of keys) m.replaceBroker(k, [topic('t', { readQueueNums: 8 }), topic('u')], new Set());
    assert.equal(m.configOf(keys[0]!, 't'), m.configOf(keys[2]!, 't'), 'equal configs are one object');
    assert.equal(m.distinctConfigs, 2);
    const changed = new Set<string>();
    m.upsert(keys[1]!, [topic('t', { readQueueNums: 16 })], changed);
    assert.deepEqual([...changed], ['t']);
    assert.equal(m.configOf(keys[0]!, 't')!.readQueueNums, 8);
    assert.equal(m.configOf(keys[1]!, 't')!.readQueueNums, 16);
    assert.equal(m.configOf(keys[2]!, 't')!.readQueueNums, 8);
    assert.deepEqual([...m.holders('t')!].map(([k, c]) => [k, c.readQueueNums]), [[keys[0], 8], [keys[1], 16], [keys[2], 8]]);
    assert.equal(m.distinctConfigs, 3);
    // Back to the shared config: the changed broker shares it again, and the others never moved.
    m.upsert(keys[1]!, [topic('t', { readQueueNums: 8 })], new Set());
    assert.equal(m.configOf(keys[1]!, 't'), m.configOf(keys[0]!, 't'));
    assert.equal(m.distinctConfigs, 2);
    // A broker that goes takes only its own entries.
    m.removeBroker(keys[0]!, new Set());
    assert.deepEqual([...m.holders('t')!.keys()], [keys[1], keys[2]]);
    assert.equal(m.configOf(keys[2]!, 't')!.readQueueNums, 8);
    assert.equal(m.entryCount(), 4);
  });

  test('the index answers like two maps (broker → name → config, name → broker → config) under random writes', () => {
    const brokerKeys = ['c/a/0', 'c/a/1', 'c/b/0', 'c/b/1'];
    const names = ['t0', 't1', 't2', 't3', 't4'];
    // Names are unique within one report (the validators refuse duplicates).
    const config = fc.record({ name: fc.constantFrom(...names), q: fc.constantFrom(1, 8) });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), broker: fc.constantFrom(...brokerKeys), items: fc.uniqueArray(config, { maxLength: 6, selector: (c) => c.name }) }),
      fc.record({ kind: fc.constant('upsert' as const), broker: fc.constantFrom(...brokerKeys), items: fc.uniqueArray(config, { maxLength: 3, selector: (c) => c.name }) }),
      fc.record({ kind: fc.constant('delete' as const), broker: fc.constantFrom(...brokerKeys), names: fc.array(fc.constantFrom(...names), { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('remove' as const), broker: fc.constantFrom(...brokerKeys) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const m = new TopicManager();
        const model = new Map<string, Map<string, number>>(); // broker → name → queues
        for (const o of ops) {
          const changed = new Set<string>();
          const expected = new Set<string>();
          const mine = model.get(o.broker) ?? new Map<string, number>();
          if (o.kind === 'replace' || o.kind === 'upsert') {
            const next = o.kind === 'replace' ? new Map<string, number>() : new Map(mine);
            for (const it of o.items) next.set(it.name, it.q);
            for (const [n, q] of next) if (mine.get(n) !== q) expected.add(n);
            if (o.kind === 'replace') for (const n of mine.keys()) if (!next.has(n)) expected.add(n);
            model.set(o.broker, next);
            const items = o.items.map((it) => topic(it.name, { readQueueNums: it.q, writeQueueNums: it.q }));
            if (o.kind === 'replace') m.replaceBroker(o.broker, items, changed);
            else m.upsert(o.broker, items, changed);
          } else if (o.kind === 'delete') {
            for (const n of o.names) if (mine.delete(n)) expected.add(n);
            m.delete(o.broker, o.names, changed);
          } else {
            for (const n of mine.keys()) expected.add(n);
            model.delete(o.broker);
            m.removeBroker(o.broker, changed);
          }
          for (const [k, v] of model) if (v.size === 0) model.delete(k);
          assert.deepEqual([...changed].sort(), [...expected].sort());
        }
        let entries = 0;
        for (const k of brokerKeys) {
          const mine = model.get(k) ?? new Map<string, number>();
          entries += mine.size;
          assert.equal(m.countOf(k), mine.size);
          assert.deepEqual([...m.namesOf(k)].sort(), [...mine.keys()].sort());
          for (const n of names) assert.equal(m.configOf(k, n)?.readQueueNums, mine.get(n));
        }
        assert.equal(m.entryCount(), entries);
        assert.equal(m.brokerCount, model.size);
        for (const n of names) {
          const holders = [...model].filter(([, v]) => v.has(n));
          const view = m.holders(n);
          assert.equal(m.has(n), holders.length > 0);
          if (holders.length === 0) {
            assert.equal(view, undefined);
            continue;
          }
          assert.equal(view!.size, holders.length);
          assert.deepEqual(new Map([...view!].map(([k, c]) => [k, c.readQueueNums])), new Map(holders.map(([k, v]) => [k, v.get(n)!])));
          for (const [k] of holders) assert.ok(view!.has(k));
          // Equal configs of a name are one object.
          const byQueues = new Map<number, unknown>();
          for (const c of view!.values()) {
            const prior = byQueues.get(c.readQueueNums);
            if (prior !== undefined) assert.equal(c, prior);
            byQueues.set(c.readQueueNums, c);
          }
        }
        assert.deepEqual(m.sortedNames(), names.filter((n) => model.size > 0 && [...model.values()].some((v) => v.has(n))));
      }),
      { numRuns: 300 },
    );
  });
});

describe('a broker with many names', () => {
  test('deletes, re-adds and a replace keep its names in report order, counted right (indexed positions, holes compacted)', () => {
    const m = new TopicManager();
    const key = 'c/big/0';
    const model = new Map<string, number>(); // name → queues, in report order (as a Map keeps it)
    const all = Array.from({ length: 5_000 }, (_, i) => `t-${i}`);
    m.replaceBroker(key, all.map((n) => topic(n)), new Set());
    for (const n of all) model.set(n, 8);
    m.replaceBroker('c/other/0', [topic('t-1'), topic('t-4999')], new Set());
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    for (let round = 0; round < 6_000; round++) {
      const name = all[rnd(all.length)]!;
      const changed = new Set<string>();
      if (rnd(3) === 0) {
        m.upsert(key, [topic(name, { readQueueNums: 4 })], changed);
        if (!model.has(name) || model.get(name) !== 4) assert.ok(changed.has(name));
        model.set(name, 4);
      } else {
        m.delete(key, [name], changed);
        assert.equal(changed.has(name), model.delete(name));
      }
    }
    assert.deepEqual([...m.namesOf(key)], [...model.keys()]);
    assert.equal(m.countOf(key), model.size);
    for (const n of all) assert.equal(m.configOf(key, n)?.readQueueNums, model.get(n));
    assert.equal(m.entryCount(), model.size + 2);
    // A full report replaces it all, in its order.
    const report = all.slice(0, 3_000).reverse();
    m.replaceBroker(key, report.map((n) => topic(n)), new Set());
    assert.deepEqual([...m.namesOf(key)], report);
    for (const n of report.slice(0, 100)) m.delete(key, [n], new Set());
    assert.deepEqual([...m.namesOf(key)], report.slice(100));
    m.removeBroker(key, new Set());
    assert.equal(m.countOf(key), 0);
    assert.deepEqual(m.sortedNames(), ['t-1', 't-4999']);
  });
});
