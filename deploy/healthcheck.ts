/**
 * Container health check over the standard gRPC health protocol (grpc.health.v1.Health/Check):
 * exit 0 when the NameServer answers SERVING, 1 otherwise (NOT_SERVING while warming up or stopping,
 * unreachable, deadline exceeded, TLS failure). Docker's HEALTHCHECK runs it; Kubernetes uses its own
 * native gRPC probe instead (deploy/kubernetes/nameserver.yaml), which asks the same question.
 *
 *   node dist/deploy/healthcheck.js [HOST:PORT] [--service NAME] [--timeout-ms MS] [--tls-ca FILE ...]
 *
 * The address is, first found: the argument, NAMESERVER_HEALTHCHECK_ADDRESS, the port of
 * NAMESERVER_LISTEN on loopback (so a container that moves the server with that variable needs no
 * second setting), 127.0.0.1:9876. Exit 2 is reserved by Docker, so bad usage exits 1 too.
 */
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { service as healthService } from 'grpc-health-check';
import { clientCredentials } from '../src/shared/tls';

/** The address probed when nothing says otherwise. */
export const DEFAULT_HEALTH_ADDRESS = '127.0.0.1:9876';

/** What one check needs. */
export interface HealthCheckOptions {
  /** host:port of the NameServer. */
  address: string;
  /** Health service name; "" is the whole server. */
  service: string;
  /** Deadline of the Check call, in milliseconds. */
  timeoutMs: number;
  /** PEM CA bundle that signed the server's certificate: set means TLS. */
  tlsCaFile?: string;
  /** PEM client certificate and key, for a server that requires mutual TLS. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Name to verify in the server certificate when it does not name the address probed. */
  tlsServerName?: string;
}

/** The outcome: `serving` decides the exit code, `detail` is printed (Docker keeps it in its health log). */
export interface HealthCheckResult {
  serving: boolean;
  detail: string;
}

/**
 * The loopback address of a listen address: a wildcard host (0.0.0.0, [::], empty) is probed on
 * 127.0.0.1 or [::1]; a concrete host is probed as is.
 */
export function probeAddressOf(listen: string): string {
  const i = listen.lastIndexOf(':');
  if (i < 0) throw new Error(`not host:port: ${JSON.stringify(listen)}`);
  const host = listen.slice(0, i);
  const port = listen.slice(i + 1);
  if (host === '' || host === '0.0.0.0') return `127.0.0.1:${port}`;
  if (host === '[::]') return `[::1]:${port}`;
  return listen;
}

/** The address to probe from the environment (see the module comment for the order). */
export function defaultHealthAddress(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NAMESERVER_HEALTHCHECK_ADDRESS) return env.NAMESERVER_HEALTHCHECK_ADDRESS;
  if (env.NAMESERVER_LISTEN) return probeAddressOf(env.NAMESERVER_LISTEN);
  return DEFAULT_HEALTH_ADDRESS;
}

function credentials(o: HealthCheckOptions): grpc.ChannelCredentials {
  if (!o.tlsCaFile) return grpc.credentials.createInsecure();
  return clientCredentials({ ca: o.tlsCaFile, cert: o.tlsCertFile, key: o.tlsKeyFile });
}

type CheckFn = (
  req: { service: string },
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
) => void;

