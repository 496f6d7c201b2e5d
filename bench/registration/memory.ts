/**
 * Registration memory, in a fresh process (so RSS is this layout's alone): `brokers` brokers (replica
 * sets of 2) × `topics` topics, every topic held by 8 replica sets. Reports are decoded from their
 * encoded bytes, so each broker's strings are its own as in the server. Prints one JSON line.
 *
 * Usage: node --expose-gc --import tsx bench/registration/memory.ts BROKERS TOPICS [--snapshot DIR]
 *  - default: heapUsed/external/RSS before and after (full GCs), with a sampling heap profile running
 *    (retained bytes by allocating function);
 *  - --snapshot DIR: heap snapshots before and after, summarised as self size by object kind.
 */
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';
import { RegisterBrokerRequest } from '../../generated/nameserver/v1/broker_registry';
import { MetadataCore } from '../../src/server/metadata/core';
import { ROOT } from '../lib/common';
import { diffSnapshots } from '../lib/heap';
import { brokerReport } from '../lib/cluster';
import { REGISTRY_OPTIONS, SETS_PER_TOPIC } from './options';

const [brokersArg, topicsArg, flag, dir] = process.argv.slice(2);
const BROKERS = Number(brokersArg);
const TOPICS = Number(topicsArg);

const gc = (globalThis as { gc?: () => void }).gc;
function fullGc(): void {
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
}

/** Encoded reports: broker (set s, replica id) reports topics t-<floor(s/8)>-0..TOPICS-1. */
function reports(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const sets = Math.ceil(BROKERS / 2);
  for (let s = 0; s < sets; s++) {
    const group = Array.from({ length: TOPICS }, (_, i) => `t-${Math.floor(s / SETS_PER_TOPIC)}-${i}`);
    for (let id = 0; id < 2 && out.length < BROKERS; id++) out.push(RegisterBrokerRequest.encode(brokerReport(s, id, group)).finish());
  }
  return out;
}

function register(wire: Uint8Array[]): { core: MetadataCore; ms: number } {
  const core = new MetadataCore(REGISTRY_OPTIONS);
  const t0 = Date.now();
  for (let i = 0; i < wire.length; i++) {
    core.register(RegisterBrokerRequest.decode(wire[i]!), { kind: 'lease' });
    wire[i] = new Uint8Array(0); // a report's bytes are gone once it is applied
  }
  return { core, ms: Date.now() - t0 };
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

async function measure(): Promise<void> {
  const wire = reports();
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  fullGc();
  const before = process.memoryUsage();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384 });
  const { core, ms } = register(wire);
  fullGc();
  const after = process.memoryUsage();
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
  session.disconnect();
  let routeBytes = 0;
  for (const t of core.routes.topicNames()) {
    const e = core.routes.get(t)!;
    routeBytes += e.getRouteBytes.length + e.updateEventBytes.length;
  }
  const sites = new Map<string, { fn: string; where: string; bytes: number }>();
  const walk = (n: HeapNode) => {
    if (n.selfSize > 0) {
      const dep = n.callFrame.url.includes('node_modules/');
      const url = n.callFrame.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '').replace(/^.*node_modules\//, '');
      const where = url && (dep || url.startsWith('node:')) ? `${url}:${n.callFrame.lineNumber + 1}` : url;
      const fn = n.callFrame.functionName || '(anonymous)';
      const k = `${fn}@${where}`;
      const e = sites.get(k) ?? { fn, where, bytes: 0 };
      e.bytes += n.selfSize;
      sites.set(k, e);
    }
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const out = {
    entries: core.topics.entryCount(),
    routes: core.routes.size,
    brokers: core.brokers.size,
    registerMs: ms,
    heapDelta: after.heapUsed - before.heapUsed,
    externalDelta: after.external + after.arrayBuffers - before.external - before.arrayBuffers,
    rssBefore: before.rss,
    rssAfter: after.rss,
    routeBytes,
    sites: [...sites.values()].sort((a, b) => b.bytes - a.bytes).slice(0, 12),
  };
  core.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function snapshot(outDir: string): void {
  const wire = reports();
  fullGc();
  const beforeFile = v8.writeHeapSnapshot(path.join(outDir, 'before.heapsnapshot'));
  const { core } = register(wire);
  fullGc();
  const afterFile = v8.writeHeapSnapshot(path.join(outDir, 'after.heapsnapshot'));
  const entries = core.topics.entryCount();
  core.close();
  const { total, kinds } = diffSnapshots(beforeFile, afterFile);
  process.stdout.write(`${JSON.stringify({ entries, total, kinds })}\n`);
}

if (flag === '--snapshot') snapshot(dir!);
else void measure();
