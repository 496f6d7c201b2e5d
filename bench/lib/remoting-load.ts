/**
 * The remoting load generator (our own code, on the NameServer's frame codec), run in its own process
 * like h2load: `connections` TCP connections to 127.0.0.1:port, each keeping `depth` requests in flight
 * (pipelined; responses matched to requests by opaque, so a server that answers out of order, like
 * RocketMQ's thread pool, is measured right), for `durationS` seconds after `warmupS` of warm-up.
 * Requests cycle over the given ext-field sets (e.g. one per topic), each connection starting at its own
 * offset.
 *
 * Cost on the client side is kept small and equal for every server: each request is a frame pre-encoded
 * once by `encodeFrame`, JSON header as RocketMQ's Java client sends it, with a 10-digit opaque patched in
 * place (opaques run from 1,000,000,000, so the digits never change length); responses are split by
 * `FrameSplitter` (a FrameReader collecting each read's frames) and decoded by `decodeFrame`; the requests answered by one read are replaced in one
 * write. Latency is measured per request from just before that write to the read that completed it.
 *
 *   node --import tsx bench/lib/remoting-load.ts '<LoadSpec JSON>'
 *     → {"phase":"measure"} when the measured window starts, {"phase":"done"} when it ends (so the
 *       driver can read the server's CPU over the same window), then one line of LoadResult JSON.
 */
import net from 'node:net';
import { decodeFrame, encodeFrame, FrameSplitter, SerializeType } from '../../src/server/network/remoting/frame';

/** What to run. */
export interface LoadSpec {
  port: number;
  connections: number;
  /** Requests in flight per connection. */
  depth: number;
  durationS: number;
  warmupS: number;
  code: number;
  /** Header version (RocketMQ's ordinal: 513 is 5.5.0). */
  version: number;
  /** Ext fields of the requests; requests cycle over these. */
  fields: Record<string, string>[];
}

/** What a run measured (the measured window only). */
export interface LoadResult {
  reqPerSec: number;
  requests: number;
  seconds: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  /** Responses by response code ("0" is SUCCESS). */
  codes: Record<string, number>;
  /** Mean body bytes of the responses. */
  bodyBytes: number;
  /** Mean whole-frame bytes of the responses (length prefix included). */
  frameBytes: number;
  /** CPU seconds this load process used in the measured window (user + system). */
  clientCpuS: number;
  /** Connections that closed or failed during the run. */
  connectionErrors: number;
}

const OPAQUE_BASE = 1_000_000_000;
const DIGITS = 10;

/** A pre-encoded request and where its opaque's digits are. */
interface Template {
  frame: Buffer;
  at: number;
}

function template(spec: LoadSpec, fields: Record<string, string>): Template {
  const frame = encodeFrame({ code: spec.code, language: 'JAVA', version: spec.version, opaque: OPAQUE_BASE, flag: 0, extFields: fields, serializeType: SerializeType.JSON });
  const key = Buffer.from(`"opaque":${OPAQUE_BASE}`);
  const i = frame.indexOf(key);
  if (i < 0) throw new Error('opaque not found in the encoded header');
  return { frame, at: i + key.length - DIGITS };
}

function writeDigits(b: Buffer, at: number, n: number): void {
  for (let i = DIGITS - 1; i >= 0; i--) {
    b[at + i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/** Grows as needed; latencies in microseconds. */
class Samples {
  private a = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  sorted(): Float64Array {
    return this.a.slice(0, this.n).sort();
  }
}

const pct = (s: Float64Array, p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN);

/** Run one load (in this process); `onPhase` hears when the measured window starts and ends. */
export async function runLoad(spec: LoadSpec, onPhase: (phase: 'measure' | 'done') => void = () => undefined): Promise<LoadResult> {
  const templates = spec.fields.map((f) => template(spec, f));
  let measuring = false;
  let stopping = false;
  let requests = 0;
  let bodyBytes = 0;
  let frameBytes = 0;
  let connectionErrors = 0;
  const codes: Record<string, number> = {};
  const samples = new Samples();
  let seq = 0;

  const sockets: net.Socket[] = [];
  const start = (c: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: spec.port });
      socket.setNoDelay(true);
      sockets.push(socket);
      const inflight = new Map<number, number>();
      const splitter = new FrameSplitter(64 * 1024 * 1024);
      let next = (c * 7919) % templates.length;
      const send = (count: number) => {
        if (stopping || count === 0) return;
        const now = performance.now();
        const parts: Buffer[] = [];
        for (let i = 0; i < count; i++) {
          const t = templates[next]!;
          next = next + 1 === templates.length ? 0 : next + 1;
          const b = Buffer.allocUnsafe(t.frame.length);
          t.frame.copy(b);
          const opaque = OPAQUE_BASE + (seq++ % OPAQUE_BASE);
          writeDigits(b, t.at, opaque);
          parts.push(b);
          inflight.set(opaque, now);
        }
        socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      };
      socket.once('connect', () => {
        resolve();
        send(spec.depth);
      });
      socket.on('data', (chunk: Buffer) => {
        const now = performance.now();
        let done = 0;
        for (const f of splitter.push(chunk)) {
          const cmd = decodeFrame(f);
          const sent = inflight.get(cmd.opaque);
          if (sent === undefined) continue;
          inflight.delete(cmd.opaque);
          done++;
          if (!measuring) continue;
          requests++;
          codes[cmd.code] = (codes[cmd.code] ?? 0) + 1;
          bodyBytes += cmd.body?.length ?? 0;
          frameBytes += f.length + 4;
          samples.push((now - sent) * 1000);
        }
        send(done);
      });
      socket.on('error', (err) => {
        if (!stopping) connectionErrors++;
        reject(err);
      });
      socket.on('close', () => {
        if (!stopping) connectionErrors++;
      });
    });

  await Promise.all(Array.from({ length: spec.connections }, (_, c) => start(c)));
  await new Promise((r) => setTimeout(r, spec.warmupS * 1000));
  measuring = true;
  onPhase('measure');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, spec.durationS * 1000));
  measuring = false;
  onPhase('done');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stopping = true;
  for (const s of sockets) s.destroy();
  const sorted = samples.sorted();
  return {
    reqPerSec: requests / seconds,
    requests,
    seconds,
    p50Us: pct(sorted, 50),
    p90Us: pct(sorted, 90),
    p99Us: pct(sorted, 99),
    maxUs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    codes,
    bodyBytes: requests ? bodyBytes / requests : 0,
    frameBytes: requests ? frameBytes / requests : 0,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
    connectionErrors,
  };
}

if (require.main === module) {
  runLoad(JSON.parse(process.argv[2]!) as LoadSpec, (phase) => process.stdout.write(`${JSON.stringify({ phase })}\n`)).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`remoting-load: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
