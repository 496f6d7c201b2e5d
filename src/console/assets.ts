/**
 * The console page's static files (src/console/static: HTML, CSS and plain browser JavaScript, no
 * build step), read once into memory and served under /console/. Only files found there at start are
 * served: no path from a URL ever reaches the file system.
 */
import type http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Directory of the page's files. */
export const STATIC_DIR = path.join(__dirname, 'static');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page may load only its own scripts and styles, talk only to its own origin, and not be framed.
 * (Inline SVG built with DOM calls needs nothing more.)
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
}

/** Read the page's files. */
export function loadAssets(dir: string = STATIC_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) assets.set(name, { body: readFileSync(path.join(dir, name)), type });
  }
  if (!assets.has('index.html')) throw new Error(`console: ${dir} has no index.html`);
  return assets;
}

/** Answer a request under /console. */
export function serveAsset(assets: Map<string, Asset>, req: http.IncomingMessage, res: http.ServerResponse, pathname: string, search: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('use GET\n');
    return;
  }
  if (pathname === '/console') {
    res.writeHead(308, { location: `/console/${search}` });
    res.end();
    return;
  }
  const name = pathname === '/console/' ? 'index.html' : pathname.slice('/console/'.length);
  const asset = /^[\w.-]+$/.test(name) ? assets.get(name) : undefined;
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': String(asset.body.length),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': CSP,
  });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
