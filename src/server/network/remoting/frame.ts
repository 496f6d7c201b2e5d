/**
 * RocketMQ remoting frames: the wire format RocketMQ brokers, clients and mqadmin speak to a NameServer.
 *
 * A frame is a 4-byte big-endian length (of everything after it), then 4 bytes holding the header's
 * serialize type (high byte: 0 JSON, 1 ROCKETMQ binary) and length (low 24 bits), the header, and the
 * body (whatever is left). The header carries code, language, version, opaque (pairs a response with
 * its request), flag (bit 0: response, bit 1: one-way), remark and extFields (string to string; the
 * request-specific fields). Pure functions and one streaming splitter; nothing here does I/O.
 */

/** A decoding problem: the connection that sent it is closed (the stream cannot be resynchronised). */
export class FrameError extends Error {}

/** How the header is serialised. */
export enum SerializeType {
  JSON = 0,
  ROCKETMQ = 1,
}

/** Flag bit: this command is a response. */
export const FLAG_RESPONSE = 1;
/** Flag bit: the sender expects no response. */
export const FLAG_ONEWAY = 2;

/** One remoting command (request or response). */
export interface RemotingCommand {
  code: number;
  /** Language name of the sender ("JAVA", "GO", ...). */
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string;
  extFields: Record<string, string>;
  body?: Buffer;
  serializeType: SerializeType;
}

/** Language codes of the ROCKETMQ binary header (one byte) and their names in JSON headers. */
const LANGUAGES = ['JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST', 'NODE_JS'];

/** The smallest ROCKETMQ binary header: code 2, language 1, version 2, opaque 4, flag 4, remark 4, ext 4. */
const MIN_BINARY_HEADER = 21;

/**
 * Reusable frame buffers for large frames. A broker re-sends its whole topic table every 30 s (hundreds
 * of KiB); a fresh buffer per frame is memory outside the V8 heap, and V8 answers that much external
 * allocation with full garbage collections of the whole (large) heap. Frames of 64 KiB to 4 MiB take a
 * buffer of the next power of two from here and give it back once nothing refers to it any more (the
 * door does so after handlers that keep no view of the body); at most a few per size class are kept.
 */
export class FrameBufferPool {
  static readonly MIN = 64 * 1024;
  static readonly MAX = 4 * 1024 * 1024;
  private static readonly PER_CLASS = 4;
  private readonly free = new Map<number, Buffer[]>();

  /** A buffer of at least `n` bytes (pooled sizes: a power of two; others: exactly n). Its bytes are not zeroed. */
  take(n: number): Buffer {
    if (n < FrameBufferPool.MIN || n > FrameBufferPool.MAX) return Buffer.allocUnsafe(n);
    const size = 2 ** Math.ceil(Math.log2(n));
    return this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  /** Give back a buffer from `take` (or a view of it starting at its first byte) that nothing refers to any more. */
  give(buf: Buffer): void {
    const whole = buf.byteOffset === 0 && buf.buffer.byteLength >= FrameBufferPool.MIN && buf.buffer.byteLength <= FrameBufferPool.MAX ? Buffer.from(buf.buffer) : undefined;
    if (!whole || (whole.length & (whole.length - 1)) !== 0) return;
    let list = this.free.get(whole.length);
    if (!list) this.free.set(whole.length, (list = []));
    if (list.length < FrameBufferPool.PER_CLASS) list.push(whole);
  }

  /** Buffers held for reuse (tests). */
  get size(): number {
    let n = 0;
    for (const l of this.free.values()) n += l.length;
    return n;
  }
}

/**
 * Splits a byte stream into frames (the bytes after each length prefix). Pushed bytes need only be valid
 * during the call (a socket reading into one shared buffer): each frame is copied once into a buffer of its own (from `pool` when large) and handed to
 * `onFrame` as soon as it is complete. Refuses a frame longer than `maxFrameBytes` as soon as its length
 * is read, before buffering it.
 */
export class FrameReader {
  private readonly prefix = Buffer.alloc(4);
  private prefixFill = 0;
  private frame: Buffer | undefined;
  private fill = 0;
  private length = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly pool: FrameBufferPool,
  ) {}

  /** Bytes received but not yet returned as frames (a frame's length prefix included). */
  get pendingBytes(): number {
    return this.frame ? 4 + this.fill : this.prefixFill;
  }

