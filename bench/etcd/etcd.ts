/**
 * etcd as the reference system: a single-member etcd (Debian's etcd-server) on 127.0.0.1 with a
 * temporary data directory, and grpc-js clients for the few RPCs the benchmarks use (etcd.proto).
 */
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ensureBinary, freePort, note, RAW_DIR, sleep, stopChild, toolVersion, waitForPort } from '../lib/common';

const PROTO = path.join(__dirname, 'etcd.proto');

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  modRevision: string;
}
export interface RangeResponse {
  kvs: KeyValue[];
}
export interface WatchResponse {
  watchId: string;
  created: boolean;
  canceled: boolean;
  events: { type: string; kv?: KeyValue }[];
}

type Cb<T> = (err: grpc.ServiceError | null, res?: T) => void;
/** The generated KV client, typed for the calls used here. */
export interface KvClient extends grpc.Client {
  range(req: { key: Buffer; serializable?: boolean }, cb: Cb<RangeResponse>): void;
  put(req: { key: Buffer; value: Buffer }, cb: Cb<object>): void;
}
export interface WatchClient extends grpc.Client {
  watch(): grpc.ClientDuplexStream<object, WatchResponse>;
}

let pkg: { KV: grpc.ServiceClientConstructor; Watch: grpc.ServiceClientConstructor } | undefined;
let defs: protoLoader.PackageDefinition | undefined;

function load() {
  if (!pkg) {
    defs = protoLoader.loadSync(PROTO, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    pkg = (grpc.loadPackageDefinition(defs) as unknown as { etcdserverpb: typeof pkg }).etcdserverpb!;
  }
  return pkg;
}

/** KV client (channel options e.g. a local subchannel pool for separate connections). */
export function kvClient(address: string, options: grpc.ChannelOptions = {}): KvClient {
  return new (load().KV)(address, grpc.credentials.createInsecure(), options) as unknown as KvClient;
}

export function watchClient(address: string, options: grpc.ChannelOptions = {}): WatchClient {
  return new (load().Watch)(address, grpc.credentials.createInsecure(), options) as unknown as WatchClient;
}

/** Encoded RangeRequest (the request body of h2load runs against etcd). */
export function encodeRangeRequest(value: { key: Buffer; serializable: boolean }): Buffer {
  load();
  return (defs!['etcdserverpb.KV'] as protoLoader.ServiceDefinition).Range!.requestSerialize(value);
}

/** Encoded WatchRequest{create_request{key}}. */
export function encodeWatchCreate(key: Buffer): Buffer {
  load();
  return (defs!['etcdserverpb.Watch'] as protoLoader.ServiceDefinition).Watch!.requestSerialize({ createRequest: { key } });
}

/** Decode a RangeResponse (sanity checks of raw calls). */
export function decodeRangeResponse(bytes: Buffer): RangeResponse {
  load();
  return (defs!['etcdserverpb.KV'] as protoLoader.ServiceDefinition).Range!.responseDeserialize(bytes) as RangeResponse;
}

export function promisify<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))));
}

/** A running etcd. */
export interface Etcd {
  child: ChildProcess;
  port: number;
  address: string;
  version: string;
  stop(): Promise<void>;
}

/**
 * Where etcd keeps its data: tmpfs (/dev/shm) when there is one, so etcd's WAL fsync costs what it
 * would on a fast disk and the shared machine's disk does not add noise (this favours etcd);
 * BENCH_ETCD_DIR overrides.
 */
function dataParent(): string {
  if (process.env.BENCH_ETCD_DIR) return process.env.BENCH_ETCD_DIR;
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

/** Start a single-member etcd on loopback ports with a fresh data dir (installs etcd-server if missing). */
export async function startEtcd(): Promise<Etcd> {
  ensureBinary('etcd', 'etcd-server');
  const dir = mkdtempSync(path.join(dataParent(), 'bench-etcd-'));
  const port = await freePort();
  const peer = await freePort();
  mkdirSync(RAW_DIR, { recursive: true });
  const client = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    'etcd',
    [
      '--name', 'bench',
      '--data-dir', dir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `bench=${peerUrl}`,
      '--logger', 'zap',
      '--log-level', 'error',
    ],
    // etcd's own warnings (e.g. streams cut when h2load stops) go to a log file, not the bench output.
    { stdio: ['ignore', 'ignore', openSync(path.join(RAW_DIR, `etcd-${port}.log`), 'w')] },
  );
  const stop = async () => {
    await stopChild(child, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port);
    const kv = kvClient(`127.0.0.1:${port}`);
    for (let i = 0; ; i++) {
      try {
        await promisify<RangeResponse>((cb) => kv.range({ key: Buffer.from('ready'), serializable: true }, cb));
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(100);
      }
    }
    kv.close();
  } catch (err) {
    await stop();
    throw err;
  }
  const version = toolVersion('etcd', ['--version']);
  note(`etcd ${version} on 127.0.0.1:${port} (data dir ${dir})`);
  return { child, port, address: `127.0.0.1:${port}`, version, stop };
}
