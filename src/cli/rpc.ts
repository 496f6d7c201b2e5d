/**
 * The gRPC plumbing of `nameserver-admin`: channel credentials (plaintext or TLS), the bearer token,
 * deadlines, unary calls as promises (moving on to the next `--server` when one is unreachable), the
 * streams, and the per-broker results of a failed write (from the `nameserver-results-bin` trailer,
 * or parsed from the status message when a proxy dropped the trailer).
 */
import * as grpc from '@grpc/grpc-js';
import {
  AdminClient,
  type BrokerResult,
  type WatchClusterRequest,
  type WatchClusterResponse,
} from '../../generated/nameserver/v1/admin';
import { CommandOutcome, commandOutcomeFromJSON } from '../../generated/nameserver/v1/common';
import {
  RouteQueryClient,
  type WatchRoutesRequest,
  type WatchRoutesResponse,
} from '../../generated/nameserver/v1/route_query';
import { UsageError } from './errors';
import { parseHostPort } from '../shared/address';
import { clientCredentials, TlsFileError } from '../shared/tls';
import { RESULTS_TRAILER } from '../shared/contract';


/** How to reach the NameServer. */
export interface ConnectionOptions {
  /** NameServer addresses, host:port (the first is asked first). */
  servers: string[];
  /** Bearer token sent as `authorization: Bearer <token>` (empty: none). */
  token: string;
  /** PEM CA bundle: connect with TLS, trusting it. */
  tlsCa: string;
  /** PEM client certificate (mutual TLS), with tlsKey. */
  tlsCert: string;
  /** PEM private key of tlsCert. */
  tlsKey: string;
  /** Connect with TLS, trusting the system CAs (implied by the other tls options). */
  tls: boolean;
  /** Deadline of each unary call, milliseconds. */
  timeoutMs: number;
}

/** Split and check a comma-separated list of host:port addresses. */
export function parseServers(value: string, flag = '--server'): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError(`${flag} needs at least one host:port`);
  for (const a of list) {
    try {
      parseHostPort(a);
    } catch (err) {
      throw new UsageError(`${flag}: "${a}" is not host:port (e.g. 127.0.0.1:9876): ${(err as Error).message}`);
    }
  }
  return list;
}

