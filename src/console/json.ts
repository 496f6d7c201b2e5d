/**
 * Proto-JSON in and out of the gateway with @bufbuild/protobuf's canonical codec, driven by the
 * descriptor set buf compiles (generated/descriptors.binpb): requests are parsed strictly (unknown
 * fields, unknown enum names, wrong types and out-of-range numbers are refused) and encoded to the
 * wire format; responses are decoded from the wire and written as canonical proto3 JSON (camelCase
 * names, enum names, 64-bit integers as strings, default values omitted).
 *
 * The codec names the offending field by its type ("TopicConfig.read_queue_nums"); an operator
 * wants to know where in *their* request it is, so when a request fails, `locate` walks the request
 * alongside the schema and asks the same codec about each field, to report the path from the root
 * ("topic.read_queue_nums"). Every rule is the codec's; the walk only finds where it applied.
 */
import { readFileSync } from 'node:fs';
import {
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescField,
  type DescMessage,
  type FileRegistry,
  type JsonValue,
} from '@bufbuild/protobuf';
import { descriptorSetPath } from '../shared/descriptors';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

/** A request the gateway refuses before calling the server (HTTP 400, INVALID_ARGUMENT). */
export class BadRequest extends Error {}

/** The schemas of every message and service in a serialized FileDescriptorSet. */
export function loadRegistry(set: Uint8Array = readFileSync(descriptorSetPath())): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, set));
}

type JsonObject = { [k: string]: JsonValue };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : isObject(v) ? 'an object' : `a ${typeof v}`);

/** The codec's reason without its "cannot decode field x.y.Z.f from JSON:" preamble. */
function reasonOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  const enumValue = /^cannot decode enum ([\w.]+) from JSON: (.*)$/s.exec(m);
  if (enumValue) return `unknown enum value ${enumValue[2]} (not a value of ${enumValue[1]})`;
  const message = /^cannot decode message ([\w.]+) from JSON: (.*)$/s.exec(m);
  if (message && !/^key /.test(message[2]!)) return `expected an object (${message[1]}), got ${message[2]}`;
  return m.replace(/^cannot decode (field|message) [\w.]+ from JSON: /, '');
}

function fieldOf(schema: DescMessage, key: string): DescField | undefined {
  return schema.fields.find((f) => f.name === key || f.jsonName === key);
}

/** Where in `json` (a request of `schema`) the codec's rules fail, as a sentence naming the path. */
function locate(schema: DescMessage, json: JsonObject, at: string): string | undefined {
  for (const [key, value] of Object.entries(json)) {
    const here = at ? `${at}.${key}` : key;
    const field = fieldOf(schema, key);
    if (!field) return `unknown field "${here}"`;
    let reason: string;
    try {
      fromJson(schema, { [key]: value });
      continue;
    } catch (err) {
      reason = reasonOf(err);
    }
    // Look deeper where the field holds messages, for the innermost field at fault.
    if (field.fieldKind === 'message' && isObject(value)) {
      const inner = locate(field.message, value, here);
      if (inner) return inner;
    } else if (field.fieldKind === 'list' && field.listKind === 'message' && Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        if (!isObject(item)) continue;
        const inner = locate(field.message, item, `${here}[${i}]`);
        if (inner) return inner;
      }
    } else if (field.fieldKind === 'map' && field.mapKind === 'message' && isObject(value)) {
      for (const [k, item] of Object.entries(value)) {
        if (!isObject(item)) continue;
        const inner = locate(field.message, item, `${here}[${JSON.stringify(k)}]`);
        if (inner) return inner;
      }
    }
    return `field "${here}": ${reason}`;
  }
  return undefined;
}

/**
 * Parse a request body (a JSON text; empty means `{}`) into the wire encoding of `schema`, strictly.
 * Accepts proto field names or JSON (camelCase) names, enum names or numbers, 64-bit integers as
 * numbers or strings, as proto3 JSON does.
 */
export function parseRequest(schema: DescMessage, text: string): Uint8Array {
  let input: unknown;
  if (text.trim() === '') input = {};
  else {
    try {
      input = JSON.parse(text);
    } catch (err) {
      throw new BadRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(input)) throw new BadRequest(`the request body must be a JSON object, not ${kind(input)}`);
  try {
    return toBinary(schema, fromJson(schema, input));
  } catch (err) {
    const detail = err instanceof RangeError && /call stack/i.test(err.message) ? 'nested too deeply' : undefined;
    let where: string | undefined;
    try {
      where = detail ? undefined : locate(schema, input, '');
    } catch {
      where = undefined;
    }
    throw new BadRequest(where ?? `the request body does not match ${schema.typeName}: ${detail ?? reasonOf(err)}`);
  }
}

/** A response in the wire format, as canonical proto3 JSON. */
export function responseJson(schema: DescMessage, bytes: Uint8Array): JsonValue {
  return toJson(schema, fromBinary(schema, bytes));
}
