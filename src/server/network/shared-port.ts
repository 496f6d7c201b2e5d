/**
 * One port, two protocols. RocketMQ brokers, clients and mqadmin expect their NameServer at the same
 * address gRPC clients use, so the listener looks at the first byte of each connection:
 * - 'P' starts the HTTP/2 client preface ("PRI * HTTP/2.0"), 0x16 a TLS handshake: the connection goes
 *   to grpc-js (`Server.createConnectionInjector`, which does TLS itself when configured);
 * - anything else is the first byte of a remoting frame's length (frames are limited far below 0x16 << 24
 *   bytes, so neither of the two bytes above can start one): the connection goes to the remoting door.
 * The byte is put back on the socket before the hand-over, so each side reads the stream from its start.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import type { ConnectionInjector } from '@grpc/grpc-js';
import { log } from '../log';
import type { RemotingDoor } from './remoting/door';
import { parseHostPort } from '../../shared/address';

const HTTP2_PREFACE_FIRST = 0x50; // 'P'
const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing for this long is closed (neither protocol waits for the server first). */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/** See the module comment. */
export class SharedPort {
  private readonly servers: net.Server[] = [];

  constructor(
    private readonly grpc: ConnectionInjector,
    private readonly remoting: RemotingDoor,
    private readonly tls: boolean,
  ) {}

  /** Listen on host:port (every address the host resolves to, like grpc-js). Resolves with the port. */
  async listen(hostPort: string): Promise<number> {
    const parsed = parseHostPort(hostPort, { allowPortZero: true });
    const host = parsed.host;
    let port = parsed.port;
    const addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true })).map((a) => a.address);
    let bound = 0;
    let firstError: unknown;
    for (const address of addresses) {
      const server = net.createServer({ pauseOnConnect: false }, (socket) => this.route(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: address, port, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        firstError ??= err;
        log.warn({ address, port, err: (err as Error).message }, 'cannot listen on one of the addresses of the listen host');
        continue;
      }
      server.on('error', (err) => log.error({ err }, 'listener error'));
      port = (server.address() as net.AddressInfo).port;
      this.servers.push(server);
      bound++;
    }
    if (bound === 0) throw firstError ?? new Error(`no address to listen on for ${hostPort}`);
    return port;
  }

  /** Stop accepting connections (open ones are closed by their owners). */
  close(): void {
    for (const s of this.servers) s.close();
  }

  private route(socket: net.Socket): void {
    // A plain timer, not socket.setTimeout: a socket keeps its (cleared) timer and the listener for life,
    // about 0.5 KB per connection with tens of thousands of watching clients (bench/results/capacity.md).
    const silent = setTimeout(destroySocket, FIRST_BYTE_TIMEOUT_MS, socket).unref();
    // One shared listener (no closure per connection); grpc-js and the remoting door add their own.
    socket.on('error', destroyOnError);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      clearTimeout(silent);
      socket.unshift(chunk);
      const first = chunk[0];
      if (first === HTTP2_PREFACE_FIRST || first === TLS_HANDSHAKE) {
        this.grpc.injectConnection(socket);
      } else if (this.tls) {
        // Remoting is plaintext only; with TLS configured the port serves gRPC over TLS only.
        log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}` }, 'remoting: plaintext connection refused (this NameServer serves TLS; remoting has no TLS here)');
        socket.destroy();
      } else {
        this.remoting.accept(socket);
      }
    });
  }
}

function destroySocket(socket: net.Socket): void {
  socket.destroy();
}

function destroyOnError(this: net.Socket): void {
  this.destroy();
}
