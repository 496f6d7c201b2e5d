/** GroupManager: consumer group configs aggregated from every broker that reports them. */
import { GroupConfig } from '../../../generated/nameserver/v1/common';
import { PerBrokerIndex } from './per-broker-index';
import { sameStringMap } from './equality';

/** Whether two reports of a group are the same configuration. */
export function sameGroupConfig(a: GroupConfig, b: GroupConfig): boolean {
  if (!sameStringMap(a.attributes, b.attributes)) return false;
  // Groups are few and small: compare the canonical encoding of everything but the attribute map
  // (whose wire order follows insertion order, so it is compared above instead).
  const strip = (g: GroupConfig) => GroupConfig.encode({ ...g, attributes: {} }).finish();
  return Buffer.from(strip(a)).equals(strip(b));
}

/** Groups per broker and brokers per group (see PerBrokerIndex). */
export class GroupManager extends PerBrokerIndex<GroupConfig> {
  constructor() {
    super(sameGroupConfig);
  }
}
