/**
 * The one wrapper around every handler. grpc-js only catches synchronous throws; an async
 * handler that rejects would leave the call hanging until its deadline (grpc/grpc-node#290). These
 * adapters await the handler, map any error through the error table, and answer exactly once.
 */
import type {
  handleUnaryCall,
  handleBidiStreamingCall,
  handleServerStreamingCall,
  ServerUnaryCall,
  ServerDuplexStream,
  ServerWritableStream,
  sendUnaryData,
} from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { constants as http2Constants } from 'node:http2';
import { toStatus, type StatusObject } from './status';
import { UndecodableRequest } from './encoded';
import { InvalidArgument, LimitExceeded } from '../../metadata/errors';
import { http2StreamOf } from './internals';
import { log } from '../../log';

/** A unary handler: returns the response (or a promise of it) or throws a DomainError. */
export type UnaryFn<Req, Res> = (req: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>;

/** Adapt a unary handler. Synchronous results are answered without a promise hop (GetRoute's hot path). */
export function unary<Req, Res>(rpc: string, fn: UnaryFn<Req, Res>): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let result: Res | Promise<Res>;
    try {
      checkDecoded(call.request);
      result = fn(call.request, call);
    } catch (err) {
      callback(toStatus(err, rpc));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => callback(null, res),
        (err: unknown) => callback(toStatus(err, rpc)),
      );
    } else {
      callback(null, result);
    }
  };
}

/** Throw INVALID_ARGUMENT for a request whose bytes did not decode (see tolerantDecoding). */
export function checkDecoded(req: unknown): void {
  if (req instanceof UndecodableRequest) throw new InvalidArgument('request', `is not a valid protobuf message of this method's type (${req.reason})`);
}

/** Any server-side stream call the tracker can end. */
export type StreamCall = ServerDuplexStream<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** The stream limits (see Config). */
export interface StreamLimits {
  maxStreams: number;
  maxStreamsPerConnection: number;
  /** A connection on which this many streams were reset for not reading is closed (GOAWAY). */
  maxStalledStreamsPerConnection: number;
  /** How long a stalled stream's status may take to get out before the stream is reset. */
  stallResetMs?: number;
}

const UNLIMITED: StreamLimits = { maxStreams: Infinity, maxStreamsPerConnection: Infinity, maxStalledStreamsPerConnection: Infinity };

/**
 * Open streams: the stream limits, the handling of clients that stop reading, and shutdown (which ends
 * them with UNAVAILABLE before `tryShutdown`).
 *
 * A stream counts until its HTTP/2 stream is closed, not until its status is queued: a client that
 * reads nothing never lets the status out, and such a stream (with its queued bytes) would otherwise
 * leave the limits while still holding memory. Connections are told apart by their HTTP/2 session.
 */
export class StreamTracker extends EventEmitter<{ closed: [] }> {
  private readonly open = new Set<StreamCall>();
  /** Open streams per connection (its http2 session; the peer string when grpc-js hides it). */
  private readonly perConnection = new Map<object | string, number>();
  /** Streams reset for stalling, per connection. */
  private readonly stalls = new WeakMap<object, number>();
  private readonly limits: StreamLimits;
  /** Streams reset because their client read nothing (RST_STREAM ENHANCE_YOUR_CALM). */
  stalledStreamsReset = 0;
  /** Connections closed (GOAWAY ENHANCE_YOUR_CALM) because their client kept its window shut. */
  stalledConnectionsClosed = 0;

  constructor(limits: Partial<StreamLimits> = {}) {
    super();
    this.limits = { ...UNLIMITED, ...limits };
  }

  /** Number of open streams. */
  get size(): number {
    return this.open.size;
  }

  /** Track a call until its HTTP/2 stream closes; throws LimitExceeded when a stream limit would be passed. */
  add(call: StreamCall): void {
    const h2 = http2StreamOf(call);
    const conn: object | string = h2?.session ?? call.getPeer();
    const onConn = this.perConnection.get(conn) ?? 0;
    if (this.open.size >= this.limits.maxStreams) {
      throw new LimitExceeded(`this NameServer serves at most ${this.limits.maxStreams} streams; try another replica`);
    }
    if (onConn >= this.limits.maxStreamsPerConnection) {
      throw new LimitExceeded(`at most ${this.limits.maxStreamsPerConnection} streams per connection; open another connection`);
    }
    if (h2 && (h2.closed || h2.destroyed)) return; // reset by the client before the handler ran
    this.open.add(call);
    this.perConnection.set(conn, onConn + 1);
    const drop = () => {
      if (!this.open.delete(call)) return;
      const n = (this.perConnection.get(conn) ?? 1) - 1;
      if (n > 0) this.perConnection.set(conn, n);
      else this.perConnection.delete(conn);
      this.emit('closed');
    };
    if (h2) {
      h2.on('close', drop); // 'close' comes once; `once` would add a wrapper object per stream
    } else {
      // grpc-js changed its layout (see grpc-internals.ts): 'cancelled' comes when the stream closes.
      call.once('cancelled', drop);
      call.once('close', drop);
    }
  }

