/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`): self time per function and per code area, as
 * markdown, for the notes under a missed target.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fmt, ROOT, table } from './common';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * The main thread's .cpuprofile in a directory: the largest one (tsx's loader runs in a worker thread
 * that writes a small profile of its own).
 */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  return files[0];
}

function where(cf: CallFrame): string {
  if (!cf.url) return '';
  let u = cf.url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length + 1);
  const dep = /node_modules\//.test(u);
  u = u.replace(/^.*node_modules\//, '');
  // Our TypeScript runs through tsx, whose line numbers do not match the sources: name the file only.
  return dep || u.startsWith('node:') ? `${u}:${cf.lineNumber + 1}` : u;
}

/** Which part of the stack a frame belongs to. */
export function area(cf: CallFrame): string {
  const u = cf.url;
  if (!u) return cf.functionName.startsWith('(') ? cf.functionName : '(native/V8)';
  if (u.includes('@grpc/grpc-js')) return 'grpc-js';
  if (u.includes('/generated/')) return 'generated protobuf (ts-proto)';
  if (u.includes('@bufbuild') || u.includes('protobufjs') || u.includes('long/')) return 'protobuf runtime';
  if (u.includes('/src/')) return 'NameServer src/';
  if (u.includes('pino') || u.includes('sonic-boom')) return 'logging';
  if (u.includes('prom-client') || u.includes('tdigest') || u.includes('bintrees')) return 'metrics (prom-client)';
  if (u.startsWith('node:internal/http2') || u.includes('http2')) return 'node http2';
  if (u.startsWith('node:internal/stream') || u.includes('streams')) return 'node streams';
  if (u.startsWith('node:')) return 'node core (other)';
  return 'other JS';
}

export interface ProfileSummary {
  /** Sampled time, idle included. */
  totalMs: number;
  /** Sampled time the thread was busy (percentages are of this). */
  busyMs: number;
  topFunctions: { name: string; where: string; area: string; selfMs: number; pct: number }[];
  allFunctions: { name: string; where: string; area: string; selfMs: number; pct: number }[];
  areas: { area: string; selfMs: number; pct: number }[];
}

/** Self time per function and per area. */
export function summarize(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  let total = 0;
  const fn = new Map<string, { name: string; where: string; area: string; selfUs: number }>();
  const areas = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    total += us;
    const name = n.callFrame.functionName || '(anonymous)';
    const w = where(n.callFrame);
    const key = `${name}@${w}`;
    const a = area(n.callFrame);
    const e = fn.get(key) ?? { name, where: w, area: a, selfUs: 0 };
    e.selfUs += us;
    fn.set(key, e);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busy = total - (areas.get('(idle)') ?? 0);
  areas.delete('(idle)');
  for (const [k, e] of fn) if (e.name === '(idle)') fn.delete(k);
  const pct = (us: number) => (busy ? (100 * us) / busy : 0);
  const allFunctions = [...fn.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .map((e) => ({ name: e.name, where: e.where, area: e.area, selfMs: e.selfUs / 1000, pct: pct(e.selfUs) }));
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    allFunctions,
    topFunctions: allFunctions.slice(0, top),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({ area: a, selfMs: us / 1000, pct: pct(us) })),
  };
}

/** Markdown of a summary. */
export function summaryMarkdown(s: ProfileSummary, title: string): string {
  return [
    `${title} (${fmt(s.totalMs)} ms sampled, ${fmt(s.busyMs)} ms busy; self time, % of busy)`,
    '',
    table(
      ['area', 'self ms', '%'],
      s.areas.filter((a) => a.pct >= 0.5).map((a) => [a.area, fmt(a.selfMs), fmt(a.pct, 1)]),
    ),
    '',
    table(
      ['function', 'where', 'area', 'self ms', '%'],
      s.topFunctions.map((f) => [`\`${f.name}\``, f.where ? `\`${f.where}\`` : '', f.area, fmt(f.selfMs), fmt(f.pct, 1)]),
    ),
  ].join('\n');
}

/**
 * Where profile `a` spends a larger share of its busy time than profile `b` (areas and functions):
 * what the NameServer adds on top of the bare framework under the same load.
 */
export function diffMarkdown(a: ProfileSummary, b: ProfileSummary, aName: string, bName: string, top = 12): string {
  const areaB = new Map(b.areas.map((x) => [x.area, x.pct]));
  const areaRows = a.areas
    .map((x) => ({ area: x.area, a: x.pct, b: areaB.get(x.area) ?? 0 }))
    .filter((x) => x.a - x.b > 0.3)
    .sort((x, y) => y.a - y.b - (x.a - x.b));
  const fnB = new Map(b.allFunctions.map((f) => [`${f.name}@${f.where}`, f.pct]));
  const fnRows = a.allFunctions
    .map((f) => ({ ...f, b: fnB.get(`${f.name}@${f.where}`) ?? 0 }))
    .filter((f) => f.pct - f.b > 0.3)
    .sort((x, y) => y.pct - y.b - (x.pct - x.b))
    .slice(0, top);
  return [
    `Where ${aName} spends more of its busy time than ${bName} (percentage points of busy time):`,
    '',
    table(['area', `${aName} %`, `${bName} %`, 'difference'], areaRows.map((x) => [x.area, fmt(x.a, 1), fmt(x.b, 1), `+${fmt(x.a - x.b, 1)}`])),
    '',
    table(['function', 'where', `${aName} %`, `${bName} %`, 'difference'], fnRows.map((f) => [`\`${f.name}\``, f.where ? `\`${f.where}\`` : '', fmt(f.pct, 1), fmt(f.b, 1), `+${fmt(f.pct - f.b, 1)}`])),
  ].join('\n');
}
