/**
 * The web console (opt-in, `--console`), served on the operations HTTP port. It talks to this
 * NameServer only through its own gRPC services (Admin and RouteQuery), over a loopback channel, so
 * every check (validation, tokens, loopback-only writes) applies to it as to any client.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { HttpRoute } from '../http';

/** Where the console's gateway reaches the gRPC services. */
export interface ConsoleOptions {
  /** host:port of this server's gRPC listener, reachable from itself (loopback). */
  target: string;
  credentials: ChannelCredentials;
}

/** The console's HTTP routes (pages, assets, and the JSON gateway to the gRPC services). */
export function createConsole(_opts: ConsoleOptions): HttpRoute {
  return (_req, res) => {
    res.writeHead(501, { 'content-type': 'text/plain' });
    res.end('the web console is not built yet (issue #9)\n');
    return true;
  };
}
