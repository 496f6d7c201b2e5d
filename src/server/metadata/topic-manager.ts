/** TopicManager: topic configs aggregated from every broker that reports them. */
import type { TopicConfig } from '../../../generated/nameserver/v1/common';
import { PerBrokerIndex } from './per-broker-index';
import { sameStringMap } from './equality';

/** Whether two reports of a topic are the same configuration. */
export function identicalTopicConfig(a: TopicConfig, b: TopicConfig): boolean {
  return (
    a.name === b.name &&
    a.readQueueNums === b.readQueueNums &&
    a.writeQueueNums === b.writeQueueNums &&
    a.permission === b.permission &&
    a.messageType === b.messageType &&
    sameStringMap(a.attributes, b.attributes)
  );
}

/**
 * A string equal for exactly the configs identicalTopicConfig calls equal (a canonical key for callers
 * that need one; the index compares configs with identicalTopicConfig): the JSON of the fields and of the
 * attributes sorted by key. JSON quotes and escapes every string, so no key or value can imitate a
 * separator (attribute values may hold any character, control characters included), and two different
 * configs never share a key.
 */
export function topicConfigKey(t: TopicConfig): string {
  const attrs = Object.keys(t.attributes).sort().map((k) => [k, t.attributes[k]]);
  return JSON.stringify([t.name, t.readQueueNums, t.writeQueueNums, t.permission, t.messageType, attrs]);
}

/** The attributes of every kept topic config that has none (most): one frozen object, not one each. */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A config as kept: without attributes, it shares NO_ATTRIBUTES (configs are never modified once kept). */
function compactTopicConfig(t: TopicConfig): TopicConfig {
  if (t.attributes === NO_ATTRIBUTES) return t;
  for (const _ in t.attributes) return t;
  return { ...t, attributes: NO_ATTRIBUTES };
}

/** Topics per broker and brokers per topic (see PerBrokerIndex); equal configs are shared. */
export class TopicManager extends PerBrokerIndex<TopicConfig> {
  constructor() {
    super(identicalTopicConfig, true, compactTopicConfig);
  }
}
