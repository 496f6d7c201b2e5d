/**
 * The operations HTTP port (opt-in, `--http-listen`): Prometheus metrics at /metrics and a plain
 * readiness answer at /readyz (200 when warm, 503 while warming up or stopping).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';
import { parseHostPort } from '../shared/address';

/** Extra routes (the web console mounts itself here). */
export type { HttpRoute } from '../console';
import type { HttpRoute } from '../console';

/** Start the HTTP server; resolves with its port. */
export async function startHttp(
  listen: string,
  metrics: Metrics,
  ready: () => boolean,
  routes: HttpRoute[] = [],
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && url === '/metrics') {
        const body = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.core.contentType });
        res.end(body);
        return;
      }
      if (req.method === 'GET' && url === '/readyz') {
        const ok = ready();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ok ? 'ready\n' : 'not ready (warming up or stopping)\n');
        return;
      }
      for (const route of routes) if (await route(req, res)) return;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  const { host, port } = parseHostPort(listen, { allowPortZero: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
