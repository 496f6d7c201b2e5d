/** Heap snapshot summaries: self size and count per object kind, and the diff of two snapshots. */
import { readFileSync } from 'node:fs';

export interface KindDelta {
  kind: string;
  size: number;
  count: number;
}

/** Self size and count per object kind ("Object", "Map", "(string)", "(array) …") of a snapshot file. */
export function byKind(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = f.length;
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!;
    let name = snap.strings[snap.nodes[i + iName]!]!;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    else if (type === 'number') name = '(heap number)';
    else if (type === 'code' || type === 'closure') name = `(${type})`;
    else if (type === 'array') name = `(array) ${name}`.trim();
    else if (type === 'hidden' || type === 'object shape') name = `(${type}) ${name.replace(/\d+/g, 'N').slice(0, 48)}`;
    else if (type !== 'object' && type !== 'native') name = `(${type})`;
    const e = out.get(name) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + iSize]!;
    e.count++;
    out.set(name, e);
  }
  return out;
}

/** Kinds that grew from `beforeFile` to `afterFile`, largest first, and the total growth. */
export function diffSnapshots(beforeFile: string, afterFile: string, top = 14): { total: number; kinds: KindDelta[] } {
  const before = byKind(beforeFile);
  const after = byKind(afterFile);
  const kinds = [...new Set([...before.keys(), ...after.keys()])].map((k) => ({
    kind: k,
    size: (after.get(k)?.size ?? 0) - (before.get(k)?.size ?? 0),
    count: (after.get(k)?.count ?? 0) - (before.get(k)?.count ?? 0),
  }));
  const total = kinds.reduce((s, k) => s + k.size, 0);
  return { total, kinds: kinds.filter((k) => k.size > 0).sort((a, b) => b.size - a.size).slice(0, top) };
}
