/**
 * A fleet of watch streams in its own process, driven over IPC by a part's main: `connections`
 * separate HTTP/2 connections (grpc-js channels with local subchannel pools), each with `streams`
 * watch streams; against the NameServer (RouteQuery/WatchRoutes, `topicsPerStream` topics each) or
 * etcd (Watch/Watch, one watcher on `key` per stream). Messages stay raw bytes: a receiver reads only
 * the one varint it needs (pbwalk.ts), so client-side cost is the same small amount for both systems.
 *
 * IPC out: {type:'ready', streams, ms} once every stream is subscribed (NameServer: a progress
 * message counting all its topics; etcd: `created`); {type:'seq', seq, count, first, median, last}
 * once every stream has seen value `seq` at `seqPath`; {type:'error', message} on a stream error.
 * IPC in: {type:'expect', seq} arms the receivers for a value; {type:'stop'}.
 */
import * as grpc from '@grpc/grpc-js';
import { WatchRoutesRequest } from '../../generated/nameserver/v1/route_query';
import { encodeWatchCreate } from '../etcd/etcd';
import { wallMs } from './common';
import { varintAt } from './pbwalk';

export interface FleetSpec {
  system: 'ns' | 'etcd';
  address: string;
  connections: number;
  streams: number;
  /** NameServer: stream j follows topics[(j*topicsPerStream + i) % topics.length], i < topicsPerStream. */
  topics: string[];
  topicsPerStream: number;
  /** etcd: the watched key. */
  key?: string;
  /** Field path to the sequence varint in a received message. */
  seqPath: number[];
  /** Connections opened at once while setting up. */
  parallelConnections?: number;
}

const identity = (b: Buffer) => b;
const NS_WATCH = '/nameserver.v1.RouteQuery/WatchRoutes';
const ETCD_WATCH = '/etcdserverpb.Watch/Watch';

const spec = JSON.parse(process.argv[2]!) as FleetSpec;
const send = (m: object) => process.send!(m);
const clients: grpc.Client[] = [];
const calls: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];
let expected: number | undefined;
let arrivals: number[] = [];
let errors = 0;

function subscribeBytes(j: number): Buffer {
  if (spec.system === 'etcd') return encodeWatchCreate(Buffer.from(spec.key!));
  const subscribe = [];
  for (let i = 0; i < spec.topicsPerStream; i++) subscribe.push({ topic: spec.topics[(j * spec.topicsPerStream + i) % spec.topics.length]!, version: '' });
  return Buffer.from(WatchRoutesRequest.encode({ subscribe, unsubscribe: [], allTopics: false }).finish());
}

/** Whether a message says the stream's subscription is in place. */
function isReady(msg: Buffer): boolean {
  if (spec.system === 'etcd') return varintAt(msg, [3]) === 1; // WatchResponse.created
  return varintAt(msg, [2, 1]) === spec.topicsPerStream; // WatchRoutesResponse.progress.subscribed_topics
}

function onMessage(state: { seen: number }, msg: Buffer): void {
  if (expected === undefined) return;
  const now = wallMs();
  const seq = varintAt(msg, spec.seqPath);
  if (seq !== expected || state.seen === seq) return;
  state.seen = seq;
  arrivals.push(now);
  if (arrivals.length === calls.length) {
    const s = arrivals.sort((a, b) => a - b);
    send({ type: 'seq', seq, count: s.length, first: s[0], median: s[Math.floor(s.length / 2)], last: s[s.length - 1] });
    expected = undefined;
    arrivals = [];
  }
}

async function openConnection(c: number): Promise<void> {
  const client = new grpc.Client(spec.address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 << 20,
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 30_000, (err) => (err ? reject(err) : resolve())));
  const ready: Promise<void>[] = [];
  for (let s = 0; s < spec.streams; s++) {
    const j = c * spec.streams + s;
    const call = client.makeBidiStreamRequest(spec.system === 'ns' ? NS_WATCH : ETCD_WATCH, identity, identity, new grpc.Metadata());
    calls.push(call);
    const state = { seen: -1 };
    ready.push(
      new Promise<void>((resolve, reject) => {
        let isUp = false;
        call.on('data', (msg: Buffer) => {
          if (!isUp && isReady(msg)) {
            isUp = true;
            resolve();
          }
          onMessage(state, msg);
        });
        call.on('error', (err: grpc.ServiceError) => {
          if (err.code === grpc.status.CANCELLED && stopping) return;
          errors++;
          send({ type: 'error', message: `stream ${j}: ${err.message}` });
          reject(err);
        });
      }),
    );
    call.write(subscribeBytes(j));
  }
  await Promise.all(ready);
}

let stopping = false;

async function main(): Promise<void> {
  const t0 = Date.now();
  const parallel = spec.parallelConnections ?? 10;
  let next = 0;
  const worker = async () => {
    while (next < spec.connections) await openConnection(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, spec.connections) }, worker));
  send({ type: 'ready', streams: calls.length, connections: clients.length, ms: Date.now() - t0, errors });
}

process.on('message', (m: { type: string; seq?: number }) => {
  if (m.type === 'expect') {
    expected = m.seq;
    arrivals = [];
  } else if (m.type === 'stop') {
    stopping = true;
    for (const c of calls) c.cancel();
    for (const c of clients) c.close();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));

main().catch((err: unknown) => {
  send({ type: 'error', message: `setup failed: ${err instanceof Error ? err.message : String(err)}` });
  setTimeout(() => process.exit(1), 100);
});
