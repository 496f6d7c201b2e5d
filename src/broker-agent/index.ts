/**
 * The broker agent SDK: `import { BrokerAgent } from 'mq-nameserver/broker-agent'`. A broker embeds a
 * BrokerAgent to register with every NameServer replica, report changes, positions and instances, and
 * apply the admin commands the NameServers carry to it.
 */
export { BrokerAgent } from './broker-agent';
export type {
  BrokerAgentEvents,
  BrokerAgentOptions,
  CommandHandler,
  CommandReply,
  GroupInput,
  GroupName,
  NameServerAddress,
  PositionsReport,
  SessionPhase,
  SessionStats,
  TopicInput,
  TopicName,
} from './types';
export { DEFAULT_CHUNK_SIZE, DEFAULT_QUEUE_NUMS, toGroupConfig, toTopicConfig } from './local-state';
export { groupDifferences, normalisePermission, sameGroupConfig, sameTopicConfig, topicDifferences } from './config-equality';
export type { BackoffOptions } from '../shared/backoff';
export {
  ClientRole,
  CommandOutcome,
  ConsumeMode,
  FilterType,
  MessageType,
  Permission,
} from '../../generated/nameserver/v1/common';
export type {
  ClientInstance,
  ConsumerPosition,
  GroupConfig,
  QueuePosition,
  RetryPolicy,
  Subscription,
  TopicConfig,
} from '../../generated/nameserver/v1/common';
export type { Command } from '../../generated/nameserver/v1/broker_registry';
