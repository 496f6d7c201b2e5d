/**
 * The one wrapper around every handler (STYLE.md 5). grpc-js only catches synchronous throws; an async
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
import { InvalidArgument, LimitExceeded } from '../metadata/errors';

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

/**
 * Open streams, so shutdown can end them with UNAVAILABLE before `tryShutdown` (STYLE.md 9).
 */
export class StreamTracker extends EventEmitter<{ closed: [] }> {
  private readonly open = new Set<StreamCall>();
  /** Open streams per connection (grpc-js peer string: address and port of one connection). */
  private readonly perConnection = new Map<string, number>();

  constructor(private readonly limits: { maxStreams: number; maxStreamsPerConnection: number } = { maxStreams: Infinity, maxStreamsPerConnection: Infinity }) {
    super();
  }

  /** Number of open streams. */
  get size(): number {
    return this.open.size;
  }

  /** Track a call until it closes; throws LimitExceeded when a stream limit would be passed. */
  add(call: StreamCall): void {
    const peer = call.getPeer();
    const onConn = this.perConnection.get(peer) ?? 0;
    if (this.open.size >= this.limits.maxStreams) {
      throw new LimitExceeded(`this NameServer serves at most ${this.limits.maxStreams} streams; try another replica`);
    }
    if (onConn >= this.limits.maxStreamsPerConnection) {
      throw new LimitExceeded(`at most ${this.limits.maxStreamsPerConnection} streams per connection; open another connection`);
    }
    this.open.add(call);
    this.perConnection.set(peer, onConn + 1);
    const drop = () => {
      if (!this.open.delete(call)) return;
      const n = (this.perConnection.get(peer) ?? 1) - 1;
      if (n > 0) this.perConnection.set(peer, n);
      else this.perConnection.delete(peer);
      this.emit('closed');
    };
    call.once('close', drop);
    call.once('cancelled', drop);
    call.once('finish', drop);
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

/** A stream handler: sets up listeners; may throw or reject to end the stream with a status. */
export type StreamFn<C extends StreamCall> = (call: C) => void | Promise<void>;

function adaptStream<C extends StreamCall>(rpc: string, tracker: StreamTracker, fn: StreamFn<C>) {
  return (call: C) => {
    const fail = (err: unknown) => endWithStatus(call, toStatus(err, rpc));
    try {
      tracker.add(call);
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

/**
 * End a stream whose client stopped reading. The status goes out after the data already queued, which
 * a client that reads nothing never lets through; so if the call has not finished shortly after, its
 * HTTP/2 stream is reset with ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED
 * (grpc-js maps it in subchannel-call). grpc-js has no public API to reset a server stream: the
 * http2 stream is found on the call's internal chain, and `destroy()` is the fallback.
 */
export function abortStalledStream(call: StreamCall, status: StatusObject, resetAfterMs = 1000): void {
  endWithStatus(call, status);
  const timer = setTimeout(() => {
    if (call.writableFinished || call.destroyed) return;
    const h2 = findHttp2Stream(call);
    if (h2) h2.close(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
    else call.destroy();
  }, resetAfterMs);
  timer.unref();
}

function findHttp2Stream(call: unknown): { close(code: number): void } | undefined {
  let node = (call as { call?: unknown }).call;
  for (let depth = 0; node && depth < 8; depth++) {
    const n = node as { stream?: { close?: unknown }; nextCall?: unknown };
    if (n.stream && typeof n.stream.close === 'function') return n.stream as { close(code: number): void };
    node = n.nextCall;
  }
  return undefined;
}
