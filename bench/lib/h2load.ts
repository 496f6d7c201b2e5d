/**
 * h2load (Debian nghttp2-client) as the gRPC unary load generator: a prepared gRPC frame as the POST
 * body, gRPC headers, fixed duration after a warm-up. h2load cannot see the gRPC status (it travels
 * in trailers), so a run counts only when (1) a grpc-js sanity call of the same method with the same
 * bytes returned OK beforehand, (2) h2load reports every response 2xx with no failure or error, and
 * (3) the bytes received per response, less header blocks, are those of one gRPC frame of the
 * expected response plus HTTP/2 frame headers: an error status is a trailers-only response (one
 * HEADERS frame, no DATA), so error answers would show ~9 bytes per response instead.
 * (h2load's own "data" counter includes the warm-up period, so the check uses total − headers, which
 * covers the measured period only.)
 */
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureBinary, RAW_DIR } from './common';

export interface H2loadOptions {
  url: string;
  /** gRPC-framed request body. */
  body: Buffer;
  threads?: number;
  connections?: number;
  streams?: number;
  durationS: number;
  warmupS: number;
  /** Name for the raw output file. */
  label: string;
}

export interface H2loadResult {
  reqPerSec: number;
  total: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  /** 3xx + 4xx + 5xx responses. */
  statusOther: number;
  /** Bytes received during the measured period. */
  totalBytes: number;
  /** Header block bytes received during the measured period. */
  headerBytes: number;
  /** Mean request latency in ms, as h2load reports it. */
  meanLatencyMs: number;
  raw: string;
  command: string;
}

export function h2loadCommand(o: H2loadOptions, bodyFile: string): string[] {
  return [
    `-t${o.threads ?? 1}`,
    `-c${o.connections ?? 8}`,
    `-m${o.streams ?? 32}`,
    '-D', String(o.durationS),
    '--warm-up-time', String(o.warmupS),
    '-H', 'content-type: application/grpc',
    '-H', 'te: trailers',
    '-d', bodyFile,
    o.url,
  ];
}

function num(re: RegExp, s: string): number {
  const m = re.exec(s);
  return m ? Number(m[1]) : NaN;
}

function latencyMs(raw: string): number {
  const m = /time for request:\s+\S+\s+\S+\s+(\d+(?:\.\d+)?)(us|ms|s)\b/.exec(raw);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** Run h2load once; throws if it fails. */
export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  ensureBinary('h2load', 'nghttp2-client');
  mkdirSync(RAW_DIR, { recursive: true });
  const bodyFile = path.join(RAW_DIR, `${o.label}.body`);
  writeFileSync(bodyFile, o.body);
  const args = h2loadCommand(o, bodyFile);
  const raw = await new Promise<string>((resolve, reject) => {
    const p = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`h2load exited ${code}: ${out}`))));
  });
  writeFileSync(path.join(RAW_DIR, `${o.label}.h2load.txt`), raw);
  return {
    reqPerSec: num(/finished in [\d.]+\w*, ([\d.]+) req\/s/, raw),
    total: num(/requests: (\d+) total/, raw),
    succeeded: num(/(\d+) succeeded/, raw),
    failed: num(/(\d+) failed/, raw),
    errored: num(/(\d+) errored/, raw),
    timeout: num(/(\d+) timeout/, raw),
    status2xx: num(/status codes: (\d+) 2xx/, raw),
    statusOther: num(/(\d+) 3xx/, raw) + num(/(\d+) 4xx/, raw) + num(/(\d+) 5xx/, raw),
    totalBytes: num(/traffic: \S+ \((\d+)\) total/, raw),
    headerBytes: num(/\((\d+)\) headers/, raw),
    meanLatencyMs: latencyMs(raw),
    raw,
    command: `h2load ${args.map((a) => (/[\s:]/.test(a) ? `'${a}'` : a)).join(' ')}`,
  };
}

/**
 * Check a run: every request 2xx and successful, and the bytes per response (less header blocks) of
 * one gRPC frame of `expectedMessageBytes` plus HTTP/2 framing (≤ 64 bytes: HEADERS, DATA and
 * trailer frame headers, the odd WINDOW_UPDATE/PING). Returns a problem description, or undefined.
 */
export function checkRun(r: H2loadResult, expectedMessageBytes: number, inFlight = 8 * 32): string | undefined {
  if (!(r.succeeded > 0)) return `no successful request (${r.raw.slice(-500)})`;
  if (r.failed || r.errored || r.timeout) return `${r.failed} failed, ${r.errored} errored, ${r.timeout} timed out`;
  // Status codes are counted when headers arrive and successes when streams close, so the two differ by
  // at most the streams in flight at either end of the measured period.
  if (r.statusOther !== 0 || Math.abs(r.status2xx - r.succeeded) > 2 * inFlight) return `${r.statusOther} non-2xx responses, ${r.status2xx} 2xx of ${r.succeeded} succeeded`;
  const perResponse = (r.totalBytes - r.headerBytes) / r.succeeded;
  const frame = expectedMessageBytes + 5;
  if (!(perResponse >= frame - 1 && perResponse <= frame + 64)) {
    return `${perResponse.toFixed(1)} bytes per response (less headers), expected a ${frame}-byte gRPC frame plus framing: some responses were not OK`;
  }
  return undefined;
}
