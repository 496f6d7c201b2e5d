/**
 * Foundation (issue #2): what an operator sees of a NameServer before any broker logic matters —
 * reflection through an independent npm client (the real grpcurl replays the README in grpcurl.test.ts), health Check/Watch
 * and warm-up, every RPC wired (UNIMPLEMENTED only for what the contract lacks or a later issue owns),
 * graceful shutdown on SIGTERM/SIGINT, the command line and the README's configuration table, and
 * structured logs. Real servers on 127.0.0.1:0, real clients; every wait is on an event or a promise,
 * never on a sleep.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { AdminService } from '../../generated/nameserver/v1/admin';
import { BrokerRegistryService, ConnectRequest, type ConnectResponse } from '../../generated/nameserver/v1/broker_registry';
import { RouteQueryService } from '../../generated/nameserver/v1/route_query';
import { DEFAULT_CONFIG, type Config } from '../../src/server/config';
import { call, connect, exited, rejectsWith, spawnServer, startServer } from '../helpers/server';

const ROOT = path.resolve(__dirname, '..', '..');

/** Our own service names: the public contract (proto/nameserver/v1). */
const OWN_SERVICES = ['nameserver.v1.BrokerRegistry', 'nameserver.v1.RouteQuery', 'nameserver.v1.Admin'];

// ---------------------------------------------------------------------------------------------------
// Health: a client built from the health proto that grpc-health-check ships (the standard one).

type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthCheckResponse {
  status: ServingStatus;
}
interface HealthClient extends grpc.Client {
  check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: HealthCheckResponse) => void): grpc.ClientUnaryCall;
  watch(req: { service: string }): grpc.ClientReadableStream<HealthCheckResponse>;
}
type HealthClientCtor = new (address: string, creds: grpc.ChannelCredentials) => HealthClient;

const healthPkg = grpc.loadPackageDefinition(
  protoLoader.loadSync(healthProtoPath, { enums: String, defaults: true, keepCase: true }),
) as unknown as { grpc: { health: { v1: { Health: HealthClientCtor } } } };

function healthClient(address: string): HealthClient {
  return new healthPkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

function healthCheck(client: HealthClient, service = ''): Promise<ServingStatus> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
  );
}

/** Records every status a Watch stream delivers and lets a test wait for a given one. */
class WatchLog {
  readonly seen: ServingStatus[] = [];
  readonly ended: Promise<grpc.StatusObject | grpc.ServiceError>;
  private waiters: Array<{ want: ServingStatus; resolve: () => void }> = [];

  constructor(readonly stream: grpc.ClientReadableStream<HealthCheckResponse>) {
    stream.on('data', (res: HealthCheckResponse) => {
      this.seen.push(res.status);
      for (const w of this.waiters.filter((x) => x.want === res.status)) w.resolve();
      this.waiters = this.waiters.filter((x) => x.want !== res.status);
    });
    this.ended = new Promise((resolve) => {
      stream.on('error', (err: grpc.ServiceError) => resolve(err));
      stream.on('status', (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) resolve(s);
      });
    });
  }

  /** Resolves once `want` has been delivered (at any time since the watch opened). */
  sees(want: ServingStatus): Promise<void> {
    if (this.seen.includes(want)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ want, resolve }));
  }
}

// ---------------------------------------------------------------------------------------------------
// Reflection, the way grpcurl does it, with an independent client from npm.

/** grpc-js-reflection-client keeps its channel private; close it so the test process can exit. */
function closeReflection(r: GrpcReflection): void {
  (r as unknown as { client: grpc.Client }).client.close();
}