  /**
   * End a stream whose client stopped reading. Its status goes out after the data already queued,
   * which a client that reads nothing never lets through; so unless the HTTP/2 stream is gone
   * `stallResetMs` later, it is reset with RST_STREAM ENHANCE_YOUR_CALM (gRPC clients report
   * RESOURCE_EXHAUSTED), which drops the queued bytes. A connection on which
   * `maxStalledStreamsPerConnection` streams stalled is closed with GOAWAY ENHANCE_YOUR_CALM: its peer
   * keeps its window shut (a peer that shuts the whole connection's window stalls every stream on it,
   * so it reaches the count at once).
   */
  abortStalled(call: StreamCall, status: StatusObject): void {
    endWithStatus(call, status);
    const h2 = http2StreamOf(call);
    if (!h2) {
      call.destroy();
      return;
    }
    const session = h2.session;
    const timer = setTimeout(() => {
      if (h2.closed || h2.destroyed) return;
      this.stalledStreamsReset++;
      h2.close(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }, this.limits.stallResetMs ?? 1000);
    timer.unref();
    if (!session || session.destroyed) return;
    const stalls = (this.stalls.get(session) ?? 0) + 1;
    this.stalls.set(session, stalls);
    if (stalls >= this.limits.maxStalledStreamsPerConnection) {
      this.stalledConnectionsClosed++;
      clearTimeout(timer);
      log.warn({ peer: call.getPeer(), stalledStreams: stalls }, 'closing a connection whose client reads nothing (GOAWAY ENHANCE_YOUR_CALM)');
      // GOAWAY tells the peer why; destroy() closes the socket, which frees every stream on it.
      // (destroy(code) would also emit 'error' on the session, which nothing listens to.)
      session.goaway(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    }
  }

  /** End every open stream with this status. */
  endAll(status: StatusObject): void {
    for (const call of [...this.open]) endWithStatus(call, status);
    this.open.clear();
    this.perConnection.clear();
  }
}

/** End a server stream with an error status (grpc-js sends the status once the stream is ended). */
export function endWithStatus(call: StreamCall, status: StatusObject): void {
  if (call.cancelled || call.writableEnded) return;
  call.emit('error', status);
}

/**
 * Answer a stream the limits refused, and close its HTTP/2 stream (RST_STREAM NO_ERROR, which RFC 9113
 * 8.1 allows after a complete response): it is not counted, so a client that never closes its side must
 * not keep it open.
 */
export function refuse(call: StreamCall, status: StatusObject): void {
  endWithStatus(call, status);
  const h2 = http2StreamOf(call);
  // The status is written on the next tick (grpc-js sends it from the stream's _final).
  if (h2) setImmediate(() => h2.closed || h2.destroyed || h2.close(http2Constants.NGHTTP2_NO_ERROR));
}

/** A stream handler: sets up listeners; may throw or reject to end the stream with a status. */
export type StreamFn<C extends StreamCall> = (call: C) => void | Promise<void>;

function adaptStream<C extends StreamCall>(rpc: string, tracker: StreamTracker, fn: StreamFn<C>) {
  return (call: C) => {
    const fail = (err: unknown) => endWithStatus(call, toStatus(err, rpc));
    try {
      tracker.add(call);
    } catch (err) {
      refuse(call, toStatus(err, rpc));
      return;
    }
    try {
      const r = fn(call);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/** Adapt a bidirectional-streaming handler. */
export function bidi<Req, Res>(
  rpc: string,
  tracker: StreamTracker,
  fn: StreamFn<ServerDuplexStream<Req, Res>>,
): handleBidiStreamingCall<Req, Res> {
  return adaptStream(rpc, tracker, fn as StreamFn<StreamCall>) as handleBidiStreamingCall<Req, Res>;
}

/** Adapt a server-streaming handler. */
export function serverStream<Req, Res>(
  rpc: string,
  tracker: StreamTracker,
  fn: StreamFn<ServerWritableStream<Req, Res>>,
): handleServerStreamingCall<Req, Res> {
  return adaptStream(rpc, tracker, fn as StreamFn<StreamCall>) as handleServerStreamingCall<Req, Res>;
}