/** Channel credentials from the options. */
export function channelCredentials(o: ConnectionOptions): grpc.ChannelCredentials {
  try {
    return clientCredentials({ tls: o.tls, ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey });
  } catch (err) {
    if (err instanceof TlsFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** Whether a thrown value is a gRPC status error. */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'details' in err;
}

/** The full overload of a generated unary client method (request, metadata, options, callback). */
type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;
/** Request type of a generated unary method. */
export type ReqOf<M> = M extends UnaryMethod<infer Req, unknown> ? Req : never;
/** Response type of a generated unary method. */
export type ResOf<M> = M extends UnaryMethod<never, infer Res> ? Res : never;
/** Names of the unary methods of a generated client. */
export type UnaryName<C> = { [K in keyof C]: ReqOf<C[K]> extends never ? never : K }[keyof C];

interface Clients {
  admin: AdminClient;
  routes: RouteQueryClient;
}

/** Connections to the NameServer(s) named by the options. */
export class Rpc {
  private readonly creds: grpc.ChannelCredentials;
  private readonly clients = new Map<string, Clients>();

  constructor(readonly options: ConnectionOptions) {
    if (options.servers.length === 0) throw new UsageError('no NameServer address (--server)');
    this.creds = channelCredentials(options);
  }

  /** The first server: where streams and non-failover calls go. */
  get primary(): string {
    return this.options.servers[0]!;
  }

  /** Metadata of every call: the bearer token when given. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.options.token) md.set('authorization', `Bearer ${this.options.token}`);
    return md;
  }

  private clientsOf(address: string): Clients {
    let c = this.clients.get(address);
    if (!c) {
      c = { admin: new AdminClient(address, this.creds), routes: new RouteQueryClient(address, this.creds) };
      this.clients.set(address, c);
    }
    return c;
  }

  /** The Admin client of an address (default: the first server). */
  admin(address = this.primary): AdminClient {
    return this.clientsOf(address).admin;
  }

  /** The RouteQuery client of an address (default: the first server). */
  routes(address = this.primary): RouteQueryClient {
    return this.clientsOf(address).routes;
  }

  /** A unary Admin call (`failover: false`: ask the first server only). */
  adminCall<K extends UnaryName<AdminClient>>(
    method: K,
    req: ReqOf<AdminClient[K]>,
    options: { failover?: boolean } = {},
  ): Promise<ResOf<AdminClient[K]>> {
    if (options.failover === false) return this.unary(this.admin(), method, req);
    return this.withFailover((address) => this.unary(this.admin(address), method, req));
  }

  /** A unary RouteQuery call. */
  routeCall<K extends UnaryName<RouteQueryClient>>(method: K, req: ReqOf<RouteQueryClient[K]>): Promise<ResOf<RouteQueryClient[K]>> {
    return this.withFailover((address) => this.unary(this.routes(address), method, req));
  }

  /**
   * Ask the servers in order: the next one is tried only when this one is unavailable (unreachable or
   * warming up) and answered nothing else; a write with per-broker results is never retried.
   */
  private async withFailover<T>(attempt: (address: string) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const address of this.options.servers) {
      try {
        return await attempt(address);
      } catch (err) {
        last = err;
        if (!isServiceError(err) || err.code !== grpc.status.UNAVAILABLE || err.metadata?.get(RESULTS_TRAILER).length) throw err;
      }
    }
    throw last;
  }

  private unary<C, K extends keyof C>(client: C, method: K, req: ReqOf<C[K]>): Promise<ResOf<C[K]>> {
    const fn = client[method] as unknown as UnaryMethod<unknown, unknown>;
    const deadline = Date.now() + this.options.timeoutMs;
    return new Promise((resolve, reject) => {
      fn.call(client, req, this.metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res as ResOf<C[K]>)));
    });
  }

  /** Admin.WatchCluster on a server (default the first; no deadline: it runs until cancelled). */
  watchCluster(req: WatchClusterRequest, address = this.primary): grpc.ClientReadableStream<WatchClusterResponse> {
    return this.admin(address).watchCluster(req, this.metadata());
  }

  /** RouteQuery.WatchRoutes on a server (default the first; no deadline: it runs until cancelled). */
  watchRoutes(address = this.primary): grpc.ClientDuplexStream<WatchRoutesRequest, WatchRoutesResponse> {
    return this.routes(address).watchRoutes(this.metadata());
  }

  /** Close every channel. */
  close(): void {
    for (const c of this.clients.values()) {
      c.admin.close();
      c.routes.close();
    }
    this.clients.clear();
  }
}

/** A decoder of an XxxResponse holding per-broker results (the generated message's `decode`). */
export interface ResultsDecoder<R extends { results: BrokerResult[] }> {
  decode(input: Uint8Array): R;
}

/**
 * The per-broker results of a failed Admin write: decoded from the `nameserver-results-bin` trailer,
 * else parsed from the status message ("...: c1/b1/0 OK; c1/b2/0 ALREADY_EXISTS (detail)"); undefined
 * when the error carries none (the write was refused before reaching any broker).
 */
export function resultsOfError<R extends { results: BrokerResult[] }>(err: grpc.ServiceError, decoder: ResultsDecoder<R>): R | undefined {
  const bin = err.metadata?.get(RESULTS_TRAILER)[0];
  if (bin instanceof Buffer) {
    try {
      return decoder.decode(bin);
    } catch {
      // fall through to the message
    }
  }
  const results = parseResults(err.details ?? '');
  return results.length > 0 ? ({ results } as unknown as R) : undefined;
}

const RESULT = /^([^/\s]+)\/([^/\s]+)\/(\d+) ([A-Z_]+)(?: \((.*)\))?$/;

/** Per-broker results listed in a write's status message (see the server's commands.ts). */
export function parseResults(details: string): BrokerResult[] {
  const m = /brokers applied it: (.*)$/s.exec(details);
  if (!m) return [];
  const out: BrokerResult[] = [];
  for (const part of m[1]!.split('; ')) {
    const r = RESULT.exec(part.trim());
    if (!r) continue;
    const outcome = commandOutcomeFromJSON(`COMMAND_OUTCOME_${r[4]}`);
    out.push({
      cluster: r[1]!,
      brokerName: r[2]!,
      brokerId: Number(r[3]),
      outcome: outcome === CommandOutcome.UNRECOGNIZED ? CommandOutcome.COMMAND_OUTCOME_FAILED : outcome,
      message: r[5] ?? '',
    });
  }
  return out;
}