test('reflection v1: lists the three services, health and reflection itself; describes GetRoute', async (t) => {
  const s = await startServer();
  const r = new GrpcReflection(s.address, grpc.credentials.createInsecure(), {}, 'v1');
  t.after(async () => {
    closeReflection(r);
    await s.stop();
  });

  const services = await r.listServices();
  // Like Go and Java servers, reflection lists itself too (grpcurl users expect to see it).
  for (const name of [...OWN_SERVICES, 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']) {
    assert.ok(services.includes(name), `reflection lists ${name} (got ${services.join(', ')})`);
  }

  // `grpcurl describe nameserver.v1.RouteQuery.GetRoute`: the file containing the symbol, with its
  // imports, turned back into descriptors.
  const descriptor = await r.getDescriptorBySymbol('nameserver.v1.RouteQuery.GetRoute');
  const root = descriptor.getProtobufJsRoot();
  root.resolveAll();
  const getRoute = root.lookupService('nameserver.v1.RouteQuery').methods['GetRoute'];
  assert.ok(getRoute, 'RouteQuery.GetRoute is described');
  assert.equal(getRoute.resolvedRequestType?.fullName, '.nameserver.v1.GetRouteRequest');
  assert.equal(getRoute.resolvedResponseType?.fullName, '.nameserver.v1.GetRouteResponse');
  assert.ok(getRoute.resolvedRequestType?.fields['topic'], 'GetRouteRequest has a topic field');

  // `grpcurl describe nameserver.v1.RouteQuery`: every method, with the right streaming shape.
  const methods = await r.listMethods('nameserver.v1.RouteQuery');
  const byName = new Map(methods.map((m) => [m.name, m.definition]));
  assert.deepEqual([...byName.keys()].sort(), ['GetRoute', 'GetRoutes', 'WatchRoutes']);
  assert.equal(byName.get('GetRoute')!.path, '/nameserver.v1.RouteQuery/GetRoute');
  assert.equal(byName.get('WatchRoutes')!.requestStream, true);
  assert.equal(byName.get('WatchRoutes')!.responseStream, true);
});

test('reflection v1alpha (older grpcurl and tools) is served too and describes the same contract', async (t) => {
  const s = await startServer();
  const r = new GrpcReflection(s.address, grpc.credentials.createInsecure(), {}, 'v1alpha');
  t.after(async () => {
    closeReflection(r);
    await s.stop();
  });
  const services = await r.listServices();
  for (const name of [...OWN_SERVICES, 'grpc.health.v1.Health']) assert.ok(services.includes(name), `v1alpha lists ${name}`);
  const root = (await r.getDescriptorBySymbol('nameserver.v1.RouteQuery')).getProtobufJsRoot();
  root.resolveAll();
  const m = root.lookupService('nameserver.v1.RouteQuery').methods['GetRoute'];
  assert.equal(m?.resolvedRequestType?.fullName, '.nameserver.v1.GetRouteRequest');
  assert.equal(m?.resolvedResponseType?.fullName, '.nameserver.v1.GetRouteResponse');
  // grpcurl needs every file to resolve with its imports (common.proto here).
  assert.ok(root.lookupType('nameserver.v1.Route'), 'imported types (common.proto) resolve');
});

// ---------------------------------------------------------------------------------------------------
// Health and warm-up.

test('health: Check("") is SERVING with no warm-up, for every own service too; unknown service is NOT_FOUND', async (t) => {
  const s = await startServer({ warmupMs: 0 });
  const h = healthClient(s.address);
  t.after(async () => {
    h.close();
    await s.stop();
  });
  assert.equal(await healthCheck(h, ''), 'SERVING');
  for (const name of OWN_SERVICES) assert.equal(await healthCheck(h, name), 'SERVING', name);
  await rejectsWith(healthCheck(h, 'no.such.Service'), grpc.status.NOT_FOUND);
});

test('health: a warming-up replica is NOT_SERVING and answers UNAVAILABLE (not NOT_FOUND) for unseen topics', async (t) => {
  const s = await startServer({ warmupMs: 10 * 60_000 });
  const h = healthClient(s.address);
  t.after(async () => {
    h.close();
    await s.stop();
  });
  assert.equal(await healthCheck(h, ''), 'NOT_SERVING');
  const err = await rejectsWith(call(s.routes, 'getRoute', { topic: 'orders' }), grpc.status.UNAVAILABLE);
  assert.match(err.details, /warming up/);
  s.server.warmup.finish();
  assert.equal(await healthCheck(h, ''), 'SERVING');
  await rejectsWith(call(s.routes, 'getRoute', { topic: 'orders' }), grpc.status.NOT_FOUND);
});

test('health: Watch sees NOT_SERVING, then SERVING when the warm-up finishes', async (t) => {
  const s = await startServer({ warmupMs: 10 * 60_000 });
  const h = healthClient(s.address);
  const watch = new WatchLog(h.watch({ service: '' }));
  t.after(async () => {
    watch.stream.cancel();
    h.close();
    await s.stop();
  });
  await watch.sees('NOT_SERVING');
  s.server.warmup.finish();
  await watch.sees('SERVING');
  assert.deepEqual(watch.seen, ['NOT_SERVING', 'SERVING']);
});

// ---------------------------------------------------------------------------------------------------
// Every RPC of the contract is served; later work announces itself.

test('every unary RPC of the contract is wired: an empty request gets a real answer, never UNIMPLEMENTED or INTERNAL', async (t) => {
  const s = await startServer();
  const raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
  t.after(async () => {
    raw.close();
    await s.stop();
  });
  const services = { BrokerRegistry: BrokerRegistryService, RouteQuery: RouteQueryService, Admin: AdminService };
  let unaries = 0;
  for (const [service, def] of Object.entries(services)) {
    for (const [name, method] of Object.entries(def)) {
      if (method.requestStream || method.responseStream) continue; // streams have their own tests
      unaries++;
      const code = await new Promise<grpc.status>((resolve) =>
        raw.makeUnaryRequest(
          method.path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0), // every field at its default: the empty message
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (err) => resolve(err ? err.code : grpc.status.OK),
        ),
      );
      assert.ok(code !== grpc.status.UNIMPLEMENTED && code !== grpc.status.INTERNAL, `${service}/${name} answered ${grpc.status[code]}`);
    }
  }
  assert.ok(unaries >= 20, `the contract's unary RPCs were all tried (${unaries})`);
});

