/** TopicManager: topic configs aggregated from every broker that reports them. */
import type { TopicConfig } from '../../generated/nameserver/v1/common';
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

/** Topics per broker and brokers per topic (see PerBrokerIndex). */
export class TopicManager extends PerBrokerIndex<TopicConfig> {
  constructor() {
    super(sameTopicConfig);
  }
}
