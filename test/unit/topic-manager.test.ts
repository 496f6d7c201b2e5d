/** TopicManager's interning of equal configs: only equal configs may share one object. No network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TopicManager, topicConfigKey } from '../../src/metadata/topic-manager';
import { topic } from '../fixtures/reports';

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
