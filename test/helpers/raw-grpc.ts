/**
 * A bare gRPC client on node:http2, for tests that need what grpc-js does not offer: a chosen local
 * address (127.0.0.2 is another client host on loopback), one connection per object, and raw message
 * bytes in and out. Unary calls and bidirectional streams of length-prefixed messages.
 */
import http2 from 'node:http2';
import { once } from 'node:events';

/** Final status of a call, with the response messages received. */
export interface RawResult {
  code: number;
  details: string;
  messages: Buffer[];
}

/** gRPC length-prefixed message framing (uncompressed). */
export function frame(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** One HTTP/2 connection speaking gRPC. */
export class RawGrpcConnection {
  private readonly session: http2.ClientHttp2Session;

  /** `localAddress`: the loopback address to connect from (default: the system's choice). */
  constructor(address: string, localAddress?: string) {
    // http2.connect passes its options on to net.connect, which takes localAddress (the typings omit it).
    this.session = http2.connect(`http://${address}`, (localAddress ? { localAddress } : {}) as http2.ClientSessionOptions);
    this.session.on('error', () => undefined); // calls report their own failures
  }

  /** The local address and port of this connection, as the server sees its peer. */
  async local(): Promise<string> {
    if (!this.session.socket?.localPort) await once(this.session, 'connect');
    return `${this.session.socket.localAddress}:${this.session.socket.localPort}`;
  }

  /** One unary call with raw request bytes. */
  unary(path: string, request: Uint8Array): Promise<RawResult> {
    const call = this.stream(path);
    call.send(request);
    call.end();
    return call.result;
  }

  /** A streaming call: send messages, end, and await the final status. */
  stream(path: string): { send(m: Uint8Array): void; end(): void; cancel(): void; onMessage(fn: (m: Buffer) => void): void; result: Promise<RawResult> } {
    const req = this.session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const messages: Buffer[] = [];
    const listeners: ((m: Buffer) => void)[] = [];
    let buf = Buffer.alloc(0);
    req.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const m = buf.subarray(5, 5 + buf.readUInt32BE(1));
        buf = buf.subarray(5 + m.length);
        messages.push(m);
        for (const l of listeners) l(m);
      }
    });
    const result = new Promise<RawResult>((resolve) => {
      let status: { code: number; details: string } | undefined;
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] === undefined) return;
        status = { code: Number(h['grpc-status']), details: decodeURIComponent(String(h['grpc-message'] ?? '')) };
      };
      req.on('response', take);
      req.on('trailers', take);
      // The server's side ended (every message read, status received): the call is over, even while
      // our side of a stream is still open (node's 'close' waits for both sides).
      req.on('end', () => {
        if (status) resolve({ ...status, messages });
      });
      req.on('error', (e: Error) => {
        status ??= { code: 14, details: e.message };
      });
      req.on('close', () => resolve({ ...(status ?? { code: 14, details: `stream closed (RST ${req.rstCode})` }), messages }));
      req.resume();
    });
    return {
      send: (m) => void req.write(frame(m)),
      end: () => req.end(),
      cancel: () => req.close(http2.constants.NGHTTP2_CANCEL),
      onMessage: (fn) => listeners.push(fn),
      result,
    };
  }

  /** Close the connection. */
  close(): void {
    this.session.destroy();
  }
}
