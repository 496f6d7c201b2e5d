/**
 * The only place that reaches into grpc-js internals. grpc-js has no public API to reset a server
 * stream, to learn which HTTP/2 connection a call runs on, or to know when its HTTP/2 stream is really
 * gone (the call's 'finish' fires as soon as the status is queued, which a client that reads nothing
 * never lets out). The stream limits, the stall handling and the push path need all three, so they
 * find the node:http2 stream under the call here.
 *
 * Layout relied on (grpc-js 1.10 to 1.14, server-call.ts and server-interceptors.ts): a server stream
 * object (ServerDuplexStreamImpl, ServerWritableStreamImpl) has `call`, a ServerInterceptingCall
 * chain linked by `nextCall` and ending in a BaseServerInterceptingCall whose `stream` is the
 * ServerHttp2Stream; every link has `sendMessage(message, callback)`.
 * test/integration/grpc-internals.test.ts fails when a grpc-js upgrade changes this; callers fall back
 * to public behaviour (destroy the call, count it until 'close') when a lookup returns undefined.
 */
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';

/** How deep the interceptor chain may go before the lookup gives up. */
const MAX_CHAIN = 8;

/** The HTTP/2 stream a grpc-js server call runs on, or undefined when grpc-js changed its layout. */
export function http2StreamOf(call: unknown): ServerHttp2Stream | undefined {
  let node = (call as { call?: unknown } | null)?.call;
  for (let depth = 0; node && depth < MAX_CHAIN; depth++) {
    const stream = (node as { stream?: unknown }).stream;
    if (isHttp2Stream(stream)) return stream;
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

/** The HTTP/2 connection (session) a call runs on, or undefined. */
export function http2SessionOf(call: unknown): ServerHttp2Session | undefined {
  return http2StreamOf(call)?.session as ServerHttp2Session | undefined;
}

/**
 * The call's `sendMessage(message, callback)`, which the server stream's `_write` calls and nothing
 * else: handing messages to it directly skips the Duplex layer (a large share of the CPU of a fan-out
 * to 10,000 streams). The callback fires once HTTP/2 let the message out. Undefined when absent.
 */
export function sendMessageOf(call: unknown): ((message: Buffer, callback: () => void) => void) | undefined {
  const inner = (call as { call?: { sendMessage?: (m: Buffer, cb: () => void) => void } } | null)?.call;
  return typeof inner?.sendMessage === 'function' ? inner.sendMessage.bind(inner) : undefined;
}

/** The innermost grpc-js call (BaseServerInterceptingCall): it owns the HTTP/2 stream and the call's state. */
export interface BaseCall {
  readonly stream: ServerHttp2Stream;
  /** Whether the response headers went out (the first message sends them). */
  readonly metadataSent: boolean;
  readonly cancelled: boolean;
  sendStatus(status: { code: number; details: string; metadata: null }): void;
}

/** The BaseServerInterceptingCall under a server stream, or undefined when grpc-js changed its layout. */
export function baseCallOf(call: unknown): BaseCall | undefined {
  let node = (call as { call?: unknown } | null)?.call;
  for (let depth = 0; node && depth < MAX_CHAIN; depth++) {
    const b = node as Partial<BaseCall>;
    if (isHttp2Stream(b.stream)) {
      return typeof b.metadataSent === 'boolean' && typeof b.cancelled === 'boolean' && typeof b.sendStatus === 'function' ? (b as BaseCall) : undefined;
    }
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

function isHttp2Stream(s: unknown): s is ServerHttp2Stream {
  const x = s as { close?: unknown; session?: unknown; rstCode?: unknown } | undefined;
  return typeof x?.close === 'function' && typeof x.session === 'object' && 'rstCode' in x;
}
