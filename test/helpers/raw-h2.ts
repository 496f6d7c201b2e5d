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

/** What became of one raw stream. */
export interface RawStream {
  stream: http2.ClientHttp2Stream;
  /** Response headers (an admitted call) or trailers-only (refused at once). */
  headers: Promise<http2.IncomingHttpHeaders>;
  /** Resolves when the stream closes: its RST_STREAM code (0 when it ended normally) and trailers. */
  closed: Promise<{ rstCode: number; trailers: http2.IncomingHttpHeaders | undefined }>;
}

/** Open a connection. `settings` go in the first SETTINGS frame (e.g. `{ initialWindowSize: 0 }`). */
export async function rawConnect(address: string, settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://${address}`, { settings });
  session.on('error', () => undefined); // the tests look at 'goaway' and 'close'
  await once(session, 'connect');
  return session;
}

/** Open a call on `path` and write these messages without ending the request side. */
export function rawCall(session: http2.ClientHttp2Session, path: string, messages: Uint8Array[] = [], headers: http2.OutgoingHttpHeaders = {}): RawStream {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  stream.on('error', () => undefined); // RST_STREAM from the server shows as an error; `closed` reports it
  let trailers: http2.IncomingHttpHeaders | undefined;
  stream.on('trailers', (t) => (trailers = t));
  const headersP = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', (h) => resolve(h)));
  const closed = new Promise<{ rstCode: number; trailers: http2.IncomingHttpHeaders | undefined }>((resolve) =>
    stream.once('close', () => resolve({ rstCode: stream.rstCode ?? 0, trailers })),
  );
  if (messages.length) stream.write(Buffer.concat(messages.map(grpcFrame)));
  return { stream, headers: headersP, closed };
}
