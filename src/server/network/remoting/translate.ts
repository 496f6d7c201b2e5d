/**
 * Pure translations between RocketMQ's shapes and the NameServer's: topic configs (both directions),
 * permissions, the register body (JSON and the compressed 4.x form) and data versions. No I/O, no
 * registry: handlers and views call these.
 */
import { inflateSync } from 'node:zlib';
import { MessageType, Permission, type TopicConfig } from '../../../../generated/nameserver/v1/common';
import { parseLenientJson } from './json';
import { V3_0_11 } from './codes';

/** RocketMQ permission bits. */
export const PERM_PRIORITY = 8;
export const PERM_READ = 4;
export const PERM_WRITE = 2;
export const PERM_INHERIT = 1;

/** Topic sys flag bits (unit topics, topics with unit subscriptions). */
export const FLAG_UNIT = 1;
export const FLAG_UNIT_SUB = 2;

/**
 * Attributes that keep what a RocketMQ topic config has and TopicConfig has no field for, so the topic
 * reads back the same in RocketMQ's answers: permission bits beyond read/write, the sys flag, `order`
 * and a non-default filter type. Only written when they differ from RocketMQ's defaults.
 */
export const ATTR_PERM = 'rocketmq.perm';
export const ATTR_SYS_FLAG = 'rocketmq.topicSysFlag';
export const ATTR_ORDER = 'rocketmq.order';
export const ATTR_FILTER_TYPE = 'rocketmq.topicFilterType';
const RESERVED = new Set([ATTR_PERM, ATTR_SYS_FLAG, ATTR_ORDER, ATTR_FILTER_TYPE]);

/** RocketMQ's topic attribute naming the message type (as stored; requests add a "+" prefix). */
const MESSAGE_TYPE_ATTR = 'message.type';
const TYPE_BY_NAME: Record<string, MessageType> = {
  NORMAL: MessageType.MESSAGE_TYPE_NORMAL,
  FIFO: MessageType.MESSAGE_TYPE_FIFO,
  DELAY: MessageType.MESSAGE_TYPE_DELAY,
  TRANSACTION: MessageType.MESSAGE_TYPE_TRANSACTION,
};
const NAME_BY_TYPE: Partial<Record<MessageType, string>> = {
  [MessageType.MESSAGE_TYPE_FIFO]: 'FIFO',
  [MessageType.MESSAGE_TYPE_DELAY]: 'DELAY',
  [MessageType.MESSAGE_TYPE_TRANSACTION]: 'TRANSACTION',
};

/** A topic config as a RocketMQ broker reports it. */
export interface RmqTopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: string;
  topicSysFlag: number;
  order: boolean;
  attributes: Record<string, string>;
}

/** RocketMQ's DataVersion, kept as received so it can be compared and echoed back. */
export interface RmqDataVersion {
  stateVersion: number;
  timestamp: number;
  counter: number;
}

/** A decoded REGISTER_BROKER body. */
export interface RegisterBody {
  dataVersion: RmqDataVersion;
  topics: RmqTopicConfig[];
}

/** A body that cannot be decoded: answered with SYSTEM_ERROR naming the problem. */
export class BodyError extends Error {}

/** Permission bits → the enum (only the read and write bits count). */
export function permissionOf(perm: number): Permission {
  const r = (perm & PERM_READ) !== 0;
  const w = (perm & PERM_WRITE) !== 0;
  if (r && w) return Permission.PERMISSION_READ_WRITE;
  if (r) return Permission.PERMISSION_READ;
  if (w) return Permission.PERMISSION_WRITE;
  return Permission.PERMISSION_NONE;
}

/** The enum → read/write bits (unspecified means read-write). */
export function permBits(p: Permission): number {
  switch (p) {
    case Permission.PERMISSION_NONE:
      return 0;
    case Permission.PERMISSION_READ:
      return PERM_READ;
    case Permission.PERMISSION_WRITE:
      return PERM_WRITE;
    default:
      return PERM_READ | PERM_WRITE;
  }
}

/** A RocketMQ topic config as a TopicConfig. */
export function toTopicConfig(t: RmqTopicConfig): TopicConfig {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(t.attributes)) if (!RESERVED.has(k)) attributes[k] = v;
  if ((t.perm & ~(PERM_READ | PERM_WRITE)) !== 0) attributes[ATTR_PERM] = String(t.perm);
  if (t.topicSysFlag !== 0) attributes[ATTR_SYS_FLAG] = String(t.topicSysFlag);
  if (t.order) attributes[ATTR_ORDER] = 'true';
  if (t.topicFilterType && t.topicFilterType !== 'SINGLE_TAG') attributes[ATTR_FILTER_TYPE] = t.topicFilterType;
  const typeName = t.attributes[MESSAGE_TYPE_ATTR] ?? t.attributes[`+${MESSAGE_TYPE_ATTR}`];
  const messageType = (typeName && TYPE_BY_NAME[typeName]) || (t.order ? MessageType.MESSAGE_TYPE_FIFO : MessageType.MESSAGE_TYPE_NORMAL);
  return {
    name: t.topicName,
    readQueueNums: t.readQueueNums,
    writeQueueNums: t.writeQueueNums,
    permission: permissionOf(t.perm),
    messageType,
    attributes,
  };
}

