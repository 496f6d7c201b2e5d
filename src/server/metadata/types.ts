/** Names used across the metadata module. */

/** `${cluster}/${brokerName}/${brokerId}`: one broker process (a replica of a replica set). */
export type BrokerKey = string;
/** `${cluster}/${brokerName}`: one replica set. */
export type ReplicaSetKey = string;
/** A topic name (validated: ^[%|a-zA-Z0-9_-]+$, ≤ 127 characters). */
export type TopicName = string;
/** A consumer group name (validated: ^[%|a-zA-Z0-9_-]+$, ≤ 120 characters). */
export type GroupName = string;

/** A broker's identity. */
export interface BrokerRef {
  readonly key: BrokerKey;
  readonly cluster: string;
  readonly brokerName: string;
  readonly brokerId: number;
}

/** The key of a broker. Names cannot contain '/', so the key is unambiguous. */
export function brokerKey(cluster: string, brokerName: string, brokerId: number): BrokerKey {
  return `${cluster}/${brokerName}/${brokerId}`;
}

/** The key of a replica set. */
export function replicaSetKey(cluster: string, brokerName: string): ReplicaSetKey {
  return `${cluster}/${brokerName}`;
}

/** A broker's identity from its three fields. */
export function brokerRef(cluster: string, brokerName: string, brokerId: number): BrokerRef {
  return { key: brokerKey(cluster, brokerName, brokerId), cluster, brokerName, brokerId };
}

/** Milliseconds since the epoch; injected so tests can drive time. */
export type Clock = () => number;