/** One Health/Check call. Never rejects: every failure is a result with `serving: false`. */
export async function checkHealth(o: HealthCheckOptions): Promise<HealthCheckResult> {
  let client: grpc.Client | undefined;
  try {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const channelOptions: grpc.ChannelOptions = o.tlsServerName ? { 'grpc.ssl_target_name_override': o.tlsServerName } : {};
    client = new Health(o.address, credentials(o), channelOptions);
    const check = (client as unknown as { check: CheckFn }).check.bind(client);
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      check({ service: o.service }, new grpc.Metadata(), { deadline: Date.now() + o.timeoutMs }, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    // grpc-health-check's definition decodes enums as their names.
    return { serving: res.status === 'SERVING', detail: `${o.address} ${res.status}` };
  } catch (err) {
    const e = err as Partial<grpc.ServiceError> & Error;
    const code = typeof e.code === 'number' ? grpc.status[e.code] : 'ERROR';
    return { serving: false, detail: `${o.address} ${code}: ${e.details ?? e.message}` };
  } finally {
    client?.close();
  }
}

/** Parse argv (and the environment) into options; a flag wins over its variable. Throws on bad usage. */
export function parseHealthCheckArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): HealthCheckOptions {
  const program = new Command('healthcheck')
    .description('exit 0 if the NameServer answers SERVING to grpc.health.v1.Health/Check, 1 otherwise')
    .argument('[address]', 'host:port to probe (env NAMESERVER_HEALTHCHECK_ADDRESS, else the port of NAMESERVER_LISTEN on loopback, else 127.0.0.1:9876)')
    .option('--service <name>', 'health service name ("" = the whole server)', '')
    .option('--timeout-ms <ms>', 'deadline of the call (env NAMESERVER_HEALTHCHECK_TIMEOUT_MS)')
    .option('--tls-ca <file>', 'PEM CA of the server certificate: probe over TLS (env NAMESERVER_HEALTHCHECK_TLS_CA)')
    .option('--tls-cert <file>', 'PEM client certificate, for mutual TLS (env NAMESERVER_HEALTHCHECK_TLS_CERT)')
    .option('--tls-key <file>', 'PEM key of --tls-cert (env NAMESERVER_HEALTHCHECK_TLS_KEY)')
    .option('--tls-server-name <name>', 'name to verify in the server certificate (env NAMESERVER_HEALTHCHECK_TLS_SERVER_NAME)')
    .exitOverride();
  program.parse(argv);
  const o = program.opts<{ service: string; timeoutMs?: string; tlsCa?: string; tlsCert?: string; tlsKey?: string; tlsServerName?: string }>();
  // Variables are read here rather than with commander's .env(), so tests can pass their own env.
  const timeout = o.timeoutMs ?? env.NAMESERVER_HEALTHCHECK_TIMEOUT_MS ?? '2000';
  if (!/^\d+$/.test(timeout) || Number(timeout) === 0) throw new Error(`--timeout-ms must be a whole number > 0, got ${JSON.stringify(timeout)}`);
  const tlsCaFile = o.tlsCa ?? (env.NAMESERVER_HEALTHCHECK_TLS_CA || undefined);
  const tlsCertFile = o.tlsCert ?? (env.NAMESERVER_HEALTHCHECK_TLS_CERT || undefined);
  const tlsKeyFile = o.tlsKey ?? (env.NAMESERVER_HEALTHCHECK_TLS_KEY || undefined);
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) throw new Error('--tls-cert and --tls-key go together');
  if (tlsCertFile && !tlsCaFile) throw new Error('--tls-cert needs --tls-ca');
  return {
    address: program.args[0] ?? defaultHealthAddress(env),
    service: o.service,
    timeoutMs: Number(timeout),
    tlsCaFile,
    tlsCertFile,
    tlsKeyFile,
    tlsServerName: o.tlsServerName ?? (env.NAMESERVER_HEALTHCHECK_TLS_SERVER_NAME || undefined),
  };
}

async function main(): Promise<void> {
  let options: HealthCheckOptions;
  try {
    options = parseHealthCheckArgs(process.argv);
  } catch (err) {
    // commander already printed its own message (and help/version exit 0 through here too).
    const e = err as { code?: string; exitCode?: number; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    if (!e.code?.startsWith('commander.')) process.stderr.write(`healthcheck: ${e.message}\n`);
    process.exit(1);
  }
  const result = await checkHealth(options);
  process.stdout.write(`${result.detail}\n`);
  process.exit(result.serving ? 0 : 1);
}

if (require.main === module) void main();
