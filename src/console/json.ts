/**
 * Proto-JSON in and out of the gateway through the generated `fromJSON`/`toJSON`. The generated
 * `fromJSON` is lenient (unknown fields are dropped, "abc" becomes NaN, an unknown enum name becomes
 * UNRECOGNIZED); the gateway must not turn a typo into a different request, so it converts back with
 * `toJSON` and refuses, naming the field, whatever did not survive the round trip. This needs no
 * knowledge of any message: it compares the caller's JSON with the message's own JSON.
 */
import type { MessageFns } from './methods';

/** A request the gateway refuses before calling the server (HTTP 400, INVALID_ARGUMENT). */
export class BadRequest extends Error {}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Values proto-JSON may omit: a field set to one of these is legitimately absent after the round trip. */
function isDefault(v: unknown): boolean {
  if (v === null || v === 0 || v === '' || v === false || v === '0') return true;
  if (typeof v === 'string') return /^[A-Z0-9_]+_UNSPECIFIED$/.test(v);
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.values(v).every(isDefault);
  return false;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : isPlainObject(v) ? 'an object' : `a ${typeof v}`);
const where = (path: string) => (path ? `field "${path}"` : 'the request');

/**
 * `output` is the message's JSON (defaults omitted), `message` the message itself (ts-proto fills every
 * field, so it tells a field that exists but lost its value from a field that does not exist).
 */
function compare(input: unknown, output: unknown, message: unknown, path: string): void {
  if (input === null || input === undefined) return;
  if (isPlainObject(input)) {
    if (output === undefined && isPlainObject(message)) output = {};
    if (!isPlainObject(output)) throw new BadRequest(`${where(path)}: expected ${kind(output ?? message)}, got an object`);
    const msg = isPlainObject(message) ? message : {};
    for (const [k, v] of Object.entries(input)) {
      const name: string = k in output || k in msg ? k : camel(k);
      const sub = path ? `${path}.${k}` : k;
      if (!(name in output)) {
        if (isDefault(v)) continue;
        if (!(name in msg)) throw new BadRequest(`unknown field "${sub}"`);
      }
      compare(v, output[name], msg[name], sub);
    }
    return;
  }
  if (Array.isArray(input)) {
    if (input.length === 0) return;
    if (!Array.isArray(output)) throw new BadRequest(`${where(path)}: expected ${kind(output ?? message)}, got a list`);
    if (output.length !== input.length) throw new BadRequest(`${where(path)}: invalid list`);
    const msgs = Array.isArray(message) ? message : [];
    input.forEach((v, i) => compare(v, output[i], msgs[i], `${path}[${i}]`));
    return;
  }
  // A scalar.
  if (output === 'UNRECOGNIZED') throw new BadRequest(`${where(path)}: unknown enum value ${JSON.stringify(input)}`);
  if (isPlainObject(output) || Array.isArray(output) || isPlainObject(message) || Array.isArray(message)) {
    throw new BadRequest(`${where(path)}: expected ${kind(output ?? message)}, got ${kind(input)}`);
  }
  if (output === undefined) {
    if (isDefault(input)) return;
    throw new BadRequest(`${where(path)}: invalid value ${JSON.stringify(input)}`);
  }
  if (typeof output === 'number') {
    if (!Number.isFinite(output)) throw new BadRequest(`${where(path)}: not a number: ${JSON.stringify(input)}`);
    if (typeof input === 'boolean') throw new BadRequest(`${where(path)}: expected a number, got a boolean`);
    if (Number(input) !== output) throw new BadRequest(`${where(path)}: expected an integer, got ${JSON.stringify(input)}`);
    return;
  }
  if (typeof output === 'boolean') {
    if (typeof input !== 'boolean') throw new BadRequest(`${where(path)}: expected true or false, got ${JSON.stringify(input)}`);
    return;
  }
  if (typeof output === 'string' && typeof input === 'boolean') {
    throw new BadRequest(`${where(path)}: expected a string, got a boolean`);
  }
}

/** Parse a request body (a JSON text; empty means `{}`) into a message, strictly. */
export function parseRequest(fns: MessageFns, text: string): unknown {
  let input: unknown;
  if (text.trim() === '') input = {};
  else {
    try {
      input = JSON.parse(text);
    } catch (err) {
      throw new BadRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isPlainObject(input)) throw new BadRequest(`the request body must be a JSON object, not ${kind(input)}`);
  try {
    const message = fns.fromJSON(input);
    compare(input, fns.toJSON(message), message, '');
    fns.encode(message).finish(); // out-of-range numbers ("invalid uint32: -1") fail here, not in grpc-js
    return message;
  } catch (err) {
    if (err instanceof BadRequest) throw err;
    // fromJSON on a shape it cannot read, a value out of range, or nesting too deep to walk.
    const detail = err instanceof RangeError && /call stack/i.test(err.message) ? 'nested too deeply' : (err as Error).message;
    throw new BadRequest(`the request body does not match the request message: ${detail}`);
  }
}
