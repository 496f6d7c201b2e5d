/**
 * A light client fleet for capacity runs, in its own process, driven over IPC: `connections` HTTP/2
 * connections (node:http2, from its own loopback source address so the ephemeral ports of one address
 * do not run out), each with `streams` WatchRoutes streams written as raw gRPC (headers, one
 * length-prefixed WatchRoutesRequest, the stream left open). Far lighter per connection than a grpc-js
 * channel, so one machine can hold tens of thousands; the server sees ordinary gRPC clients.
 * Messages stay bytes: a receiver reads one varint (pbwalk.ts), as in watch-fleet.ts.
 *
 * IPC out: {type:'ready', connections, streams, ms, errors} once every stream has its first progress
 * message (its subscriptions are in place), or every connection has the server's SETTINGS when
 * `streams` is 0; {type:'seq', seq, arrivals} once every stream has seen value `seq` at `seqPath`
 * (arrivals: wall-clock ms, one per stream); {type:'error', message}.
 * IPC in: {type:'expect', seq}, {type:'stop'}.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { WatchRoutesRequest } from '../../generated/nameserver/v1/route_query';
import { wallMs } from './common';
import { varintAt } from './pbwalk';

export interface H2FleetSpec {
  port: number;
  /** Loopback source address of this fleet's connections (127.x.y.z). */
  localAddress: string;
  connections: number;
  streams: number;
  /** Stream j follows `always` and topics[(j*topicsPerStream + i) % topics.length], i < topicsPerStream. */
  topics: string[];
  topicsPerStream: number;
  always: string[];
  seqPath: number[];
  parallel: number;
}

const PATH = '/nameserver.v1.RouteQuery/WatchRoutes';
const spec = JSON.parse(process.argv[2]!) as H2FleetSpec;
const send = (m: object) => process.send!(m);
const sessions: http2.ClientHttp2Session[] = [];
const streams: { seen: number }[] = [];
let expected: number | undefined;
let arrivals: number[] = [];
let errors = 0;
let stopping = false;
let streamIndex = 0;

function frame(message: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}

function request(j: number): Buffer {
  const names = new Set(spec.always);
  for (let i = 0; i < spec.topicsPerStream; i++) names.add(spec.topics[(j * spec.topicsPerStream + i) % spec.topics.length]!);
  return frame(WatchRoutesRequest.encode({ subscribe: [...names].map((topic) => ({ topic, version: '' })), unsubscribe: [], allTopics: false }).finish());
}

function onMessage(state: { seen: number }, msg: Buffer): void {
  if (expected === undefined) return;
  const seq = varintAt(msg, spec.seqPath);
  if (seq !== expected || state.seen === seq) return;
  state.seen = seq;
  arrivals.push(wallMs());
  if (arrivals.length === streams.length) {
    send({ type: 'seq', seq, arrivals });
    expected = undefined;
    arrivals = [];
  }
}

function openStream(session: http2.ClientHttp2Session): Promise<void> {
  const j = streamIndex++;
  const subscribed = spec.always.length + Math.min(spec.topicsPerStream, spec.topics.length);
  const state = { seen: -1 };
  streams.push(state);
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
    let pending: Buffer = Buffer.alloc(0);
    let up = false;
    req.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 5) {
        const n = pending.readUInt32BE(1);
        if (pending.length < 5 + n) break;
        const msg = pending.subarray(5, 5 + n);
        pending = pending.subarray(5 + n);
        if (!up && varintAt(msg, [2, 1]) === subscribed) {
          up = true;
          resolve();
        }
        onMessage(state, msg);
      }
    });
    req.on('trailers', (t) => {
      if (stopping) return;
      errors++;
      send({ type: 'error', message: `stream ${j} ended: grpc-status ${t['grpc-status']} ${t['grpc-message'] ?? ''}` });
    });
    req.on('error', (err) => {
      if (stopping) return;
      errors++;
      send({ type: 'error', message: `stream ${j}: ${err.message}` });
      reject(err);
    });
    req.write(request(j));
  });
}

async function openConnection(): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${spec.port}`, {
    createConnection: () => net.connect({ host: '127.0.0.1', port: spec.port, localAddress: spec.localAddress }),
  });
  sessions.push(session);
  session.on('error', (err) => {
    if (stopping) return;
    errors++;
    send({ type: 'error', message: `connection: ${err.message}` });
  });
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  const opened: Promise<void>[] = [];
  for (let s = 0; s < spec.streams; s++) opened.push(openStream(session));
  await Promise.all(opened);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < spec.connections) {
      next++;
      await openConnection();
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.parallel, spec.connections) }, worker));
  send({ type: 'ready', connections: sessions.length, streams: streams.length, ms: Date.now() - t0, errors });
}

process.on('message', (m: { type: string; seq?: number }) => {
  if (m.type === 'expect') {
    expected = m.seq;
    arrivals = [];
    for (const s of streams) if (s.seen === m.seq) arrivals.push(wallMs());
  } else if (m.type === 'stop') {
    stopping = true;
    for (const s of sessions) s.destroy();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));

main().catch((err: unknown) => {
  send({ type: 'error', message: `setup failed: ${err instanceof Error ? err.message : String(err)}` });
  setTimeout(() => process.exit(1), 100);
});