/** The sys flag a TopicConfig carries (0 unless it came from RocketMQ with one). */
export function sysFlagOf(c: TopicConfig | undefined): number {
  const v = Number(c?.attributes[ATTR_SYS_FLAG] ?? 0);
  return Number.isInteger(v) ? v : 0;
}

/** The RocketMQ perm of a topic whose effective permission is `p`, with the extra bits it was reported with. */
export function rmqPerm(p: Permission, c: TopicConfig | undefined): number {
  const extra = Number(c?.attributes[ATTR_PERM] ?? 0);
  return permBits(p) | (Number.isInteger(extra) ? extra & (PERM_PRIORITY | PERM_INHERIT) : 0);
}

/** The ext fields of UPDATE_AND_CREATE_TOPIC for a TopicConfig, as mqadmin's updateTopic sends them. */
export function createTopicFields(c: TopicConfig): Record<string, string> {
  const attrs: string[] = [];
  for (const [k, v] of Object.entries(c.attributes)) {
    if (RESERVED.has(k) || k === MESSAGE_TYPE_ATTR) continue;
    attrs.push(`${k.startsWith('+') ? k : `+${k}`}=${v}`);
  }
  const typeName = NAME_BY_TYPE[c.messageType];
  if (typeName) attrs.push(`+${MESSAGE_TYPE_ATTR}=${typeName}`);
  const fields: Record<string, string> = {
    topic: c.name,
    defaultTopic: 'TBW102',
    readQueueNums: String(c.readQueueNums),
    writeQueueNums: String(c.writeQueueNums),
    perm: String(rmqPerm(c.permission, c)),
    topicFilterType: c.attributes[ATTR_FILTER_TYPE] ?? 'SINGLE_TAG',
    topicSysFlag: String(sysFlagOf(c)),
    order: String(c.attributes[ATTR_ORDER] === 'true' || c.messageType === MessageType.MESSAGE_TYPE_FIFO),
  };
  if (attrs.length > 0) fields.attributes = attrs.sort().join(',');
  return fields;
}

// -------------------------------------------------------------------------------------------------
// Register body

function num(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new BodyError(`${what} must be a number`);
}

/** A DataVersion object from JSON (missing fields are RocketMQ's zero values). */
export function dataVersionOf(v: unknown): RmqDataVersion {
  if (v === undefined || v === null) return { stateVersion: 0, timestamp: 0, counter: 0 };
  if (typeof v !== 'object' || Array.isArray(v)) throw new BodyError('dataVersion must be an object');
  const o = v as Record<string, unknown>;
  return {
    stateVersion: o.stateVersion === undefined ? 0 : num(o.stateVersion, 'dataVersion.stateVersion'),
    timestamp: o.timestamp === undefined ? 0 : num(o.timestamp, 'dataVersion.timestamp'),
    counter: o.counter === undefined ? 0 : num(o.counter, 'dataVersion.counter'),
  };
}

/** Equal DataVersions (RocketMQ compares all three fields). */
export function sameDataVersion(a: RmqDataVersion | undefined, b: RmqDataVersion): boolean {
  return a !== undefined && a.stateVersion === b.stateVersion && a.timestamp === b.timestamp && a.counter === b.counter;
}

