/**
 * The console's JSON gateway: HTTP+JSON in front of this NameServer's own gRPC services, derived from
 * the descriptor set buf compiles (methods.ts, json.ts), not written per method.
 *
 *   GET  /api/                                  the methods, as JSON
 *   POST /api/<Service>/<Method>                unary (and client-streaming) calls: proto-JSON in and out
 *   GET  /api/stream/<Service>/<Method>?body=…  server-streaming and bidi calls as Server-Sent Events
 *   POST /api/stream/<Service>/<Method>         the same with the request in a JSON body
 *
 * Every call goes to the gRPC listener over a loopback channel, carrying the browser's Authorization
 * header as `authorization` metadata, so the server's validation, tokens and limits apply unchanged.
 * The server sees the gateway as a loopback peer, so the gateway applies the loopback-only-writes rule
 * itself on the HTTP side (see `isLocalRequest`), and refuses cross-site requests (CSRF).
 */
import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { FileRegistry } from '@bufbuild/protobuf';
import { CONSOLE_PEER_METADATA, isLoopbackPeer } from '../shared/peers';
import { BadRequest, loadRegistry, parseRequest, responseJson } from './json';
import { isAdminWrite, methodTable, type GatewayMethod } from './methods';
import { RESULTS_TRAILER } from '../shared/contract';


/** Where and how the gateway reaches the gRPC services. */
export interface GatewayOptions {
  /** host:port of this server's gRPC listener (loopback). */
  target: string;
  credentials: grpc.ChannelCredentials;
  /**
   * Metadata proving a call comes through this gateway, which applies the loopback-only-writes rule
   * itself on the HTTP side (the server cannot see the browser's address).
   */
  internal?: { key: string; value: string };
  /** Largest request body, bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Most Server-Sent Events streams open at once (default 256). */
  maxStreams?: number;
  /** Deadline of a unary call, milliseconds (default 60 s; the server bounds writes by --command-timeout-ms). */
  unaryTimeoutMs?: number;
  /** Interval of SSE keep-alive comments, milliseconds (default 15 s). */
  keepAliveMs?: number;
  /** Schemas of the services (default: generated/descriptors.binpb). */
  core?: FileRegistry;
}