test('an RPC the contract does not have answers UNIMPLEMENTED', async (t) => {
  const s = await startServer();
  const raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
  t.after(async () => {
    raw.close();
    await s.stop();
  });
  const err = await new Promise<grpc.ServiceError | null>((resolve) =>
    raw.makeUnaryRequest('/nameserver.v1.Admin/NoSuchRpc', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e)),
  );
  assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
});

// ---------------------------------------------------------------------------------------------------
// Lifecycle of the real process: signals, exit codes, logs.

/** Every JSON log line the child writes to stdout from now on. */
function collectLogLines(child: ChildProcess): string[] {
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter((l) => l.length > 0));
  });
  return lines;
}

/** The README's RegisterBroker example, as the first message of a Connect session. */
const REGISTER = ConnectRequest.fromPartial({
  seq: 1,
  body: {
    $case: 'register',
    register: {
      cluster: 'c1',
      brokerName: 'b1',
      brokerId: 0,
      addresses: ['127.0.0.1:10911'],
      dataVersion: { epoch: 'e1', counter: 1 },
    },
  },
});

interface LogEntry {
  level: number;
  time: string;
  msg: string;
}

/** Every stdout line must be one JSON object with a numeric level, an ISO time and a message. */
function parseLogs(lines: string[]): LogEntry[] {
  return lines.map((line) => {
    const entry = JSON.parse(line) as Partial<LogEntry>;
    assert.equal(typeof entry.level, 'number', line);
    assert.ok(typeof entry.time === 'string' && !Number.isNaN(Date.parse(entry.time)), line);
    assert.equal(typeof entry.msg, 'string', line);
    return entry as LogEntry;
  });
}

/** Open a Connect session on `clients` and register broker c1/b1/0; resolves with the live stream. */
async function registeredSession(clients: ReturnType<typeof connect>): Promise<{
  session: grpc.ClientDuplexStream<ConnectRequest, ConnectResponse>;
  ended: Promise<grpc.ServiceError>;
}> {
  const session = clients.brokers.connect();
  const ended = new Promise<grpc.ServiceError>((resolve) => session.on('error', resolve));
  const accepted = new Promise<ConnectResponse>((resolve, reject) => {
    session.on('data', (m: ConnectResponse) => {
      if (m.body?.$case === 'accepted') resolve(m);
    });
    void ended.then((e) => reject(new Error(`Connect ended before it was accepted: ${e.details}`)));
  });
  session.write(REGISTER);
  await accepted;
  return { session, ended };
}

