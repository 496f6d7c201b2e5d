/**
 * JSON as RocketMQ's Java side writes and reads it (fastjson 1.x). Two differences from standard JSON
 * matter on the wire:
 * - maps with numeric keys (BrokerData.brokerAddrs: broker id → address) are written with the keys
 *   unquoted, `{0:"10.0.0.5:10911"}`, unless the writer asks for standard JSON (routes for clients
 *   from 4.9.4 on, which set BrowserCompatible: keys quoted, non-ASCII escaped);
 * - readers must accept such keys in what brokers send.
 */

/** A map whose keys are numbers (Java Long): written unquoted in fastjson's default form. */
export class NumberKeyMap {
  constructor(readonly entries: readonly (readonly [number, unknown])[]) {}
}

/** Serialise `v` as fastjson would (objects keep their key order: build them in field-name order). */
export function writeJson(v: unknown, standard: boolean): string {
  const out: string[] = [];
  write(v, standard, out);
  return out.join('');
}

function write(v: unknown, standard: boolean, out: string[]): void {
  if (v === null || v === undefined) {
    out.push('null');
  } else if (typeof v === 'string') {
    out.push(quote(v, standard));
  } else if (typeof v === 'number' || typeof v === 'boolean') {
    out.push(String(v));
  } else if (v instanceof NumberKeyMap) {
    const entries = standard ? [...v.entries].sort((a, b) => a[0] - b[0]) : v.entries;
    out.push('{');
    entries.forEach(([k, val], i) => {
      if (i > 0) out.push(',');
      out.push(standard ? `"${k}"` : String(k), ':');
      write(val, standard, out);
    });
    out.push('}');
  } else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i > 0) out.push(',');
      write(x, standard, out);
    });
    out.push(']');
  } else if (typeof v === 'object') {
    out.push('{');
    let first = true;
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (val === undefined) continue; // fastjson omits null fields
      if (!first) out.push(',');
      first = false;
      out.push(quote(k, standard), ':');
      write(val, standard, out);
    }
    out.push('}');
  }
}

/** A JSON string; in standard (browser-compatible) form every non-ASCII character is \u-escaped. */
function quote(s: string, standard: boolean): string {
  const q = JSON.stringify(s);
  return standard ? q.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : q;
}

/** Parse JSON that may have unquoted numeric object keys (fastjson's default form). Throws SyntaxError. */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(quoteNumericKeys(text));
  }
}

/** Quote numeric keys that follow `{` or `,` outside strings (`{0:"a",1:"b"}` → `{"0":"a","1":"b"}`). */
function quoteNumericKeys(text: string): string {
  const out: string[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    out.push(c);
    if (inString) {
      if (c === '\\') out.push(text[++i] ?? '');
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== '{' && c !== ',') continue;
    const m = /^(\s*)(-?\d+)(\s*):/.exec(text.slice(i + 1, i + 64));
    if (m) {
      out.push(`${m[1]}"${m[2]}"${m[3]}:`);
      i += m[0].length;
    }
  }
  return out.join('');
}