/** HTTP status of a gRPC status code (the mapping grpc-gateway uses). */
export function httpStatusOf(code: grpc.status): number {
  switch (code) {
    case grpc.status.OK:
      return 200;
    case grpc.status.CANCELLED:
      return 499;
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.OUT_OF_RANGE:
      return 400;
    case grpc.status.DEADLINE_EXCEEDED:
      return 504;
    case grpc.status.NOT_FOUND:
      return 404;
    case grpc.status.ALREADY_EXISTS:
    case grpc.status.ABORTED:
      return 409;
    case grpc.status.PERMISSION_DENIED:
      return 403;
    case grpc.status.UNAUTHENTICATED:
      return 401;
    case grpc.status.RESOURCE_EXHAUSTED:
      return 429;
    case grpc.status.UNIMPLEMENTED:
      return 501;
    case grpc.status.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

/** The JSON body of every error the gateway answers. */
export interface ErrorBody {
  code: number;
  codeName: string;
  message: string;
  /** Per-broker results of an incomplete Admin write (from the `nameserver-results-bin` trailer). */
  results?: unknown[];
}

/** An error answered before or instead of a gRPC call. */
class HttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: grpc.status,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function sendJson(res: http.ServerResponse, httpStatus: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(httpStatus, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function errorBody(code: grpc.status, message: string, results?: unknown[]): ErrorBody {
  return { code, codeName: grpc.status[code] ?? 'UNKNOWN', message, ...(results ? { results } : {}) };
}

/** The per-broker results carried by a failed write's trailer, as proto-JSON; undefined when absent. */
function resultsOf(m: GatewayMethod, metadata: grpc.Metadata | undefined): unknown[] | undefined {
  const bin = metadata?.get(RESULTS_TRAILER)[0];
  if (!(bin instanceof Buffer)) return undefined;
  try {
    const json = responseJson(m.output, bin) as { results?: unknown };
    return Array.isArray(json.results) ? json.results : undefined;
  } catch {
    return undefined;
  }
}

/** Messages cross the gateway's channel already encoded (json.ts encodes and decodes them). */
const serialize = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const deserialize = (b: Buffer): Buffer => b;

const LOOPBACK_HOST = /^(localhost|[\w-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Whether an HTTP request may write without an admin token, as a loopback gRPC peer may: it comes from
 * a loopback address, directly (no proxy forwarding someone else's request), to a loopback host name
 * (a page whose DNS name was rebound to 127.0.0.1 is not a local page).
 */
export function isLocalRequest(req: http.IncomingMessage): boolean {
  const addr = req.socket.remoteAddress;
  if (!addr || !isLoopbackPeer(addr.includes(':') ? `[${addr}]:0` : `${addr}:0`)) return false;
  if (req.headers.forwarded || req.headers['x-forwarded-for'] || req.headers['x-real-ip']) return false;
  const host = req.headers.host ?? '';
  const hostname = host.replace(/:\d+$/, '');
  return LOOPBACK_HOST.test(hostname);
}

/**
 * Whether a request comes from another site's page (CSRF): Sec-Fetch-Site says so, or its Origin is
 * not the host it was sent to (Host, or X-Forwarded-Host behind a proxy). Requests without an Origin
 * (curl, scripts) are not browsers' cross-site requests.
 */
export function isCrossSite(req: http.IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return true; // "null" (sandboxed frames, file:) and garbage
  }
  const hosts = [req.headers.host, req.headers['x-forwarded-host']]
    .flatMap((h) => (h === undefined ? [] : String(h).split(',')))
    .map((h) => h.trim().toLowerCase());
  return !hosts.includes(originHost);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () => new HttpError(413, grpc.status.RESOURCE_EXHAUSTED, `request body larger than ${limit} bytes`, { connection: 'close' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return; // keep reading (and dropping) so the 413 can be answered on this connection
      total += chunk.length;
      if (total > limit) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', reject);
  });
}

/** See the module comment. */
export class Gateway {
  readonly methods: Map<string, GatewayMethod>;
  private client: grpc.Client | undefined;
  private openStreams = 0;
  private readonly calls = new Set<grpc.Call>();
  /** Whether the server requires an admin token (asked once, when first needed). */
  private adminTokenRequired: boolean | undefined;
  private readonly maxBodyBytes: number;
  private readonly maxStreams: number;
  private readonly unaryTimeoutMs: number;
  private readonly keepAliveMs: number;

  constructor(private readonly opts: GatewayOptions) {
    this.methods = methodTable(opts.core ?? loadRegistry());
    this.maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
    this.maxStreams = opts.maxStreams ?? 256;
    this.unaryTimeoutMs = opts.unaryTimeoutMs ?? 60_000;
    this.keepAliveMs = opts.keepAliveMs ?? 15_000;
  }

  /** Number of Server-Sent Events streams open now. */
  get streams(): number {
    return this.openStreams;
  }

  /** Cancel open calls and close the channel. */
  close(): void {
    for (const c of this.calls) c.cancel();
    this.calls.clear();
    this.client?.close();
    this.client = undefined;
  }

  private channel(): grpc.Client {
    this.client ??= new grpc.Client(this.opts.target, this.opts.credentials, {
      // A connection of its own, not shared with other clients of the same target in this process.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    return this.client;
  }

  /** Handle a request under /api (pathname without the query; query as given). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
    try {
      if (isCrossSite(req)) throw new HttpError(403, grpc.status.PERMISSION_DENIED, 'cross-site requests to the console gateway are refused');
      if (pathname === '/api' || pathname === '/api/') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, grpc.status.UNIMPLEMENTED, 'use GET', { allow: 'GET, HEAD' });
        sendJson(res, 200, { methods: [...this.methods.values()].map(describe) });
        return;
      }
      const stream = /^\/api\/stream\/([A-Za-z]\w*)\/([A-Za-z]\w*)$/.exec(pathname);
      const unary = /^\/api\/([A-Za-z]\w*)\/([A-Za-z]\w*)$/.exec(pathname);
      const match = stream ?? unary;
      if (!match) throw new HttpError(404, grpc.status.NOT_FOUND, `no such gateway URL: ${pathname} (GET /api/ lists the methods)`);
      const m = this.methods.get(`${match[1]}/${match[2]}`);
      if (!m) throw new HttpError(404, grpc.status.NOT_FOUND, `no method ${match[1]}/${match[2]} (GET /api/ lists the methods)`);
      if (stream) {
        if (!m.responseStream) {
          throw new HttpError(400, grpc.status.INVALID_ARGUMENT, `${m.service}/${m.name} is not a streaming method: POST /api/${m.service}/${m.name}`);
        }
        if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(405, grpc.status.UNIMPLEMENTED, 'use GET or POST', { allow: 'GET, POST' });
        const text = req.method === 'GET' ? (query.get('body') ?? '') : await this.readJson(req);
        const message = parseRequest(m.input, text);
        await this.checkWrite(m, req);
        this.stream(m, message, this.metadata(req), res);
        return;
      }
      if (m.responseStream) {
        throw new HttpError(400, grpc.status.INVALID_ARGUMENT, `${m.service}/${m.name} is a streaming method: GET /api/stream/${m.service}/${m.name} (Server-Sent Events)`);
      }
      if (req.method !== 'POST') throw new HttpError(405, grpc.status.UNIMPLEMENTED, 'use POST with a JSON body', { allow: 'POST' });
      const message = parseRequest(m.input, await this.readJson(req));
      await this.checkWrite(m, req);
      await this.unary(m, message, this.metadata(req), res);
    } catch (err) {
      if (err instanceof HttpError) sendJson(res, err.httpStatus, errorBody(err.code, err.message), err.headers);
      else if (err instanceof BadRequest) sendJson(res, 400, errorBody(grpc.status.INVALID_ARGUMENT, err.message));
      else sendJson(res, 500, errorBody(grpc.status.INTERNAL, 'internal error in the console gateway'));
    }
  }

  private async readJson(req: http.IncomingMessage): Promise<string> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    // Only JSON: browsers cannot send it cross-site without a CORS preflight, which is never granted.
    if (type !== 'application/json') {
      throw new HttpError(415, grpc.status.INVALID_ARGUMENT, 'the request body must be proto-JSON with "content-type: application/json"');
    }
    return readBody(req, this.maxBodyBytes);
  }

  private metadata(req: http.IncomingMessage): grpc.Metadata {
    const md = new grpc.Metadata();
    const auth = req.headers.authorization;
    if (auth) md.set('authorization', auth);
    if (this.opts.internal) {
      md.set(this.opts.internal.key, this.opts.internal.value);
      md.set(CONSOLE_PEER_METADATA, `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? 0}`);
    }
    return md;
  }

  /** The loopback-only-writes rule on the HTTP side (the server sees every gateway call as loopback). */
  private async checkWrite(m: GatewayMethod, req: http.IncomingMessage): Promise<void> {
    if (!isAdminWrite(m) || isLocalRequest(req)) return;
    // With an admin token configured, the server checks the forwarded token on every Admin call.
    if (await this.adminTokenConfigured()) return;
    throw new HttpError(
      403,
      grpc.status.PERMISSION_DENIED,
      'Admin writes from a non-loopback browser (or through a proxy) need an admin token: start the NameServer with --admin-token and enter the token in the console',
    );
  }

  /** Ask the server once: an Admin read without a token is refused exactly when an admin token is configured. */
  private async adminTokenConfigured(): Promise<boolean> {
    if (this.adminTokenRequired !== undefined) return this.adminTokenRequired;
    const probe = [...this.methods.values()].find((m) => m.service === 'Admin' && !m.requestStream && !m.responseStream && /^Get/.test(m.name));
    if (!probe) return false;
    const code = await new Promise<grpc.status>((resolve) => {
      this.channel().makeUnaryRequest(
        probe.path,
        serialize,
        deserialize,
        new Uint8Array(0),
        new grpc.Metadata(),
        { deadline: Date.now() + 5_000 },
        (err) => resolve(err ? err.code : grpc.status.OK),
      );
    });
    if (code === grpc.status.UNAUTHENTICATED) this.adminTokenRequired = true;
    else if (code === grpc.status.OK || code === grpc.status.NOT_FOUND || code === grpc.status.INVALID_ARGUMENT) this.adminTokenRequired = false;
    else throw new HttpError(503, grpc.status.UNAVAILABLE, `cannot tell whether an admin token is configured (${grpc.status[code]})`);
    return this.adminTokenRequired;
  }

  private unary(m: GatewayMethod, message: Uint8Array, metadata: grpc.Metadata, res: http.ServerResponse): Promise<void> {
    const client = this.channel();
    const options = { deadline: Date.now() + this.unaryTimeoutMs };
    return new Promise((resolve) => {
      const done = (err: grpc.ServiceError | null, value?: Buffer) => {
        this.calls.delete(call);
        if (err) sendJson(res, httpStatusOf(err.code), errorBody(err.code, err.details, resultsOf(m, err.metadata)));
        else sendJson(res, 200, responseJson(m.output, value!));
        resolve();
      };
      let call: grpc.ClientUnaryCall | grpc.ClientWritableStream<Uint8Array>;
      if (m.requestStream) {
        const w = client.makeClientStreamRequest(m.path, serialize, deserialize, metadata, options, done);
        w.write(message);
        w.end();
        call = w;
      } else {
        call = client.makeUnaryRequest(m.path, serialize, deserialize, message, metadata, options, done);
      }
      this.calls.add(call);
      // The browser went away before the answer: cancel the call.
      res.once('close', () => {
        if (!res.writableFinished) call.cancel();
      });
    });
  }

  private stream(m: GatewayMethod, message: Uint8Array, metadata: grpc.Metadata, res: http.ServerResponse): void {
    if (this.openStreams >= this.maxStreams) {
      throw new HttpError(429, grpc.status.RESOURCE_EXHAUSTED, `the console gateway has ${this.openStreams} streams open (at most ${this.maxStreams})`);
    }
    const client = this.channel();
    let call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Uint8Array, Buffer>;
    if (m.requestStream) {
      // The subscription is fixed for the life of the stream; the request side stays open (a watch
      // may end on half-close), and is closed by the cancel when the browser goes away.
      const d = client.makeBidiStreamRequest(m.path, serialize, deserialize, metadata, {});
      d.write(message);
      call = d;
    } else {
      call = client.makeServerStreamRequest(m.path, serialize, deserialize, message, metadata, {});
    }
    this.openStreams++;
    this.calls.add(call);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Tell nginx-like proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`: ${m.service}/${m.name}\nretry: 2000\n\n`);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), this.keepAliveMs);
    keepAlive.unref();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(keepAlive);
      this.openStreams--;
      this.calls.delete(call);
    };
    call.on('data', (value: Buffer) => {
      if (res.destroyed) return;
      const ok = res.write(`data: ${JSON.stringify(responseJson(m.output, value))}\n\n`);
      if (!ok) {
        // Honour the browser's pace: stop reading the gRPC stream (the server then coalesces).
        call.pause();
        res.once('drain', () => call.resume());
      }
    });
    call.on('error', () => undefined); // reported by 'status'
    call.on('status', (st: grpc.StatusObject) => {
      if (!res.destroyed && !res.writableEnded) {
        res.write(`event: status\ndata: ${JSON.stringify(errorBody(st.code, st.details, resultsOf(m, st.metadata)))}\n\n`);
        res.end();
      }
      finish();
    });
    // The browser went away (or the HTTP server is closing): cancel the gRPC stream.
    res.once('close', () => {
      if (!finished) call.cancel();
      finish();
    });
  }
}

function describe(m: GatewayMethod) {
  return {
    service: m.service,
    method: m.name,
    path: m.path,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    url: m.responseStream ? `/api/stream/${m.service}/${m.name}` : `/api/${m.service}/${m.name}`,
    write: isAdminWrite(m),
  };
}
