/**
 * Wire compatibility of the generated ts-proto code with Google's own JavaScript runtime
 * (google-protobuf), for EVERY message type of proto/ (issue #6).
 *
 * The message types come from the descriptor at run time (`buf build`, the compiler behind
 * `npm run generate`, parsed by google-protobuf's descriptor_pb), so a new message or file is covered
 * without touching this test; every type must have a ts-proto codec and every ts-proto codec a
 * descriptor entry. protoc-gen-js is not available offline (see test/interop/jspb-runtime.ts), so the
 * google-protobuf classes are built at run time with the calls protoc-gen-js output makes.
 *
 * For each type, one populated sample per oneof member (every field set: nested messages, repeated
 * fields, maps, non-ASCII strings, negative and > 2^32 integers) plus the empty message:
 *   ts-proto encode -> google-protobuf decode (same values) -> google-protobuf encode -> ts-proto decode
 * and the result deep-equals the original. Also: unknown fields survive google-protobuf's
 * decode/encode where the runtime supports it (BinaryReader.readUnknownField /
 * BinaryWriter.writeUnknownFields, google-protobuf 4.x), at the top level of every type and nested;
 * unknown enum values survive both runtimes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FieldDescriptorProto, FileDescriptorSet } from 'google-protobuf/google/protobuf/descriptor_pb';
import { camel, JspbSchema, type FieldInfo, type TypeInfo } from '../interop/jspb-runtime';

const ROOT = path.resolve(__dirname, '..', '..');
const T = FieldDescriptorProto.Type;

/** A ts-proto message codec (MessageFns). */
interface Codec {
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): Record<string, unknown>;
  fromPartial(o: unknown): Record<string, unknown>;
}
const isCodec = (v: unknown): v is Codec =>
  typeof v === 'object' && v !== null && ['encode', 'decode', 'fromPartial'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function');

// The descriptor of proto/, compiled by buf (offline: the binary comes with the npm package).
const descriptorBytes = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'buf'), ['build', '--exclude-source-info', '-o', '-#format=binpb'], {
  cwd: ROOT,
  maxBuffer: 64 * 1024 * 1024,
});
const descriptorSet = FileDescriptorSet.deserializeBinary(new Uint8Array(descriptorBytes));
const files = descriptorSet.getFileList().map((f) => f.getName()!);
const generated = new Map<string, Record<string, unknown>>(
  files.map((f) => [f, require(path.join(ROOT, 'generated', f.replace(/\.proto$/, ''))) as Record<string, unknown>]),
);
const schema = new JspbSchema(descriptorSet, { preserveUnknown: true });
const types = [...schema.types.values()];

function codecOf(t: TypeInfo): Codec {
  const c = generated.get(t.file)?.[t.tsName];
  if (!isCodec(c)) throw new Error(`no ts-proto codec ${t.tsName} in generated/${t.file.replace(/\.proto$/, '.ts')} for ${t.fullName}`);
  return c;
}

// ---- samples ---------------------------------------------------------------------------------------

/** Two values per scalar type, chosen to exercise the encodings (sign extension, > 2^31, UTF-8). */
function scalars(f: FieldInfo): [unknown, unknown] {
  switch (f.type) {
    case T.TYPE_STRING:
      return [`${f.name}-ü€😀`, `${f.name}-2`];
    case T.TYPE_BOOL:
      return [true, false];
    case T.TYPE_INT32:
    case T.TYPE_SINT32:
    case T.TYPE_SFIXED32:
      return [-123456, 2147483647];
    case T.TYPE_UINT32:
    case T.TYPE_FIXED32:
      return [4000000000, 1];
    case T.TYPE_INT64:
    case T.TYPE_SINT64:
    case T.TYPE_SFIXED64:
      return [-1234567890123, Number.MAX_SAFE_INTEGER];
    case T.TYPE_UINT64:
    case T.TYPE_FIXED64:
      return [Number.MAX_SAFE_INTEGER, 4294967296];
    case T.TYPE_DOUBLE:
      return [1.5, -2.25e10];
    case T.TYPE_FLOAT:
      return [1.5, -0.25];
    case T.TYPE_BYTES:
      return [Buffer.from([0, 1, 2, 255]), Buffer.from('x')];
    case T.TYPE_ENUM: {
      const values = (schema.enums.get(f.typeName) ?? []).filter((v) => v !== 0);
      if (values.length === 0) throw new Error(`enum ${f.typeName} has no non-zero value`);
      return [Math.max(...values), Math.min(...values)];
    }
    default:
      throw new Error(`${f.name}: no sample for field type ${f.type}`);
  }
}

const MAX_DEPTH = 4;

