/**
 * NameServer settings with their defaults. `main.ts` fills them from flags and environment variables;
 * tests build them directly with `{ ...DEFAULT_CONFIG, listen: '127.0.0.1:0' }`.
 */

/** Every tunable of one NameServer process. Durations in milliseconds. */
export interface Config {
  /** host:port to listen on. Loopback by default: another address is an explicit choice. */
  listen: string;
  /** After start, how long the replica reports NOT_SERVING and answers UNAVAILABLE for unknown topics. */
  warmupMs: number;
  /** Lease granted to unary brokers when they ask for none. */
  leaseTtlMs: number;
  /** Smallest lease a broker may ask for. */
  minLeaseTtlMs: number;
  /** Largest lease a broker may ask for. */
  maxLeaseTtlMs: number;
  /** Heartbeat interval advertised to unary brokers. */
  heartbeatIntervalMs: number;
  /** How long after a Connect stream ends its broker is removed (unless it reconnects). */
  streamGraceMs: number;
  /** HTTP/2 keep-alive ping interval the server sends on idle connections (finds hung brokers). */
  keepaliveTimeMs: number;
  /** How long a keep-alive ping may stay unanswered before the connection is closed. */
  keepaliveTimeoutMs: number;
  /** How long a partially received chunked registration is kept before it is dropped. */
  chunkTimeoutMs: number;
  /** Bytes of all partly received chunked registrations together (encoded size plus a per-chunk charge). */
  maxPendingChunkBytes: number;
  /** Bytes of one broker's partly received chunked registration. */
  maxPendingChunkBytesPerBroker: number;
  /** Bytes of partly received chunked registrations sent over one client connection. */
  maxPendingChunkBytesPerConnection: number;
  /** Largest queue count accepted in a topic config. */
  maxQueueNums: number;
  /** Largest gRPC message accepted, in bytes. */
  maxMessageBytes: number;
  /** Grace for open calls at shutdown before connections are cut. */
  shutdownGraceMs: number;
  /** Interval of WatchRoutes/WatchCluster progress (keep-alive) messages. */
  watchProgressIntervalMs: number;
  /** A watch stream whose client reads nothing for this long is ended with RESOURCE_EXHAUSTED. */
  watchStallTimeoutMs: number;
  /** Most topics one WatchRoutes stream may follow. */
  maxSubscriptionsPerStream: number;
  /** Most topics followed over all WatchRoutes streams of one client connection (all-topics counts as one). */
  maxSubscriptionsPerConnection: number;
  /** Most topics followed over all WatchRoutes streams of this server. */
  maxSubscriptions: number;
  /** Most open server streams in total (watches, broker sessions, health watches). */
  maxStreams: number;
  /** Most open server streams on one client connection. */
  maxStreamsPerConnection: number;
  /** A connection on which this many streams were reset for not reading is closed (GOAWAY). */
  maxStalledStreamsPerConnection: number;
  /** Requests per second allowed from one client host (0: unlimited). */
  peerRequestsPerSecond: number;
  /** Longest an Admin write waits for brokers' results (less if the caller's deadline is sooner). */
  commandTimeoutMs: number;
  /** Bearer token brokers must present on BrokerRegistry (empty: none required). */
  brokerToken: string;
  /** Bearer token for Admin (empty: none; then Admin writes are refused from non-loopback peers). */
  adminToken: string;
  /** Bearer token clients must present on RouteQuery (empty: none required). */
  clientToken: string;
  /** host:port of the operations HTTP server (/metrics, /readyz, console); empty: off. */
  httpListen: string;
  /** Serve the web console on the operations HTTP port (needs httpListen). */
  console: boolean;
  /** Other NameServer replicas (comma-separated host:port) that CheckReplicas compares with by default. */
  peers: string;
  /** Most open RocketMQ remoting connections on the shared port (0: the remoting door is off). */
  remotingMaxConnections: number;
  /** Largest remoting frame accepted, in bytes (a larger one closes its connection). */
  remotingMaxFrameBytes: number;
  /** Remoting requests per second allowed from one client host (0: unlimited). */
  remotingPeerRequestsPerSecond: number;
  /** A RocketMQ broker that neither re-registers nor heartbeats for this long is removed (unless it sets its own timeout). */
  remotingBrokerExpiryMs: number;
  /** PEM certificate chain file: serve TLS when set (with tlsKeyFile). */
  tlsCertFile: string;
  /** PEM private key file of tlsCertFile. */
  tlsKeyFile: string;
  /** PEM CA bundle file: when set, clients must present a certificate it signed (mutual TLS). */
  tlsClientCaFile: string;
}

/** Defaults (DESIGN.md "Liveness defaults"). */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  listen: '127.0.0.1:9876',
  warmupMs: 10_000,
  leaseTtlMs: 30_000,
  minLeaseTtlMs: 1_000,
  maxLeaseTtlMs: 300_000,
  heartbeatIntervalMs: 10_000,
  streamGraceMs: 2_000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
  chunkTimeoutMs: 60_000,
  maxPendingChunkBytes: 256 * 1024 * 1024,
  maxPendingChunkBytesPerBroker: 64 * 1024 * 1024,
  maxPendingChunkBytesPerConnection: 64 * 1024 * 1024,
  maxQueueNums: 1024,
  maxMessageBytes: 16 * 1024 * 1024,
  shutdownGraceMs: 5_000,
  watchProgressIntervalMs: 10_000,
  watchStallTimeoutMs: 30_000,
  maxSubscriptionsPerStream: 100_000,
  maxSubscriptionsPerConnection: 100_000,
  maxSubscriptions: 1_000_000,
  maxStreams: 100_000,
  maxStreamsPerConnection: 10_000,
  maxStalledStreamsPerConnection: 3,
  peerRequestsPerSecond: 0,
  commandTimeoutMs: 10_000,
  brokerToken: '',
  adminToken: '',
  clientToken: '',
  httpListen: '',
  console: false,
  peers: '',
  remotingMaxConnections: 10_000,
  remotingMaxFrameBytes: 64 * 1024 * 1024,
  remotingPeerRequestsPerSecond: 0,
  remotingBrokerExpiryMs: 45_000,
  tlsCertFile: '',
  tlsKeyFile: '',
  tlsClientCaFile: '',
});