function attributesOf(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new BodyError(`${what} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = typeof x === 'string' ? x : String(x);
  return out;
}

/** A topic config object from a JSON body. */
function topicFromJson(v: unknown, key: string): RmqTopicConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BodyError(`topic config ${key.slice(0, 64)} must be an object`);
  const o = v as Record<string, unknown>;
  const what = `topic config ${key.slice(0, 64)}`;
  return {
    topicName: typeof o.topicName === 'string' ? o.topicName : key,
    readQueueNums: o.readQueueNums === undefined ? 16 : num(o.readQueueNums, `${what}: readQueueNums`),
    writeQueueNums: o.writeQueueNums === undefined ? 16 : num(o.writeQueueNums, `${what}: writeQueueNums`),
    perm: o.perm === undefined ? PERM_READ | PERM_WRITE : num(o.perm, `${what}: perm`),
    topicFilterType: typeof o.topicFilterType === 'string' ? o.topicFilterType : 'SINGLE_TAG',
    topicSysFlag: o.topicSysFlag === undefined ? 0 : num(o.topicSysFlag, `${what}: topicSysFlag`),
    order: o.order === true || o.order === 'true',
    attributes: attributesOf(o.attributes, `${what}: attributes`),
  };
}

/** A topic config in the compressed body's text form: "name read write perm FILTER {attributes}". */
function topicFromText(s: string): RmqTopicConfig {
  const parts = s.split(' ');
  if (parts.length < 5) throw new BodyError('a compressed topic config has fewer than 5 fields');
  let attributes: Record<string, string> = {};
  if (parts.length >= 6) {
    try {
      attributes = attributesOf(JSON.parse(parts.slice(5).join(' ')), 'attributes');
    } catch {
      // RocketMQ ignores attributes it cannot parse (values may contain spaces); so do we.
    }
  }
  return {
    topicName: parts[0]!,
    readQueueNums: num(parts[1], 'readQueueNums'),
    writeQueueNums: num(parts[2], 'writeQueueNums'),
    perm: num(parts[3], 'perm'),
    topicFilterType: parts[4]!,
    topicSysFlag: 0,
    order: false,
    attributes,
  };
}

function wrapperOf(v: unknown): RegisterBody {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BodyError('topic config wrapper must be an object');
  const o = v as Record<string, unknown>;
  const table = o.topicConfigTable ?? {};
  if (typeof table !== 'object' || table === null || Array.isArray(table)) throw new BodyError('topicConfigTable must be an object');
  return {
    dataVersion: dataVersionOf(o.dataVersion),
    topics: Object.entries(table as Record<string, unknown>).map(([k, t]) => topicFromJson(t, k)),
  };
}

/** The start of a register body in the layout fastjson writes (fields in name order), up to its DataVersion. */
const FASTJSON_BODY_START = /^\{"filterServerList":\[[^\]]*\],"topicConfigSerializeWrapper":\{"dataVersion":(\{[^{}]*\})/;

/**
 * The DataVersion of a (not compressed) RegisterBrokerBody, read from the first bytes without decoding
 * the rest, when the body starts the way every RocketMQ broker writes it; undefined otherwise (the caller
 * then decodes it in full). A broker re-sends its whole topic table every 30 s with an unchanged
 * DataVersion, which the NameServer only renews: this keeps those from being decoded.
 */
export function peekDataVersion(body: Buffer): RmqDataVersion | undefined {
  const m = FASTJSON_BODY_START.exec(body.toString('latin1', 0, Math.min(body.length, 1024)));
  if (!m) return undefined;
  try {
    const dv = JSON.parse(m[1]!) as unknown;
    if (typeof dv !== 'object' || dv === null || Object.keys(dv).length !== 3) return undefined;
    return dataVersionOf(dv);
  } catch {
    return undefined;
  }
}

/**
 * Decode a REGISTER_BROKER body: RegisterBrokerBody JSON, its compressed form (`compressed` header,
 * zlib stream of length-prefixed parts), or, from brokers older than 3.0.11, a bare topic config
 * wrapper. No body: no topics, a zero data version. `maxInflatedBytes` bounds decompression.
 */
export function decodeRegisterBody(body: Buffer | undefined, compressed: boolean, version: number, maxInflatedBytes: number): RegisterBody {
  if (!body || body.length === 0) return { dataVersion: { stateVersion: 0, timestamp: 0, counter: 0 }, topics: [] };
  if (compressed) return decodeCompressed(body, maxInflatedBytes);
  let doc: unknown;
  try {
    doc = parseLenientJson(body.toString('utf8'));
  } catch {
    throw new BodyError('register body is not JSON');
  }
  if (version < V3_0_11) return wrapperOf(doc);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BodyError('register body must be an object');
  return wrapperOf((doc as Record<string, unknown>).topicConfigSerializeWrapper ?? {});
}

function decodeCompressed(body: Buffer, maxInflatedBytes: number): RegisterBody {
  let data: Buffer;
  try {
    data = inflateSync(body, { maxOutputLength: maxInflatedBytes });
  } catch (err) {
    throw new BodyError(`compressed register body does not inflate (${(err as Error).message.slice(0, 80)})`);
  }
  let at = 0;
  const int = () => {
    if (at + 4 > data.length) throw new BodyError('compressed register body ends early');
    const v = data.readInt32BE(at);
    at += 4;
    return v;
  };
  const part = () => {
    const n = int();
    if (n < 0 || at + n > data.length) throw new BodyError('compressed register body: a part runs past the end');
    const s = data.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  let dataVersion: RmqDataVersion;
  try {
    dataVersion = dataVersionOf(JSON.parse(part()));
  } catch (err) {
    if (err instanceof BodyError) throw err;
    throw new BodyError('compressed register body: data version is not JSON');
  }
  const count = int();
  if (count < 0) throw new BodyError('compressed register body: negative topic count');
  const topics: RmqTopicConfig[] = [];
  for (let i = 0; i < count; i++) topics.push(topicFromText(part()));
  // The filter server list and static-topic mappings that follow are not used by this NameServer.
  return { dataVersion, topics };
}
