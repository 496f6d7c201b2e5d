/**
 * Test helpers: start a real NameServer on 127.0.0.1:0 in this process (or as a child process), and
 * generated gRPC clients with promise wrappers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../../generated/nameserver/v1/admin';
import { BrokerRegistryClient } from '../../generated/nameserver/v1/broker_registry';
import { RouteQueryClient } from '../../generated/nameserver/v1/route_query';
import { DEFAULT_CONFIG, type Config } from '../../src/config';
import { NameServer } from '../../src/server';

/** Settings for tests: ephemeral port, no warm-up, short timers. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...DEFAULT_CONFIG, listen: '127.0.0.1:0', warmupMs: 0, streamGraceMs: 200, shutdownGraceMs: 1000, ...overrides };
}

/** Generated clients of one server. */
export interface Clients {
  address: string;
  brokers: BrokerRegistryClient;
  routes: RouteQueryClient;
  admin: AdminClient;
  close(): void;
}

/**
 * Clients for an address. grpc-js shares one connection between clients of the same target; with
 * `ownConnection` these clients get a connection of their own.
 */
export function connect(address: string, ownConnection = false): Clients {
  const creds = grpc.credentials.createInsecure();
  const opts = ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {};
  const brokers = new BrokerRegistryClient(address, creds, opts);
  const routes = new RouteQueryClient(address, creds, opts);
  const admin = new AdminClient(address, creds, opts);
  return { address, brokers, routes, admin, close: () => [brokers, routes, admin].forEach((c) => c.close()) };
}

/** An in-process server and clients for it. */
export interface Started extends Clients {
  server: NameServer;
  port: number;
  stop(): Promise<void>;
}

/** Start an in-process NameServer on an ephemeral loopback port. */
export async function startServer(overrides: Partial<Config> = {}): Promise<Started> {
  const server = new NameServer(testConfig(overrides));
  const port = await server.start();
  const clients = connect(`127.0.0.1:${port}`);
  return {
    ...clients,
    server,
    port,
    stop: async () => {
      clients.close();
      await server.stop();
    },
  };
}

/**
 * A NameServer in a child process (for signals, SIGKILL and memory measurements). Resolves once it
 * listens; `httpPort` is the operations HTTP port when `--http-listen` was given.
 */
export async function spawnServer(args: string[] = []): Promise<{ child: ChildProcess; address: string; port: number; httpPort?: number }> {
  const root = path.resolve(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), '--listen', '127.0.0.1:0', ...args], {
    cwd: root,
    // The port is read from the "listening" log line, so the child logs at info whatever the tests use.
    env: { ...process.env, NAMESERVER_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buf = '';
  let httpPort: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}: ${buf}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf);
      httpPort = Number(/"httpPort":(\d+)/.exec(buf)?.[1] ?? 0) || undefined;
      if (m) resolve(Number(m[1]));
    });
  });
  return { child, address: `127.0.0.1:${port}`, port, httpPort };
}

/** Wait for a child process to exit; resolves with its code and signal. */
export async function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

/** The full overload of a generated unary client method (request, metadata, options, callback). */
type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;
type ReqOf<M> = M extends UnaryMethod<infer Req, unknown> ? Req : never;
type ResOf<M> = M extends UnaryMethod<never, infer Res> ? Res : never;

/** Call a generated client's unary method as a promise: `await call(c.routes, 'getRoute', {topic})`. */
export function call<C, K extends keyof C>(
  client: C,
  method: K,
  req: ReqOf<C[K]>,
  options: Partial<grpc.CallOptions> = {},
): Promise<ResOf<C[K]>> {
  const fn = client[method] as unknown as UnaryMethod<unknown, unknown>;
  return new Promise((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), options, (err, res) => (err ? reject(err) : resolve(res as ResOf<C[K]>)));
  });
}

/** Expect a promise to fail with a gRPC status code; returns the error for further checks. */
export async function rejectsWith(p: Promise<unknown>, code: grpc.status): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (e.code !== code) throw new Error(`expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    return e;
  }
  throw new Error(`expected ${grpc.status[code]}, but the call succeeded`);
}

/** Resolve when `cond()` holds, checking after each event of `emitter`... or poll-free via a predicate over events. */
export function waitFor<T>(subscribe: (check: (v: T) => void) => () => void, cond: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = subscribe((v) => {
      if (cond(v)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(v);
      }
    });
  });
}
