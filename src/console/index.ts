/**
 * The web console (opt-in, `--console`), served on the operations HTTP port. It talks to this
 * NameServer only through its own gRPC services (Admin and RouteQuery), over a loopback channel, so
 * every check (validation, tokens, loopback-only writes) applies to it as to any client.
 *
 *   /                  redirects to /console/
 *   /console/          the page (static HTML, CSS and browser JavaScript from ./static)
 *   /api/...           the JSON gateway derived from the proto (gateway.ts)
 *
 * See README.md beside this file.
 */
import type { EventEmitter } from 'node:events';
import type http from 'node:http';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { loadAssets, serveAsset } from './assets';
import { Gateway } from './gateway';

/** Where the console's gateway reaches the gRPC services. */
export interface ConsoleOptions {
  /** host:port of this server's gRPC listener, reachable from itself (loopback). */
  target: string;
  credentials: ChannelCredentials;
  /** Metadata proving a call comes through the gateway (see GatewayOptions.internal). */
  internal?: { key: string; value: string };
}

/** A handler on the operations HTTP port: true when it answered the request. */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/** The console's HTTP routes (pages, assets, and the JSON gateway to the gRPC services). */
export function createConsole(opts: ConsoleOptions): HttpRoute {
  const gateway = new Gateway(opts);
  const assets = loadAssets();
  const servers = new WeakSet<EventEmitter>();
  return async (req, res) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const search = q < 0 ? '' : raw.slice(q);
    const isApi = pathname === '/api' || pathname.startsWith('/api/');
    if (pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      // The port's front page is the console. Relative, so it also works under a proxy's path prefix;
      // temporary (302), so browsers do not remember it once the console is turned off.
      res.writeHead(302, { location: `console/${search}`, 'content-type': 'text/plain' });
      res.end('see console/\n');
      return true;
    }
    if (!isApi && pathname !== '/console' && !pathname.startsWith('/console/')) return false;
    // Close the gateway's channel with the HTTP server that carries it (server.ts owns that server).
    const server = (req.socket as { server?: EventEmitter }).server;
    if (server && !servers.has(server)) {
      servers.add(server);
      server.once('close', () => gateway.close());
    }
    if (isApi) await gateway.handle(req, res, pathname, new URLSearchParams(search.slice(1)));
    else serveAsset(assets, req, res, pathname, search);
    return true;
  };
}