test('SIGTERM: health goes NOT_SERVING, open Connect and health Watch streams end UNAVAILABLE, the process exits 0 without forcing', async (t) => {
  const { child, address } = await spawnServer(['--warmup-ms', '0']);
  const logs = collectLogLines(child);
  const clients = connect(address);
  const h = healthClient(address);
  t.after(() => {
    clients.close();
    h.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  // A health watcher, as a load balancer would hold one, and a registered broker session: the
  // long-lived stream that shutdown has to end.
  const watch = new WatchLog(h.watch({ service: '' }));
  await watch.sees('SERVING');
  const { ended } = await registeredSession(clients);

  const exit = exited(child);
  child.kill('SIGTERM');

  // The watcher is told NOT_SERVING first; then both streams are ended with UNAVAILABLE (a watch
  // left open must not hold the shutdown for its whole grace).
  await watch.sees('NOT_SERVING');
  const err = await ended;
  assert.equal(err.code, grpc.status.UNAVAILABLE, `Connect ended with ${grpc.status[err.code]}: ${err.details}`);
  assert.match(err.details, /shutting down/);
  const watchEnd = await watch.ended;
  assert.equal(watchEnd.code, grpc.status.UNAVAILABLE, `the health watch ended with ${grpc.status[watchEnd.code]}: ${watchEnd.details}`);
  assert.deepEqual(watch.seen, ['SERVING', 'NOT_SERVING']);
  assert.deepEqual(await exit, { code: 0, signal: null });

  // Structured logs; and the stop was orderly: nothing was left to force-close after the grace.
  const msgs = parseLogs(logs).map((e) => e.msg);
  assert.ok(msgs.includes('signal received'), msgs.join(' | '));
  assert.ok(msgs.includes('NameServer stopped'), msgs.join(' | '));
  assert.ok(!msgs.some((m) => m.startsWith('shutdown grace elapsed')), `shutdown had to force connections closed: ${msgs.join(' | ')}`);
});

test('SIGINT (Ctrl-C) exits 0 too', async (t) => {
  const { child, address } = await spawnServer(['--warmup-ms', '0']);
  const logs = collectLogLines(child);
  const h = healthClient(address);
  t.after(() => {
    h.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  assert.equal(await healthCheck(h, ''), 'SERVING');
  const exit = exited(child);
  child.kill('SIGINT');
  assert.deepEqual(await exit, { code: 0, signal: null });
  const entries = parseLogs(logs);
  assert.ok(entries.some((e) => e.msg === 'signal received' && (e as unknown as { signal: string }).signal === 'SIGINT'));
});

// ---------------------------------------------------------------------------------------------------
// Command line.

/** Run `node --import tsx src/server/main.ts ARGS` to completion. */
async function runMain(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/server/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** `--max-queue-nums` → `maxQueueNums`. */
function camel(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** One option as `--help` prints it. */
interface HelpEntry {
  /** `<host:port>`, `<ms>`, ... */
  arg: string;
  meaning: string;
  /** As commander prints it (strings JSON-quoted); undefined when the option has none. */
  def: string | undefined;
  env: string;
}

/**
 * The options `--help` prints, by flag. commander starts each option on a line of its own ("  --flag
 * <arg>   meaning") and indents the wrapped rest of its text further; entries are read line by line.
 */
function helpEntries(help: string): Map<string, HelpEntry> {
  const entries = new Map<string, HelpEntry>();
  const texts: [string, string, string][] = [];
  for (const line of help.split('\n')) {
    const start = /^ {2}(?:-\w, )?(--[a-z-]+)( <[^>]+>)?\s+(.*)$/.exec(line);
    if (start) texts.push([start[1]!, (start[2] ?? '').trim(), start[3]!]);
    else if (texts.length > 0 && /^\s{4,}\S/.test(line)) texts[texts.length - 1]![2] += ` ${line.trim()}`;
  }
  for (const [flag, arg, text] of texts) {
    if (flag === '--help' || flag === '--version') continue;
    const d = /^(.*?) \((?:default: (.*), )?env: ([A-Z_]+)\)$/.exec(text.trim());
    assert.ok(d, `${flag}: "${text}" ends with "(default: …, env: …)" or "(env: …)"`);
    entries.set(flag, { arg, meaning: d[1]!, def: d[2], env: d[3]! });
  }
  return entries;
}

test('--help lists every option with its environment variable, and every Config field with its default', async () => {
  const { code, stdout } = await runMain(['--help']);
  assert.equal(code, 0);
  const entries = helpEntries(stdout);
  assert.ok(entries.has('--listen') && entries.has('--warmup-ms') && entries.has('--lease-ttl-ms'), stdout);
  const covered = new Set<string>();
  for (const [flag, e] of entries) {
    // The environment variable is the flag in upper snake case under NAMESERVER_.
    assert.equal(e.env, `NAMESERVER_${flag.slice(2).replace(/-/g, '_').toUpperCase()}`, `${flag}: env var`);
    // Config field of the flag: the flag in camelCase (file options drop the "File" suffix).
    const key = ([camel(flag), `${camel(flag)}File`] as Array<keyof Config>).find((k) => k in DEFAULT_CONFIG);
    if (key === undefined) {
      // An option about how to read options (--config FILE): no default to show.
      assert.equal(e.def, undefined, `${flag} is no Config field, yet shows a default`);
      continue;
    }
    covered.add(key);
    assert.equal(e.def, JSON.stringify(DEFAULT_CONFIG[key]), `${flag}: the default of Config.${key}`);
  }
  assert.deepEqual([...covered].sort(), Object.keys(DEFAULT_CONFIG).sort(), 'every Config field has an option');
});

/** The README's configuration table rows, as `--help` describes the options. */
function configTableRows(help: string): string[] {
  return [...helpEntries(help)].map(([flag, e]) => {
    const value = e.def === undefined ? undefined : e.def.startsWith('"') ? (JSON.parse(e.def) as string) : e.def;
    const shown = value === undefined ? '(none)' : value === '' ? '(empty)' : `\`${value}\``;
    return `| \`${e.arg ? `${flag} ${e.arg}` : flag}\` | \`${e.env}\` | ${shown} | ${e.meaning.replace(/\|/g, '\\|')} |`;
  });
}

test('the README configuration table is the one --help describes (flag, environment variable, default, meaning)', async () => {
  const { stdout } = await runMain(['--help']);
  const expected = configTableRows(stdout);
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const actual = readme.split('\n').filter((l) => l.startsWith('| `--'));
  assert.deepEqual(actual, expected, `README.md's configuration table is stale; its rows should be:\n${expected.join('\n')}\n`);
});

test('a bad flag or value exits 2 with one line naming it and a hint, not the whole help', async () => {
  for (const [args, env, option] of [
    [['--listen', 'nope'], {}, '--listen'],
    [['--lease-ttl-ms', '-5'], {}, '--lease-ttl-ms'],
    [[], { NAMESERVER_WARMUP_MS: 'soon' }, 'NAMESERVER_WARMUP_MS'],
    [['--no-such-flag'], {}, '--no-such-flag'],
    [['--min-lease-ttl-ms', '9000', '--lease-ttl-ms', '5000'], {}, '--lease-ttl-ms'],
  ] as Array<[string[], NodeJS.ProcessEnv, string]>) {
    const { code, stderr, stdout } = await runMain(args, env);
    assert.equal(code, 2, `${args.join(' ')} ${JSON.stringify(env)} must fail with exit 2: ${stderr}`);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 2, `one error line and the hint: ${stderr}`);
    assert.ok(lines[0]!.startsWith('error: ') && lines[0]!.includes(option), `the error names ${option}: ${stderr}`);
    assert.equal(lines[1], '(see nameserver --help)');
    assert.equal(stdout, '', 'nothing was started');
  }
});

test('a port already in use is said in words, exit 1', async (t) => {
  const s = await startServer();
  t.after(() => s.stop());
  const { code, stderr } = await runMain(['--listen', s.address, '--warmup-ms', '0'], { NAMESERVER_LOG_LEVEL: 'silent' });
  assert.equal(code, 1);
  assert.equal(stderr.trim(), `error: ${s.address} is already in use (another NameServer or program listens there); stop it or choose another address with --listen`);
});