  /** Add received bytes (copied: `bytes` may be reused after the call). Throws FrameError. */
  push(bytes: Buffer, onFrame: (frame: Buffer) => void): void {
    let at = 0;
    while (at < bytes.length) {
      if (!this.frame) {
        const n = Math.min(4 - this.prefixFill, bytes.length - at);
        bytes.copy(this.prefix, this.prefixFill, at, at + n);
        this.prefixFill += n;
        at += n;
        if (this.prefixFill < 4) return;
        const length = this.prefix.readUInt32BE(0);
        if (length < 4) throw new FrameError(`frame length ${length} is shorter than its header length field`);
        if (length > this.maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
        this.prefixFill = 0;
        this.length = length;
        this.fill = 0;
        this.frame = this.pool.take(length).subarray(0, length);
      }
      const n = Math.min(this.length - this.fill, bytes.length - at);
      bytes.copy(this.frame, this.fill, at, at + n);
      this.fill += n;
      at += n;
      if (this.fill === this.length) {
        const f = this.frame;
        this.frame = undefined;
        this.fill = 0;
        onFrame(f);
      }
    }
  }
}

/**
 * Splits a byte stream into frames (the bytes after each length prefix), returned per pushed chunk: a
 * FrameReader (the same framing and limits) collecting what each push completes, for connections that
 * read ordinary chunks (the broker client, tests and benchmarks).
 */
export class FrameSplitter {
  private readonly reader: FrameReader;

  constructor(maxFrameBytes: number) {
    this.reader = new FrameReader(maxFrameBytes, new FrameBufferPool());
  }

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.reader.pendingBytes;
  }

