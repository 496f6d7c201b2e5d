/**
 * `npm start [-- options]`: run a NameServer. Every option has a flag and an environment variable;
 * a flag wins over the variable, which wins over the default. `--help` lists them all.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG, type Config } from './config';
import { log } from './log';
import { NameServer } from './server';
import { SERVER_VERSION } from './version';

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
  { key: 'maxQueueNums', flag: '--max-queue-nums <n>', env: 'NAMESERVER_MAX_QUEUE_NUMS', help: 'largest read/write queue count accepted' },
  { key: 'maxMessageBytes', flag: '--max-message-bytes <n>', env: 'NAMESERVER_MAX_MESSAGE_BYTES', help: 'largest gRPC message accepted' },
  { key: 'watchProgressIntervalMs', flag: '--watch-progress-interval-ms <ms>', env: 'NAMESERVER_WATCH_PROGRESS_INTERVAL_MS', help: 'keep-alive/progress message interval on watch streams' },
  { key: 'watchStallTimeoutMs', flag: '--watch-stall-timeout-ms <ms>', env: 'NAMESERVER_WATCH_STALL_TIMEOUT_MS', help: 'a watcher that reads nothing for this long is ended (RESOURCE_EXHAUSTED)' },
  { key: 'maxSubscriptionsPerStream', flag: '--max-subscriptions-per-stream <n>', env: 'NAMESERVER_MAX_SUBSCRIPTIONS_PER_STREAM', help: 'most topics one WatchRoutes stream may follow' },
  { key: 'commandTimeoutMs', flag: '--command-timeout-ms <ms>', env: 'NAMESERVER_COMMAND_TIMEOUT_MS', help: 'longest an Admin write waits for the brokers\' results' },
  { key: 'brokerToken', flag: '--broker-token <token>', env: 'NAMESERVER_BROKER_TOKEN', help: 'bearer token required on BrokerRegistry (empty: none)' },
  { key: 'adminToken', flag: '--admin-token <token>', env: 'NAMESERVER_ADMIN_TOKEN', help: 'bearer token required on Admin (empty: none, and writes only from loopback)' },
  { key: 'clientToken', flag: '--client-token <token>', env: 'NAMESERVER_CLIENT_TOKEN', help: 'bearer token required on RouteQuery (empty: none)' },
  { key: 'httpListen', flag: '--http-listen <host:port>', env: 'NAMESERVER_HTTP_LISTEN', help: 'operations HTTP server: /metrics (Prometheus), /readyz (empty: off)' },
  { key: 'peers', flag: '--peers <host:port,...>', env: 'NAMESERVER_PEERS', help: 'other replicas CheckReplicas compares with by default' },
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

/** Parse argv (and the environment) into a Config; exits with a message on a bad value. */
export function parseConfig(argv: string[]): Config {
  const program = new Command('nameserver')
    .description('NameServer for a distributed message queue (gRPC: BrokerRegistry, RouteQuery, Admin)')
    .version(SERVER_VERSION)
    .showHelpAfterError();
  for (const s of SPECS) {
    const o = new Option(s.flag, s.help).env(s.env).default(DEFAULT_CONFIG[s.key]);
    const isAddress = s.key === 'listen' || s.key === 'httpListen';
    if (typeof DEFAULT_CONFIG[s.key] === 'number' || isAddress) {
      const parse: (v: string) => string | number = isAddress ? (v) => (v === '' && s.key === 'httpListen' ? v : parseListen(v)) : parseNonNegativeInt(s.flag.split(' ')[0]!);
      o.argParser(parse);
    }
    program.addOption(o);
  }
  program.parse(argv);
  return { ...DEFAULT_CONFIG, ...program.opts<Config>() };
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv);
  const server = new NameServer(config);
  try {
    await server.start();
  } catch (err) {
    log.fatal({ err, listen: config.listen }, 'cannot listen');
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

if (require.main === module) void main();
