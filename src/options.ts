/**
 * Command-line options, environment variables and the optional config file, turned into a Config.
 * Precedence, highest first: flag, environment variable, config file (`--config FILE`, YAML or JSON,
 * keys are the flag names without dashes, e.g. `lease-ttl-ms: 30000`), default. Every value is
 * validated before the server starts; a bad one stops the start with a message naming it.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import YAML from 'yaml';
import { DEFAULT_CONFIG, type Config } from './config';
import { SERVER_VERSION } from './version';

/** A configuration problem, worded for the operator. */
export class ConfigError extends Error {}

/** One option: its Config field, flag, environment variable and help text. */
interface Spec {
  key: keyof Config;
  flag: string;
  env: string;
  help: string;
}

const SPECS: Spec[] = [
  { key: 'listen', flag: '--listen <host:port>', env: 'NAMESERVER_LISTEN', help: 'address to listen on (loopback by default; another address is an explicit choice)' },
  { key: 'warmupMs', flag: '--warmup-ms <ms>', env: 'NAMESERVER_WARMUP_MS', help: 'after start, NOT_SERVING and UNAVAILABLE for unknown topics for this long' },
  { key: 'leaseTtlMs', flag: '--lease-ttl-ms <ms>', env: 'NAMESERVER_LEASE_TTL_MS', help: 'lease of unary brokers that ask for none' },
  { key: 'minLeaseTtlMs', flag: '--min-lease-ttl-ms <ms>', env: 'NAMESERVER_MIN_LEASE_TTL_MS', help: 'smallest lease a broker may ask for' },
  { key: 'maxLeaseTtlMs', flag: '--max-lease-ttl-ms <ms>', env: 'NAMESERVER_MAX_LEASE_TTL_MS', help: 'largest lease a broker may ask for' },
  { key: 'heartbeatIntervalMs', flag: '--heartbeat-interval-ms <ms>', env: 'NAMESERVER_HEARTBEAT_INTERVAL_MS', help: 'heartbeat interval advertised to unary brokers' },
  { key: 'streamGraceMs', flag: '--stream-grace-ms <ms>', env: 'NAMESERVER_STREAM_GRACE_MS', help: 'a Connect broker is removed this long after its stream ends' },
  { key: 'keepaliveTimeMs', flag: '--keepalive-time-ms <ms>', env: 'NAMESERVER_KEEPALIVE_TIME_MS', help: 'HTTP/2 keep-alive ping interval (finds hung brokers)' },
  { key: 'keepaliveTimeoutMs', flag: '--keepalive-timeout-ms <ms>', env: 'NAMESERVER_KEEPALIVE_TIMEOUT_MS', help: 'unanswered keep-alive ping closes the connection after this long' },
  { key: 'chunkTimeoutMs', flag: '--chunk-timeout-ms <ms>', env: 'NAMESERVER_CHUNK_TIMEOUT_MS', help: 'a partly received chunked registration is dropped after this long' },
  { key: 'maxPendingChunkBytes', flag: '--max-pending-chunk-bytes <n>', env: 'NAMESERVER_MAX_PENDING_CHUNK_BYTES', help: 'bytes of all partly received chunked registrations; when full, the heaviest sender\'s are evicted first' },
  { key: 'maxPendingChunkBytesPerBroker', flag: '--max-pending-chunk-bytes-per-broker <n>', env: 'NAMESERVER_MAX_PENDING_CHUNK_BYTES_PER_BROKER', help: 'bytes of one broker\'s partly received chunked registration' },
  { key: 'maxPendingChunkBytesPerConnection', flag: '--max-pending-chunk-bytes-per-connection <n>', env: 'NAMESERVER_MAX_PENDING_CHUNK_BYTES_PER_CONNECTION', help: 'bytes of partly received chunked registrations from one client connection' },
  { key: 'maxQueueNums', flag: '--max-queue-nums <n>', env: 'NAMESERVER_MAX_QUEUE_NUMS', help: 'largest read/write queue count accepted' },
  { key: 'maxMessageBytes', flag: '--max-message-bytes <n>', env: 'NAMESERVER_MAX_MESSAGE_BYTES', help: 'largest gRPC message accepted' },
  { key: 'watchProgressIntervalMs', flag: '--watch-progress-interval-ms <ms>', env: 'NAMESERVER_WATCH_PROGRESS_INTERVAL_MS', help: 'keep-alive/progress message interval on watch streams' },
  { key: 'watchStallTimeoutMs', flag: '--watch-stall-timeout-ms <ms>', env: 'NAMESERVER_WATCH_STALL_TIMEOUT_MS', help: 'a watcher that reads nothing for this long is ended (RESOURCE_EXHAUSTED)' },
  { key: 'maxSubscriptionsPerStream', flag: '--max-subscriptions-per-stream <n>', env: 'NAMESERVER_MAX_SUBSCRIPTIONS_PER_STREAM', help: 'most topics one WatchRoutes stream may follow' },
  { key: 'maxSubscriptionsPerConnection', flag: '--max-subscriptions-per-connection <n>', env: 'NAMESERVER_MAX_SUBSCRIPTIONS_PER_CONNECTION', help: 'most topics followed over all WatchRoutes streams of one client connection (all-topics counts as one)' },
  { key: 'maxSubscriptions', flag: '--max-subscriptions <n>', env: 'NAMESERVER_MAX_SUBSCRIPTIONS', help: 'most topics followed over all WatchRoutes streams (more: RESOURCE_EXHAUSTED)' },
  { key: 'maxStreams', flag: '--max-streams <n>', env: 'NAMESERVER_MAX_STREAMS', help: 'most open server streams in total (more: RESOURCE_EXHAUSTED)' },
  { key: 'maxStreamsPerConnection', flag: '--max-streams-per-connection <n>', env: 'NAMESERVER_MAX_STREAMS_PER_CONNECTION', help: 'most open server streams on one client connection' },
  { key: 'maxStalledStreamsPerConnection', flag: '--max-stalled-streams-per-connection <n>', env: 'NAMESERVER_MAX_STALLED_STREAMS_PER_CONNECTION', help: 'a connection on which this many streams were reset for reading nothing is closed (GOAWAY)' },
  { key: 'peerRequestsPerSecond', flag: '--peer-requests-per-second <n>', env: 'NAMESERVER_PEER_REQUESTS_PER_SECOND', help: 'requests per second allowed from one client host, burst twice that (0: unlimited)' },
  { key: 'commandTimeoutMs', flag: '--command-timeout-ms <ms>', env: 'NAMESERVER_COMMAND_TIMEOUT_MS', help: 'longest an Admin write waits for the brokers\' results' },
  { key: 'brokerToken', flag: '--broker-token <token>', env: 'NAMESERVER_BROKER_TOKEN', help: 'bearer token required on BrokerRegistry (empty: none)' },
  { key: 'adminToken', flag: '--admin-token <token>', env: 'NAMESERVER_ADMIN_TOKEN', help: 'bearer token required on Admin (empty: none, and writes only from loopback)' },
  { key: 'clientToken', flag: '--client-token <token>', env: 'NAMESERVER_CLIENT_TOKEN', help: 'bearer token required on RouteQuery (empty: none)' },
  { key: 'httpListen', flag: '--http-listen <host:port>', env: 'NAMESERVER_HTTP_LISTEN', help: 'operations HTTP server: /metrics (Prometheus), /readyz (empty: off)' },
  { key: 'console', flag: '--console', env: 'NAMESERVER_CONSOLE', help: 'serve the web console on the operations HTTP port (needs an HTTP listen address)' },
  { key: 'peers', flag: '--peers <host:port,...>', env: 'NAMESERVER_PEERS', help: 'other replicas CheckReplicas compares with by default' },
  { key: 'remotingMaxConnections', flag: '--remoting-max-connections <n>', env: 'NAMESERVER_REMOTING_MAX_CONNECTIONS', help: 'most open RocketMQ remoting connections on the listen port (0: remoting off)' },
  { key: 'remotingMaxFrameBytes', flag: '--remoting-max-frame-bytes <n>', env: 'NAMESERVER_REMOTING_MAX_FRAME_BYTES', help: 'largest RocketMQ remoting frame accepted (a larger one closes its connection)' },
  { key: 'remotingPeerRequestsPerSecond', flag: '--remoting-peer-requests-per-second <n>', env: 'NAMESERVER_REMOTING_PEER_REQUESTS_PER_SECOND', help: 'remoting requests per second allowed from one client host, burst twice that (0: unlimited)' },
  { key: 'remotingBrokerExpiryMs', flag: '--remoting-broker-expiry-ms <ms>', env: 'NAMESERVER_REMOTING_BROKER_EXPIRY_MS', help: 'a RocketMQ broker that neither re-registers nor heartbeats for this long is removed (its connection closing removes it at once)' },
  { key: 'tlsCertFile', flag: '--tls-cert <file>', env: 'NAMESERVER_TLS_CERT', help: 'PEM certificate chain: serve TLS' },
  { key: 'tlsKeyFile', flag: '--tls-key <file>', env: 'NAMESERVER_TLS_KEY', help: 'PEM private key of --tls-cert' },
  { key: 'tlsClientCaFile', flag: '--tls-client-ca <file>', env: 'NAMESERVER_TLS_CLIENT_CA', help: 'PEM CA bundle: require client certificates it signed (mutual TLS)' },
  { key: 'shutdownGraceMs', flag: '--shutdown-grace-ms <ms>', env: 'NAMESERVER_SHUTDOWN_GRACE_MS', help: 'at shutdown, open calls get this long before connections are cut' },
];

function parseNonNegativeInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

function parseListen(value: string): string {
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value) || Number(value.slice(value.lastIndexOf(':') + 1)) > 65535) {
    throw new InvalidArgumentError(`must be host:port (e.g. 127.0.0.1:9876 or [::1]:9876), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The option name of a spec, e.g. "lease-ttl-ms" (also its config-file key). */
function optionName(s: Spec): string {
  return s.flag.split(' ')[0]!.replace(/^--/, '');
}

/** The parser of one option's value (numbers and addresses are checked; other strings pass). */
function parserOf(s: Spec): ((v: string) => string | number) | undefined {
  if (s.key === 'httpListen') return (v) => (v === '' ? v : parseListen(v));
  if (s.key === 'listen') return parseListen;
  if (typeof DEFAULT_CONFIG[s.key] === 'number') return parseNonNegativeInt(`--${optionName(s)}`);
  return undefined;
}

/** Read a YAML or JSON config file into option values, validating every key and value. */
function readConfigFile(file: string): Partial<Record<keyof Config, string | number | boolean>> {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file}: must be a mapping of option names to values`);
  const byName = new Map(SPECS.map((s) => [optionName(s), s]));
  const out: Partial<Record<keyof Config, string | number | boolean>> = {};
  for (const [name, raw] of Object.entries(doc as Record<string, unknown>)) {
    const spec = byName.get(name);
    if (!spec) throw new ConfigError(`config file ${file}: unknown option "${name}" (options are the flag names: ${[...byName.keys()].join(', ')})`);
    if (typeof DEFAULT_CONFIG[spec.key] === 'boolean') {
      if (raw !== true && raw !== false) throw new ConfigError(`config file ${file}: "${name}" must be true or false`);
      (out as Record<string, unknown>)[spec.key] = raw;
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(`config file ${file}: "${name}" must be a string or a number`);
    const parse = parserOf(spec);
    try {
      out[spec.key] = parse ? parse(String(raw)) : String(raw);
    } catch (err) {
      throw new ConfigError(`config file ${file}: "${name}": ${(err as Error).message}`);
    }
  }
  return out;
}

/** Checks across options. */
function checkConsistency(c: Config): void {
  if (c.minLeaseTtlMs > c.maxLeaseTtlMs) throw new ConfigError(`--min-lease-ttl-ms (${c.minLeaseTtlMs}) exceeds --max-lease-ttl-ms (${c.maxLeaseTtlMs})`);
  if (c.leaseTtlMs < c.minLeaseTtlMs || c.leaseTtlMs > c.maxLeaseTtlMs) {
    throw new ConfigError(`--lease-ttl-ms (${c.leaseTtlMs}) must lie between --min-lease-ttl-ms and --max-lease-ttl-ms`);
  }
  if (c.console && !c.httpListen) throw new ConfigError('--console needs --http-listen (the console is served on the operations HTTP port)');
  if (c.maxQueueNums < 1) throw new ConfigError('--max-queue-nums must be at least 1');
  if (c.maxMessageBytes < 64 * 1024) throw new ConfigError('--max-message-bytes must be at least 65536');
  if (c.watchProgressIntervalMs < 100) throw new ConfigError('--watch-progress-interval-ms must be at least 100');
  if (c.maxSubscriptionsPerStream < 1) throw new ConfigError('--max-subscriptions-per-stream must be at least 1');
  if (c.maxSubscriptionsPerConnection < 1) throw new ConfigError('--max-subscriptions-per-connection must be at least 1');
  if (c.maxSubscriptions < 1) throw new ConfigError('--max-subscriptions must be at least 1');
  if (c.maxStalledStreamsPerConnection < 1) throw new ConfigError('--max-stalled-streams-per-connection must be at least 1');
  // Frames stay below 0x16000000 bytes, so a first byte of 0x16 (TLS) or 'P' (HTTP/2) is never remoting.
  if (c.remotingMaxFrameBytes < 64 * 1024 || c.remotingMaxFrameBytes > 256 * 1024 * 1024) throw new ConfigError('--remoting-max-frame-bytes must lie between 65536 and 268435456');
  if (c.remotingBrokerExpiryMs < c.minLeaseTtlMs || c.remotingBrokerExpiryMs > c.maxLeaseTtlMs) {
    throw new ConfigError(`--remoting-broker-expiry-ms (${c.remotingBrokerExpiryMs}) must lie between --min-lease-ttl-ms and --max-lease-ttl-ms`);
  }
  for (const [flag, v] of [['--max-pending-chunk-bytes', c.maxPendingChunkBytes], ['--max-pending-chunk-bytes-per-broker', c.maxPendingChunkBytesPerBroker], ['--max-pending-chunk-bytes-per-connection', c.maxPendingChunkBytesPerConnection]] as const) {
    if (v < 64 * 1024) throw new ConfigError(`${flag} must be at least 65536`);
  }
  if (Boolean(c.tlsCertFile) !== Boolean(c.tlsKeyFile)) throw new ConfigError('TLS needs both --tls-cert and --tls-key');
  if (c.tlsClientCaFile && !c.tlsCertFile) throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key');
  for (const f of ['tlsCertFile', 'tlsKeyFile', 'tlsClientCaFile'] as const) {
    if (!c[f]) continue;
    try {
      readFileSync(c[f]);
    } catch (err) {
      throw new ConfigError(`cannot read ${c[f]} (${f === 'tlsCertFile' ? '--tls-cert' : f === 'tlsKeyFile' ? '--tls-key' : '--tls-client-ca'}): ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
}

/**
 * Parse argv, the environment and the optional config file into a validated Config. Throws
 * CommanderError for flag problems and --help/--version (commander has printed the message), and
 * ConfigError for a bad config file or inconsistent values.
 */
export function parseConfig(argv: string[], opts: { output?: { writeOut(s: string): void; writeErr(s: string): void } } = {}): Config {
  const program = new Command('nameserver')
    .description('NameServer for a distributed message queue (gRPC: BrokerRegistry, RouteQuery, Admin).\n' +
      'Precedence: flag > environment variable > config file > default.')
    .version(SERVER_VERSION)
    .showHelpAfterError()
    .exitOverride();
  if (opts.output) program.configureOutput(opts.output);
  program.addOption(new Option('--config <file>', 'YAML or JSON file of options (keys are the flag names, e.g. "lease-ttl-ms: 30000")').env('NAMESERVER_CONFIG'));
  // Commander names values after the flag (--tls-cert → tlsCert); remember each option's name.
  const attribute = new Map<keyof Config, string>();
  for (const s of SPECS) {
    const o = new Option(s.flag, s.help).env(s.env).default(DEFAULT_CONFIG[s.key]);
    const parse = parserOf(s);
    if (parse) o.argParser(parse);
    program.addOption(o);
    attribute.set(s.key, o.attributeName());
  }
  program.parse(argv);
  const values = program.opts<Record<string, string | number | undefined>>();
  const fromFile = typeof values.config === 'string' ? readConfigFile(values.config) : {};
  const config = { ...DEFAULT_CONFIG } as Config;
  for (const s of SPECS) {
    const name = attribute.get(s.key)!;
    const v = program.getOptionValueSource(name) === 'default' && fromFile[s.key] !== undefined ? fromFile[s.key] : values[name];
    (config as unknown as Record<string, unknown>)[s.key] = v;
  }
  checkConsistency(config);
  return config;
}

/** The options, for documentation (flag, environment variable, default, meaning). */
export function optionTable(): { flag: string; env: string; default: string; help: string }[] {
  return SPECS.map((s) => ({ flag: s.flag, env: s.env, default: String(DEFAULT_CONFIG[s.key]), help: s.help }));
}