  /** Add received bytes; returns the frames now complete (possibly none). Throws FrameError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    this.reader.push(chunk, (f) => frames.push(f));
    return frames;
  }
}

/** Decode one frame (without its length prefix). Throws FrameError. */
export function decodeFrame(frame: Buffer): RemotingCommand {
  if (frame.length < 4) throw new FrameError('frame has no header length field');
  const word = frame.readUInt32BE(0);
  const type = word >>> 24;
  const headerLength = word & 0xffffff;
  if (headerLength > frame.length - 4) throw new FrameError(`header length ${headerLength} exceeds the frame (${frame.length - 4} bytes)`);
  const body = frame.length > 4 + headerLength ? frame.subarray(4 + headerLength) : undefined;
  if (type === SerializeType.JSON) return decodeJsonHeader(frame.toString('utf8', 4, 4 + headerLength), body);
  if (type === SerializeType.ROCKETMQ) return decodeBinaryHeader(frame.subarray(4, 4 + headerLength), body);
  throw new FrameError(`unknown header serialize type ${type}`);
}

function int32(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new FrameError(`header ${field} must be a 32-bit integer`);
  return v;
}

/**
 * The header's extFields as strings. The object JSON.parse made is kept when every value already is a
 * string (the usual case: fastjson writes them so); otherwise a copy with numbers and booleans as
 * their text and nulls left out.
 */
function extFieldsOf(ext: unknown): Record<string, string> {
  if (ext === undefined || ext === null) return {};
  if (typeof ext !== 'object' || Array.isArray(ext)) throw new FrameError('header extFields is not an object');
  const o = ext as Record<string, unknown>;
  let allStrings = true;
  for (const k in o) {
    if (typeof o[k] !== 'string') {
      allStrings = false;
      break;
    }
  }
  if (allStrings) return o as Record<string, string>;
  const extFields: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    // fastjson writes every field as a string; a number or boolean from another client is taken as its text.
    if (typeof v === 'string') extFields[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') extFields[k] = String(v);
    else if (v !== null) throw new FrameError(`header extFields.${k.slice(0, 64)} is not a string`);
  }
  return extFields;
}

function decodeJsonHeader(text: string, body: Buffer | undefined): RemotingCommand {
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    throw new FrameError('JSON header does not parse');
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new FrameError('JSON header is not an object');
  const o = h as Record<string, unknown>;
  const extFields = extFieldsOf(o.extFields);
  const language = typeof o.language === 'string' ? o.language : typeof o.language === 'number' ? (LANGUAGES[o.language] ?? 'OTHER') : 'OTHER';
  if (o.remark !== undefined && o.remark !== null && typeof o.remark !== 'string') throw new FrameError('header remark is not a string');
  return {
    code: int32(o.code, 'code'),
    language,
    version: o.version === undefined ? 0 : int32(o.version, 'version'),
    opaque: o.opaque === undefined ? 0 : int32(o.opaque, 'opaque'),
    flag: o.flag === undefined ? 0 : int32(o.flag, 'flag'),
    remark: typeof o.remark === 'string' ? o.remark : undefined,
    extFields,
    body,
    serializeType: SerializeType.JSON,
  };
}

/** A bounds-checked reader over a header. */
class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  get remaining(): number {
    return this.b.length - this.at;
  }
  need(n: number, what: string): void {
    if (n < 0 || n > this.remaining) throw new FrameError(`ROCKETMQ header: ${what} runs past the header`);
  }
  i8(): number {
    this.need(1, 'a field');
    return this.b.readInt8(this.at++);
  }
  i16(): number {
    this.need(2, 'a field');
    const v = this.b.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  i32(): number {
    this.need(4, 'a field');
    const v = this.b.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  utf8(n: number, what: string): string {
    this.need(n, what);
    const s = this.b.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
}

function decodeBinaryHeader(bytes: Buffer, body: Buffer | undefined): RemotingCommand {
  if (bytes.length < MIN_BINARY_HEADER) throw new FrameError(`ROCKETMQ header of ${bytes.length} bytes is shorter than ${MIN_BINARY_HEADER}`);
  const r = new Reader(bytes);
  const code = r.i16();
  const lang = r.i8();
  const version = r.i16();
  const opaque = r.i32();
  const flag = r.i32();
  const remarkLength = r.i32();
  const remark = remarkLength === 0 ? undefined : r.utf8(remarkLength, 'remark');
  const extLength = r.i32();
  r.need(extLength, 'extFields');
  const extFields: Record<string, string> = {};
  const end = r.remaining - extLength;
  while (r.remaining > end) {
    const k = r.utf8(r.i16(), 'an extFields key');
    const v = r.utf8(r.i32(), 'an extFields value');
    extFields[k] = v;
  }
  if (r.remaining !== end) throw new FrameError('ROCKETMQ header: extFields entries overrun their length');
  return { code, language: LANGUAGES[lang] ?? 'OTHER', version, opaque, flag, remark, extFields, body, serializeType: SerializeType.ROCKETMQ };
}

/** Encode a command as a frame (with its length prefix), in its serialize type. */
export function encodeFrame(cmd: RemotingCommand): Buffer {
  const bodyLength = cmd.body?.length ?? 0;
  if (cmd.serializeType !== SerializeType.ROCKETMQ) {
    // One allocation: the header is written as text straight into the frame.
    const header = jsonHeaderText(cmd);
    const headerLength = Buffer.byteLength(header, 'utf8');
    const out = allocFrame(8 + headerLength + bodyLength);
    out.writeUInt32BE(4 + headerLength + bodyLength, 0);
    out.writeUInt32BE(((cmd.serializeType & 0xff) << 24) | headerLength, 4);
    out.write(header, 8, 'utf8');
    if (cmd.body) out.set(cmd.body, 8 + headerLength);
    return out;
  }
  const header = encodeBinaryHeader(cmd);
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(4 + header.length + bodyLength, 0);
  prefix.writeUInt32BE(((cmd.serializeType & 0xff) << 24) | header.length, 4);
  return Buffer.concat(cmd.body ? [prefix, header, cmd.body] : [prefix, header]);
}

/** Encoded frames up to an eighth of this are cut from one slab (Buffer's own pool is 8 KiB: four route answers). */
const SLAB_BYTES = 128 * 1024;
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/** Uninitialised bytes for a frame (written in full by the caller). */
function allocFrame(n: number): Buffer {
  if (n > SLAB_BYTES >>> 3) return Buffer.allocUnsafe(n);
  if (slabUsed + n > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed = (slabUsed + n + 7) & ~7;
  return out;
}

/** A number as JSON.stringify writes it. */
const num = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

/**
 * The JSON header as RocketMQ's Java side writes it (fields in name order, absent remark omitted):
 * the text JSON.stringify makes of those fields, put together without building the object.
 */
function jsonHeaderText(cmd: RemotingCommand): string {
  let ext = '';
  for (const _ in cmd.extFields) {
    ext = `"extFields":${JSON.stringify(cmd.extFields)},`;
    break;
  }
  const remark = cmd.remark === undefined ? '' : `"remark":${JSON.stringify(cmd.remark)},`;
  return `{"code":${num(cmd.code)},${ext}"flag":${num(cmd.flag)},"language":${JSON.stringify(cmd.language)},"opaque":${num(cmd.opaque)},${remark}"serializeTypeCurrentRPC":"JSON","version":${num(cmd.version)}}`;
}

function encodeBinaryHeader(cmd: RemotingCommand): Buffer {
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(13);
  fixed.writeInt16BE(cmd.code, 0);
  fixed.writeInt8(Math.max(0, LANGUAGES.indexOf(cmd.language)), 2);
  fixed.writeInt16BE(cmd.version, 3);
  fixed.writeInt32BE(cmd.opaque, 5);
  fixed.writeInt32BE(cmd.flag, 9);
  parts.push(fixed);
  const remark = cmd.remark ? Buffer.from(cmd.remark, 'utf8') : Buffer.alloc(0);
  parts.push(u32(remark.length), remark);
  const ext: Buffer[] = [];
  for (const [k, v] of Object.entries(cmd.extFields)) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    const kl = Buffer.alloc(2);
    kl.writeUInt16BE(kb.length);
    ext.push(kl, kb, u32(vb.length), vb);
  }
  const extBytes = Buffer.concat(ext);
  parts.push(u32(extBytes.length), extBytes);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Whether the command is a response. */
export function isResponse(cmd: RemotingCommand): boolean {
  return (cmd.flag & FLAG_RESPONSE) !== 0;
}

/** Whether the sender expects no response. */
export function isOneway(cmd: RemotingCommand): boolean {
  return (cmd.flag & FLAG_ONEWAY) !== 0;
}

/** Start of the JSON header of a response without remark or extFields, by response code. */
const RESPONSE_HEADS = new Map<number, Buffer>();
/** Its end, after the opaque. */
const RESPONSE_TAIL = Buffer.from(',"serializeTypeCurrentRPC":"JSON","version":0}', 'latin1');

/**
 * The frame of `responseTo(req, code, opts)`, byte for byte. A response without remark or extFields
 * (a route answer, most successes) is put together from its code's header start, the opaque's digits,
 * the fixed header end and the body: no header text built per response.
 */
export function encodeResponse(req: Pick<RemotingCommand, 'opaque'>, code: number, opts: { remark?: string; extFields?: Record<string, string>; body?: Buffer } = {}): Buffer {
  if (opts.remark !== undefined) return encodeFrame(responseTo(req, code, opts));
  for (const _ in opts.extFields) return encodeFrame(responseTo(req, code, opts));
  let head = RESPONSE_HEADS.get(code);
  if (!head) {
    head = Buffer.from(`{"code":${num(code)},"flag":${FLAG_RESPONSE},"language":"JAVA","opaque":`, 'latin1');
    if (RESPONSE_HEADS.size < 1024) RESPONSE_HEADS.set(code, head);
  }
  const digits = num(req.opaque);
  const headerLength = head.length + digits.length + RESPONSE_TAIL.length;
  const bodyLength = opts.body?.length ?? 0;
  const out = allocFrame(8 + headerLength + bodyLength);
  out.writeUInt32BE(4 + headerLength + bodyLength, 0);
  out.writeUInt32BE(headerLength, 4); // serialize type JSON (0) in the high byte
  out.set(head, 8);
  out.write(digits, 8 + head.length, 'latin1');
  out.set(RESPONSE_TAIL, 8 + head.length + digits.length);
  if (opts.body) out.set(opts.body, 8 + headerLength);
  return out;
}

/** A response to `req` (same opaque), JSON header, as a RocketMQ NameServer answers. */
export function responseTo(
  req: Pick<RemotingCommand, 'opaque'>,
  code: number,
  opts: { remark?: string; extFields?: Record<string, string>; body?: Buffer } = {},
): RemotingCommand {
  return {
    code,
    language: 'JAVA', // what RocketMQ's own servers send; some clients only know the Java server's values
    version: 0,
    opaque: req.opaque,
    flag: FLAG_RESPONSE,
    remark: opts.remark,
    extFields: opts.extFields ?? {},
    body: opts.body,
    serializeType: SerializeType.JSON,
  };
}