/** The value of one field: index 0 or 1 picks between two distinct samples. */
function valueFor(f: FieldInfo, depth: number, which: 0 | 1): unknown {
  if (f.type === T.TYPE_MESSAGE) {
    if (depth >= MAX_DEPTH) return undefined;
    return sample(schema.type(f.typeName), which, depth + 1);
  }
  return scalars(f)[which];
}

/** A populated message in ts-proto shape; `variant` picks the member of each oneof. */
function sample(t: TypeInfo, variant: number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of t.fields) {
    if (f.oneof) continue;
    if (f.map) {
      const keys = scalars(f.map.key);
      out[f.jsonName] = { [String(keys[0])]: valueFor(f.map.value, depth, 0), [String(keys[1])]: valueFor(f.map.value, depth, 1) };
    } else if (f.repeated) {
      if (f.type === T.TYPE_MESSAGE && depth >= MAX_DEPTH) out[f.jsonName] = [];
      else out[f.jsonName] = [valueFor(f, depth, 0), valueFor(f, depth, 1)];
    } else {
      out[f.jsonName] = valueFor(f, depth, 0);
    }
  }
  for (const o of t.oneofs) {
    const member = o.fields[variant % o.fields.length]!;
    const v = valueFor(member, depth, 0);
    if (v !== undefined) out[camel(o.name)] = { $case: member.jsonName, [member.jsonName]: v };
  }
  return out;
}

/** Samples of a type: one per oneof member (at least one), and the empty message. */
function samplesOf(t: TypeInfo): { label: string; value: Record<string, unknown> }[] {
  const variants = Math.max(1, ...t.oneofs.map((o) => o.fields.length));
  const out = [{ label: 'empty', value: {} }];
  for (let v = 0; v < variants; v++) {
    const label = t.oneofs.length ? `oneofs: ${t.oneofs.map((o) => `${o.name}=${o.fields[v % o.fields.length]!.name}`).join(', ')}` : 'populated';
    out.push({ label, value: sample(t, v) });
  }
  return out;
}

// ---- the round trip ----------------------------------------------------------------------------------

let identicalBytes = 0;
let roundTrips = 0;
const differentBytes: string[] = [];

/** Whether a type has a map field, itself or in a message it contains. */
function hasMap(t: TypeInfo, seen = new Set<string>()): boolean {
  if (seen.has(t.fullName)) return false;
  seen.add(t.fullName);
  return t.fields.some((f) => f.map !== undefined || (f.type === T.TYPE_MESSAGE && hasMap(schema.type(f.typeName), seen)));
}

/** Every field of a populated sample is set (so the sample's names are ts-proto's, not ignored). */
function assertPopulated(t: TypeInfo, msg: Record<string, unknown>): void {
  const unset = (v: unknown) =>
    v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && Object.keys(v).length === 0);
  const names = [...t.fields.filter((f) => !f.oneof).map((f) => f.jsonName), ...t.oneofs.map((o) => camel(o.name))];
  const missing = names.filter((n) => unset(msg[n]));
  assert.deepEqual(missing, [], `${t.fullName}: sample fields left unset`);
  assert.deepEqual(Object.keys(msg).sort(), [...names].sort(), `${t.fullName}: ts-proto fields differ from the descriptor's`);
}

/** ts-proto -> google-protobuf -> ts-proto, checking the values on both sides. */
function roundTrip(t: TypeInfo, value: Record<string, unknown>): void {
  const codec = codecOf(t);
  const msg = codec.fromPartial(value);
  if (Object.keys(value).length > 0) assertPopulated(t, msg);
  const bytes = codec.encode(msg).finish();
  const viaGoogle = schema.decode(t.fullName, bytes);
  assert.deepStrictEqual(schema.toTsShape(t.fullName, viaGoogle), msg, 'google-protobuf decoded other values than ts-proto encoded');
  const again = schema.encode(t.fullName, viaGoogle);
  assert.deepStrictEqual(codec.decode(again), msg, 'ts-proto decoded other values than google-protobuf encoded');
  roundTrips++;
  if (Buffer.compare(Buffer.from(bytes), Buffer.from(again)) === 0) identicalBytes++;
  else differentBytes.push(t.fullName);
}

