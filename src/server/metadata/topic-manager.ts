/** TopicManager: topic configs aggregated from every broker that reports them. */
import type { TopicConfig } from '../../../generated/nameserver/v1/common';
import { PerBrokerIndex } from './per-broker-index';
import { sameStringMap } from './equality';

/** Whether two reports of a topic are the same configuration. */
export function sameTopicConfig(a: TopicConfig, b: TopicConfig): boolean {
  return (
    a.name === b.name &&
    a.readQueueNums === b.readQueueNums &&
    a.writeQueueNums === b.writeQueueNums &&
    a.permission === b.permission &&
    a.messageType === b.messageType &&
    sameStringMap(a.attributes, b.attributes)
  );
}

/** A string equal for exactly the configs sameTopicConfig calls equal (attributes in key order). */
export function topicConfigKey(t: TopicConfig): string {
  const attrs = Object.keys(t.attributes).sort().map((k) => `${k}\u0000${t.attributes[k]}`).join('\u0001');
  return `${t.name}\u0002${t.readQueueNums}\u0002${t.writeQueueNums}\u0002${t.permission}\u0002${t.messageType}\u0002${attrs}`;
}

/** Topics per broker and brokers per topic (see PerBrokerIndex); equal configs are shared. */
export class TopicManager extends PerBrokerIndex<TopicConfig> {
  constructor() {
    super(sameTopicConfig, topicConfigKey);
  }
}
