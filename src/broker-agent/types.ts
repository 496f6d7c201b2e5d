/** Public types of the broker agent: its options, the command handler a broker implements, events. */
import type * as grpc from '@grpc/grpc-js';
import type { Command } from '../../generated/nameserver/v1/broker_registry';
import type {
  ClientInstance,
  CommandOutcome,
  ConsumerPosition,
  GroupConfig,
  Permission,
  QueuePosition,
  TopicConfig,
} from '../../generated/nameserver/v1/common';
import type { BackoffOptions } from '../shared/backoff';

/** A topic name. */
export type TopicName = string;
/** A consumer group name. */
export type GroupName = string;
/** A NameServer address, "host:port" (IPv6 in brackets). */
export type NameServerAddress = string;

/** A topic as the agent accepts it: only `name` is required; missing fields take proto defaults. */
export type TopicInput = Partial<TopicConfig> & { name: TopicName };
/** A group as the agent accepts it: only `name` is required. */
export type GroupInput = Partial<GroupConfig> & { name: GroupName };

/** What a broker answers to one command. */
export interface CommandReply {
  outcome: CommandOutcome;
  /** Why it failed, or what was already there (shown to the admin). */
  message?: string;
}

/**
 * The callbacks a broker implements to apply the NameServer's commands (admin writes). Each applies
 * and persists the change, then answers; when it answers OK the agent updates its own copy of the
 * configuration and reports it to every NameServer before the result goes back. A callback that is
 * missing answers FAILED ("not supported"); one that throws answers FAILED with the error's message.
 *
 * Creates must be idempotent: creating a topic that exists with the same configuration is OK; with
 * another configuration it is ALREADY_EXISTS. Updates and deletes of something missing are NOT_FOUND.
 */
export interface CommandHandler {
  createTopic?(topic: TopicConfig): Promise<CommandReply>;
  updateTopic?(topic: TopicConfig): Promise<CommandReply>;
  deleteTopic?(name: TopicName): Promise<CommandReply>;
  createGroup?(group: GroupConfig): Promise<CommandReply>;
  updateGroup?(group: GroupConfig): Promise<CommandReply>;
  deleteGroup?(name: GroupName): Promise<CommandReply>;
  setPermission?(permission: Permission): Promise<CommandReply>;
}

/** Offsets a broker reports (a full report: it replaces what the NameServer held). */
export interface PositionsReport {
  queuePositions: QueuePosition[];
  consumerPositions: ConsumerPosition[];
}

/** Options of a BrokerAgent. Durations in milliseconds. */
export interface BrokerAgentOptions {
  /**
   * NameServer addresses: a list or one comma-separated string of "host:port". A host name expands to
   * every address it resolves to (a Kubernetes headless Service), and is re-resolved every
   * `resolveIntervalMs`.
   */
  nameservers: string | readonly string[];
  /** Cluster name. */
  cluster: string;
  /** Replica set name. */
  brokerName: string;
  /** Replica id within the replica set; 0 (the default) is the leader. */
  brokerId?: number;
  /** Addresses clients use to reach this broker ("host:port", at least one). */
  addresses: readonly string[];
  /** Availability zone (free-form). */
  zone?: string;
  /** Broker software version (free-form). */
  softwareVersion?: string;
  /** Topics the broker holds at start. A bare name gets 8 read and 8 write queues, read-write. */
  topics?: readonly (TopicName | TopicInput)[];
  /** Groups the broker holds at start. */
  groups?: readonly (GroupName | GroupInput)[];
  /** Broker-wide permission at start (default PERMISSION_READ_WRITE). */
  permission?: Permission;
  /** Applies the NameServer's commands (see CommandHandler). */
  handler?: CommandHandler;
  /** Offsets, called every `reportIntervalMs` and when a session is accepted. */
  positions?: () => PositionsReport | Promise<PositionsReport>;
  /** Connected client instances, called every `reportIntervalMs` and when a session is accepted. */
  instances?: () => ClientInstance[] | Promise<ClientInstance[]>;
  /** Interval of positions and instances reports (default 5 s). */
  reportIntervalMs?: number;
  /**
   * Interval of heartbeats on each session (default 10 s; 0 = none). The stream alone keeps the
   * session alive; heartbeats find a NameServer that lost this broker's state while the stream stayed.
   */
  heartbeatIntervalMs?: number;
  /** Interval of DNS re-resolution of `nameservers` (default 30 s; 0 = never). */
  resolveIntervalMs?: number;
  /** Topics (and groups) per registration chunk (default 5,000). */
  chunkSize?: number;
  /** Largest queue count accepted for a topic (default 1024, the NameServer's default limit). */
  maxQueueNums?: number;
  /** Reconnect back-off per session (default 100 ms doubling to 5 s, half jitter). */
  backoff?: Partial<BackoffOptions>;
  /** Deadline of the UnregisterBroker calls made by `stop()` (default 3 s). */
  stopTimeoutMs?: number;
  /** Channel credentials (default insecure: loopback and trusted networks). */
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent with every call, e.g. `authorization: Bearer <broker token>`. */
  metadata?: grpc.Metadata | (() => grpc.Metadata);
  /** Shorthand for `metadata` carrying `authorization: Bearer <token>`. */
  token?: string;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * Replaces DNS expansion of `nameservers` (custom discovery, tests). Called at start and every
   * `resolveIntervalMs`; an empty answer keeps the current sessions (a DNS hiccup must not drop them).
   */
  resolve?: () => Promise<string[]>;
}

/** How a session stands. */
export type SessionPhase = 'connecting' | 'registering' | 'ready' | 'closed';

/** Counters of one NameServer session, for tests, logs and metrics. */
export interface SessionStats {
  address: NameServerAddress;
  phase: SessionPhase;
  /** The data version counter this NameServer holds once it processed what was sent (undefined: none). */
  heldCounter: number | undefined;
  /** Streams opened. */
  connects: number;
  /** Full registrations sent (each possibly in several chunks). */
  registrations: number;
  /** Registration chunks sent. */
  chunksSent: number;
  /** Chunks of the latest registration. */
  lastChunkCount: number;
  deltasSent: number;
  heartbeatsSent: number;
  positionsSent: number;
  instancesSent: number;
  commandResultsSent: number;
  /** Full registrations the NameServer asked for (reregister_required or a failed delta/heartbeat). */
  resyncs: number;
}

/** Events of a BrokerAgent. */
export interface BrokerAgentEvents {
  /** A session's first registration was accepted (again after every reconnect). */
  registered: [address: NameServerAddress, info: { sessionId: string; serverId: string }];
  /** A session's stream ended or failed (it reconnects with back-off), or the address was dropped. */
  disconnected: [address: NameServerAddress, error: Error];
  /** A command arrived (before the handler runs). */
  command: [command: Command];
  /** The NameServer asked for a full re-register on a live session. */
  resync: [address: NameServerAddress, reason: string];
  /** A registration was refused (bad content); the session restarts with back-off. */
  rejected: [address: NameServerAddress, error: string];
  /** A positions or instances report was acknowledged. */
  reported: [address: NameServerAddress, kind: 'positions' | 'instances'];
  /** Something went wrong that the agent works around (a provider threw, a name did not resolve...). */
  warning: [error: Error];
}