describe('wire compatibility: ts-proto <-> google-protobuf (Google JS runtime)', () => {
  test('every message type in the descriptor has a ts-proto codec, and every ts-proto codec is in the descriptor', () => {
    assert.ok(types.length > 50, `only ${types.length} message types found in the descriptor`);
    const missing = types.filter((t) => !isCodec(generated.get(t.file)?.[t.tsName])).map((t) => t.fullName);
    assert.deepEqual(missing, [], 'message types without a ts-proto codec (run npm run generate?)');
    const known = new Set(types.map((t) => `${t.file}:${t.tsName}`));
    const extra: string[] = [];
    for (const [file, mod] of generated) {
      for (const [name, v] of Object.entries(mod)) if (isCodec(v) && !known.has(`${file}:${name}`)) extra.push(`${file}:${name}`);
    }
    assert.deepEqual(extra, [], 'ts-proto codecs with no message in the descriptor (stale generated/?)');
  });

  for (const file of files) {
    const inFile = types.filter((t) => t.file === file);
    test(`${file}: all ${inFile.length} message types survive ts-proto -> google-protobuf -> ts-proto`, (t) => {
      const failures: string[] = [];
      let samples = 0;
      for (const type of inFile) {
        for (const s of samplesOf(type)) {
          samples++;
          try {
            roundTrip(type, s.value);
          } catch (err) {
            failures.push(`${type.fullName} (${s.label}): ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
      t.diagnostic(`${inFile.length} types, ${samples} samples`);
      assert.deepEqual(failures, [], `${failures.length} of ${samples} samples failed:\n${failures.join('\n')}`);
    });
  }

  test('google-protobuf re-encodes byte for byte what ts-proto encoded, except for map entry order', (t) => {
    // Both runtimes write fields in declaration order and pack repeated scalars; jspb.Map writes its
    // entries sorted by key while ts-proto keeps insertion order (map order carries no meaning).
    t.diagnostic(`${identicalBytes} of ${roundTrips} round trips byte-identical; ${differentBytes.length} differ, all in types with maps`);
    assert.deepEqual(differentBytes.filter((name) => !hasMap(schema.type(name))), [], 'types without maps re-encoded differently');
    assert.ok(identicalBytes > roundTrips / 2);
  });

  /** Fields no message of proto/ uses: one per wire type. */
  const unknownFields = () =>
    new BinaryWriter()
      .tag(9001, WireType.Varint)
      .uint64(123456789012n)
      .tag(9002, WireType.LengthDelimited)
      .string('a field from a newer schema')
      .tag(9003, WireType.Bit32)
      .fixed32(0xdeadbeef)
      .tag(9004, WireType.Bit64)
      .fixed64(0x0102030405060708n)
      .finish();

  /** [field number, wire type, raw bytes] of every field of an encoded message. */
  function fieldsOf(bytes: Uint8Array): [number, WireType, string][] {
    const r = new BinaryReader(bytes);
    const out: [number, WireType, string][] = [];
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      out.push([no, wt, Buffer.from(r.skip(wt, no)).toString('hex')]);
    }
    return out;
  }

  test('unknown fields survive google-protobuf decode/encode (readUnknownField/writeUnknownFields), for every message type', () => {
    const extra = unknownFields();
    const expected = fieldsOf(extra);
    for (const t of types) assert.ok(t.fields.every((f) => f.number < 9000), `${t.fullName} uses a field number >= 9000; pick others here`);
    const failures: string[] = [];
    for (const t of types) {
      const codec = codecOf(t);
      const msg = codec.fromPartial(sample(t, 0));
      const withUnknown = Buffer.concat([codec.encode(msg).finish(), extra]);
      try {
        const again = schema.encode(t.fullName, schema.decode(t.fullName, withUnknown));
        assert.deepEqual(fieldsOf(again).filter(([no]) => no >= 9000), expected, 'unknown fields lost or changed');
        assert.deepStrictEqual(codec.decode(again), msg, 'known fields changed');
      } catch (err) {
        failures.push(`${t.fullName}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('unknown fields inside a nested message survive too (ConnectRequest.register)', () => {
    const register = schema.type('nameserver.v1.RegisterBrokerRequest');
    const inner = Buffer.concat([codecOf(register).encode(codecOf(register).fromPartial(sample(register, 0))).finish(), unknownFields()]);
    const outer = new BinaryWriter().tag(1, WireType.Varint).uint64(7).tag(2, WireType.LengthDelimited).bytes(inner).finish();
    const again = schema.encode('nameserver.v1.ConnectRequest', schema.decode('nameserver.v1.ConnectRequest', outer));
    const body = fieldsOf(again).find(([no]) => no === 2);
    assert.ok(body, 'register field lost');
    // The raw bytes of a length-delimited field include the length prefix: read it as a message.
    const payload = new BinaryReader(Buffer.from(body[2], 'hex')).bytes();
    assert.deepEqual(fieldsOf(payload).filter(([no]) => no >= 9000), fieldsOf(unknownFields()));
  });

  test('unknown enum values (proto3 open enums) survive both runtimes', () => {
    const topic = schema.type('nameserver.v1.TopicConfig');
    const codec = codecOf(topic);
    const msg = codec.fromPartial({ name: 'future', permission: 99, messageType: 42 });
    const viaGoogle = schema.decode(topic.fullName, codec.encode(msg).finish());
    assert.equal(schema.toTsShape(topic.fullName, viaGoogle).permission, 99);
    const back = codec.decode(schema.encode(topic.fullName, viaGoogle));
    assert.deepEqual([back.permission, back.messageType], [99, 42]);
  });
});
