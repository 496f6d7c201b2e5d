/**
 * A misbehaving gRPC client for tests: node:http2 speaking gRPC framing by hand, so a test can do what
 * no gRPC library does on purpose (advertise a zero flow-control window and never open it, never read,
 * open thousands of streams on one connection, send many requests in one TCP write).
 */
import http2 from 'node:http2';
import { once } from 'node:events';

/** A gRPC length-prefixed message (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  Buffer.from(message.buffer, message.byteOffset, message.length).copy(out, 5);
  return out;
}

/** Split a byte stream into gRPC messages (keeps a remainder for the next chunk). */
export class GrpcDeframer {
  private buf: Buffer = Buffer.alloc(0);
  /** Append bytes; returns the complete messages. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

/** The gRPC status of a stream: from trailers, or from trailers-only response headers. */
export interface RawStatus {
  code: number;
  message: string;
}

/** What became of one raw stream. */
export interface RawStream {
  stream: http2.ClientHttp2Stream;
  /** Response headers: of an admitted call, or trailers-only (refused at once; `grpc-status` set). */
  headers: Promise<http2.IncomingHttpHeaders>;
  /** The call's gRPC status, once the server sent one (never, for a stream that is reset). */
  status: Promise<RawStatus>;
  /** Resolves when the stream closes: its RST_STREAM code (0 when it ended normally). */
  closed: Promise<{ rstCode: number }>;
  /** Messages received so far (only while the stream is read: `read()`). */
  messages: Buffer[];
  /** Read and deframe the response; `onMessage` sees each message. */
  read(onMessage?: (m: Buffer) => void): void;
}

function statusOf(h: http2.IncomingHttpHeaders): RawStatus | undefined {
  const code = h['grpc-status'];
  if (code === undefined) return undefined;
  return { code: Number(code), message: decodeURIComponent(String(h['grpc-message'] ?? '')) };
}

/**
 * Open a connection. `settings` go in the first SETTINGS frame (e.g. `{ initialWindowSize: 0 }`). The
 * client's own memory limit is raised (node's default, 10 MB, makes it reset its own streams when a
 * test queues more than that to send).
 */
export async function rawConnect(address: string, settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://${address}`, { settings, maxSessionMemory: 1024 });
  session.on('error', () => undefined); // the tests look at 'goaway' and 'close'
  await once(session, 'connect');
  return session;
}

/** Open a call on `path` and write these messages (in one write) without ending the request side. */
export function rawCall(session: http2.ClientHttp2Session, path: string, messages: Uint8Array[] = []): RawStream {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined); // RST_STREAM from the server shows as an error; `closed` reports it
  const headers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', (h) => resolve(h)));
  const status = new Promise<RawStatus>((resolve) => {
    stream.once('response', (h) => {
      const st = statusOf(h);
      if (st) resolve(st);
    });
    stream.once('trailers', (h) => {
      const st = statusOf(h);
      if (st) resolve(st);
    });
  });
  const closed = new Promise<{ rstCode: number }>((resolve) => stream.once('close', () => resolve({ rstCode: stream.rstCode ?? 0 })));
  if (messages.length) stream.write(Buffer.concat(messages.map(grpcFrame)));
  const out: RawStream = {
    stream,
    headers,
    status,
    closed,
    messages: [],
    read(onMessage) {
      const deframer = new GrpcDeframer();
      stream.on('data', (chunk: Buffer) => {
        for (const m of deframer.push(chunk)) {
          out.messages.push(m);
          onMessage?.(m);
        }
      });
    },
  };
  return out;
}

/** Reject with a clear message when `p` has not settled within `ms` (a hang guard, not a speed check). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}
