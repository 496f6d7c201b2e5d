/**
 * Field checks shared by the validators of every service: primitives (each throws only InvalidArgument
 * naming the field), limits, addresses, names, topic and group configurations.
 */
import { InvalidArgument } from '../../metadata/errors';
import { ClientRole, CommandOutcome, ConsumeMode, FilterType, MessageType, Permission, type DataVersion, type GroupConfig, type RetryPolicy, type Subscription, type TopicConfig } from '../../../../generated/nameserver/v1/common';
import { AddressError, parseHostPort } from '../../../shared/address';
// ---------------------------------------------------------------------------------------------------
// Limits

/** The bounds a deployment may tune. Fixed protocol rules (name syntax and lengths) are not here. */
export interface ValidationLimits {
  /** Largest read/write queue count of a topic (`Config.maxQueueNums`). */
  readonly maxQueueNums: number;
  /** Most addresses a broker may register. */
  readonly maxAddresses: number;
  /** Most attributes on one topic or group config. */
  readonly maxAttributes: number;
  /** Largest attribute key or value, in UTF-8 bytes. */
  readonly maxAttributeBytes: number;
  /** Largest chunk_count of a chunked registration. */
  readonly maxChunkCount: number;
  /** Most client instances in one ReportInstances. */
  readonly maxInstancesPerReport: number;
  /** Most topics in one GetRoutes. */
  readonly maxRoutesPerRequest: number;
  /** Most subscribe plus unsubscribe entries in one WatchRoutes message. */
  readonly maxWatchEntries: number;
  /** Largest page_size of the List* calls. */
  readonly maxPageSize: number;
  /** Largest page_size of ListRouteVersions (and most topics it may name). */
  readonly maxRouteVersionsPageSize: number;
  /** Longest page_token, in characters. */
  readonly maxPageTokenChars: number;
  /** Most NameServer addresses in one CheckReplicas. */
  readonly maxNameservers: number;
  /** Most topics in one CheckReplicas. */
  readonly maxCheckTopics: number;
}

/** Defaults (README "Configuration"). Checkers take overrides: `{ limits: { maxQueueNums: config.maxQueueNums } }`. */
export const DEFAULT_LIMITS: Readonly<ValidationLimits> = Object.freeze({
  maxQueueNums: 1024,
  maxAddresses: 16,
  maxAttributes: 64,
  maxAttributeBytes: 256,
  maxChunkCount: 100_000,
  maxInstancesPerReport: 10_000,
  maxRoutesPerRequest: 1000,
  maxWatchEntries: 10_000,
  maxPageSize: 1000,
  maxRouteVersionsPageSize: 10_000,
  maxPageTokenChars: 1024,
  maxNameservers: 16,
  maxCheckTopics: 10_000,
});

/** Options every request checker takes. */
export interface CheckOptions {
  /** Overrides of DEFAULT_LIMITS, e.g. `{ maxQueueNums: config.maxQueueNums }`. */
  readonly limits?: Partial<ValidationLimits>;
}

/** Options of the checkers for broker reports. */
export type ReportOptions = CheckOptions;

/** DEFAULT_LIMITS with the given overrides (an override left undefined keeps the default). */
export function resolveLimits(overrides: Partial<ValidationLimits> | undefined): ValidationLimits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (typeof value === 'number') limits[key] = value;
  }
  return limits as unknown as ValidationLimits;
}

export const TOPIC_MAX_CHARS = 127;
export const GROUP_MAX_CHARS = 120;
export const IDENTITY_MAX_CHARS = 127;
export const EPOCH_MAX_CHARS = 128;
export const CLIENT_ID_MAX_CHARS = 255;
export const COMMAND_ID_MAX_CHARS = 128;
export const ROUTE_VERSION_MAX_CHARS = 128;
/** zone, software_version and the descriptive fields of a client instance. */
export const LABEL_MAX_CHARS = 256;
export const COMMAND_MESSAGE_MAX_CHARS = 4096;
export const EXPRESSION_MAX_CHARS = 65_536;
/** 253 (longest DNS name) + ":65535", with room for brackets. */
export const ADDRESS_MAX_CHARS = 261;
export const QUEUE_ID_MAX = 65_535;
export const UINT32_MAX = 0xffff_ffff;
/** 64-bit fields arrive as JS numbers (ts-proto `longToNumber`): anything above is not exact. */
export const UINT64_MAX = Number.MAX_SAFE_INTEGER;

export const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
export const NAME_RULE = 'must match ^[%|a-zA-Z0-9_-]+$';
/** An unpaired UTF-16 surrogate: such a string has no UTF-8 form, so protobuf cannot carry it faithfully. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const ECHO_MAX_CHARS = 64;

// ---------------------------------------------------------------------------------------------------
// Primitive helpers: every value is unknown until checked; nothing here throws but InvalidArgument.

/** A message whose fields are not trusted yet: the generated field names, any value. */
export type Loose<T> = { readonly [K in keyof T]?: unknown };

export function fail(field: string, reason: string): never {
  throw new InvalidArgument(field, reason);
}

/**
 * A user string fit for an error message: quoted, everything but printable ASCII escaped as \uXXXX,
 * cut after about 64 characters of output.
 */
export function show(s: string): string {
  let out = '';
  let i = 0;
  for (; i < s.length && out.length < ECHO_MAX_CHARS; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += `\\${s[i]}`;
    else if (c >= 0x20 && c <= 0x7e) out += s[i];
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return i < s.length ? `"${out}"... (${s.length} characters)` : `"${out}"`;
}

/** A bounded description of a value that failed a numeric check. */
export function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return show(v);
  return v === null ? 'null' : typeof v;
}

/** A nested message that must be present. */
export function message<T>(v: unknown, field: string): Loose<T> {
  if (v === undefined || v === null) fail(field, 'is required');
  if (typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be a message');
  return v as Loose<T>;
}

/** A nested message that may be absent. */
export function optionalMessage<T>(v: unknown, field: string): Loose<T> | undefined {
  return v === undefined || v === null ? undefined : message<T>(v, field);
}

/** A string field; absent means the proto3 default "". */
export function text(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(field, 'must be a string');
  return v;
}

/** A repeated field; absent means empty. */
export function list(v: unknown, field: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(field, 'must be a list');
  return v;
}

/** A repeated field with at most `max` (and at least `min`) entries. */
export function boundedList(v: unknown, field: string, max: number, min = 0): readonly unknown[] {
  const items = list(v, field);
  if (items.length > max || items.length < min) {
    fail(field, min > 0
      ? `must have ${min}..${max} entries, got ${items.length}`
      : `must have at most ${max} entries, got ${items.length}`);
  }
  return items;
}

/** An integer field within min..max; absent means 0. */
export function integer(v: unknown, field: string, min: number, max: number): number {
  const n = v === undefined || v === null ? 0 : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) fail(field, `must be an integer, got ${describe(n)}`);
  if (n < min || n > max) {
    if (min === 0 && n < 0) fail(field, `must not be negative, got ${n}`);
    fail(field, min === 0 ? `must be at most ${max}, got ${n}` : `must be ${min}..${max}, got ${n}`);
  }
  return n;
}

/** Free-form text: a string of at most `max` UTF-16 units with a UTF-8 form. */
export function freeText(v: unknown, field: string, max: number, required = false): string {
  const s = text(v, field);
  if (required && s === '') fail(field, 'is required');
  if (s.length > max) fail(field, `must be at most ${max} characters, got ${s.length}`);
  if (LONE_SURROGATE.test(s)) fail(field, 'must be valid UTF-8 (has an unpaired surrogate)');
  return s;
}

/** A required name of the RocketMQ charset: topic, group, cluster, broker_name. */
export function validName(v: unknown, field: string, max: number): string {
  const s = text(v, field);
  if (s === '') fail(field, 'is required');
  if (s.length > max) fail(field, `must be at most ${max} characters, got ${s.length}`);
  if (!NAME_PATTERN.test(s)) fail(field, `${NAME_RULE}, got ${show(s)}`);
  return s;
}

/** A name that may be empty (a filter, or an identity a Connect session supplies). */
export function optionalName(v: unknown, field: string, max: number): string {
  const s = text(v, field);
  return s === '' ? s : validName(s, field, max);
}

/** A name prefix filter: empty, or the start of a valid name. */
export function prefix(v: unknown, field: string, max: number): void {
  const s = text(v, field);
  if (s.length > max) fail(field, `must be at most ${max} characters, got ${s.length}`);
  if (s !== '' && !NAME_PATTERN.test(s)) fail(field, `${NAME_RULE}, got ${show(s)}`);
}

/** Defined values of a generated enum (UNRECOGNIZED = -1 is not one). */
export function enumNames(e: object): ReadonlyMap<number, string> {
  const names = new Map<number, string>();
  for (const [key, value] of Object.entries(e)) {
    if (typeof value === 'number' && value >= 0) names.set(value, key);
  }
  return names;
}

export const PERMISSION = enumNames(Permission);
export const MESSAGE_TYPE = enumNames(MessageType);
export const CONSUME_MODE = enumNames(ConsumeMode);
export const FILTER_TYPE = enumNames(FilterType);
export const CLIENT_ROLE = enumNames(ClientRole);
export const COMMAND_OUTCOME = enumNames(CommandOutcome);

/** An enum field holding a defined value; value 0 (UNSPECIFIED) only when `allowUnspecified`. */
export function enumValue(v: unknown, field: string, names: ReadonlyMap<number, string>, allowUnspecified: boolean): number {
  const n = v === undefined || v === null ? 0 : v;
  const ok = typeof n === 'number' && names.has(n) && (allowUnspecified || n !== 0);
  if (!ok) {
    const allowed = [...names].filter(([value]) => allowUnspecified || value !== 0).map(([, key]) => key);
    const got = typeof n === 'number' ? (names.get(n) ?? String(n)) : describe(n);
    fail(field, `must be one of ${allowed.join(', ')}, got ${got}`);
  }
  return n as number;
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// ---------------------------------------------------------------------------------------------------
// Addresses

/**
 * Checks `host:port`: host a hostname, an IPv4 address or a bracketed IPv6 address (`[::1]:10911`),
 * port 1..65535.
 */
export function checkAddress(address: string, field: string): void {
  const s = text(address, field);
  if (s === '') fail(field, 'is required');
  if (s.length > ADDRESS_MAX_CHARS) fail(field, `must be host:port of at most ${ADDRESS_MAX_CHARS} characters, got ${s.length}`);
  try {
    parseHostPort(s);
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    fail(field, `must be host:port (${err.message}), got ${show(s)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Building blocks

/** Checks a topic name: required, `^[%|a-zA-Z0-9_-]+$`, at most 127 characters. */
export function checkTopicName(name: string, field: string): void {
  validName(name, field, TOPIC_MAX_CHARS);
}

/** Checks a consumer group name: required, `^[%|a-zA-Z0-9_-]+$`, at most 120 characters. */
export function checkGroupName(name: string, field: string): void {
  validName(name, field, GROUP_MAX_CHARS);
}

export function topicName(v: unknown, field: string): string {
  return validName(v, field, TOPIC_MAX_CHARS);
}

export function groupName(v: unknown, field: string): string {
  return validName(v, field, GROUP_MAX_CHARS);
}

/** cluster or broker_name: required unless `optional` (then empty or valid). */
export function identityName(v: unknown, field: string, optional = false): string {
  return optional ? optionalName(v, field, IDENTITY_MAX_CHARS) : validName(v, field, IDENTITY_MAX_CHARS);
}

/** cluster, broker_name, broker_id of a broker report. */
export function checkBrokerIdentity(r: Loose<{ cluster: string; brokerName: string; brokerId: number }>): void {
  identityName(r.cluster, 'cluster');
  identityName(r.brokerName, 'broker_name');
  integer(r.brokerId, 'broker_id', 0, UINT32_MAX);
}

/** A required data_version with a non-empty epoch; returns its counter. */
export function dataVersion(v: unknown, field: string): number {
  const dv = message<DataVersion>(v, field);
  freeText(dv.epoch, `${field}.epoch`, EPOCH_MAX_CHARS, true);
  return integer(dv.counter, `${field}.counter`, 0, UINT64_MAX);
}

/** Attributes map: at most `maxAttributes` entries, keys non-empty, keys and values bounded in bytes. */
export function attributes(v: unknown, field: string, limits: ValidationLimits): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be a map of string to string');
  const entries = Object.entries(v);
  if (entries.length > limits.maxAttributes) {
    fail(field, `must have at most ${limits.maxAttributes} entries, got ${entries.length}`);
  }
  const maxBytes = limits.maxAttributeBytes;
  for (const [key, value] of entries) {
    if (key === '') fail(field, 'keys must be non-empty');
    if (utf8Bytes(key) > maxBytes) fail(field, `key ${show(key)} must be at most ${maxBytes} bytes, got ${utf8Bytes(key)}`);
    if (LONE_SURROGATE.test(key)) fail(field, `key ${show(key)} must be valid UTF-8 (has an unpaired surrogate)`);
    if (typeof value !== 'string') fail(field, `value of ${show(key)} must be a string`);
    if (utf8Bytes(value) > maxBytes) fail(field, `value of ${show(key)} must be at most ${maxBytes} bytes, got ${utf8Bytes(value)}`);
    if (LONE_SURROGATE.test(value)) fail(field, `value of ${show(key)} must be valid UTF-8 (has an unpaired surrogate)`);
  }
}

export function queueCount(v: unknown, field: string, limits: ValidationLimits): void {
  const n = v === undefined || v === null ? 0 : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > limits.maxQueueNums) {
    fail(field, `must be 1..${limits.maxQueueNums}, got ${describe(n)}`);
  }
}

/**
 * Checks a topic configuration at `field` (e.g. `topics[3]`, `topic`): valid name, queue counts
 * 1..maxQueueNums, defined permission and message type (UNSPECIFIED allowed: it means the default),
 * bounded attributes.
 */
export function checkTopicConfig(
  cfg: TopicConfig | undefined,
  field: string,
  limits?: Partial<ValidationLimits>,
): void {
  topicConfig(cfg, field, resolveLimits(limits));
}

export function topicConfig(v: unknown, field: string, limits: ValidationLimits): string {
  const c = message<TopicConfig>(v, field);
  const topic = topicName(c.name, `${field}.name`);
  queueCount(c.readQueueNums, `${field}.read_queue_nums`, limits);
  queueCount(c.writeQueueNums, `${field}.write_queue_nums`, limits);
  enumValue(c.permission, `${field}.permission`, PERMISSION, true);
  enumValue(c.messageType, `${field}.message_type`, MESSAGE_TYPE, true);
  attributes(c.attributes, `${field}.attributes`, limits);
  return topic;
}

/**
 * Checks a consumer group configuration at `field` (e.g. `groups[0]`, `group`): valid name, defined
 * consume mode, subscriptions to valid topics, retry policy in range, bounded attributes.
 */
export function checkGroupConfig(
  cfg: GroupConfig | undefined,
  field: string,
  limits?: Partial<ValidationLimits>,
): void {
  groupConfig(cfg, field, resolveLimits(limits));
}

export function groupConfig(v: unknown, field: string, limits: ValidationLimits): string {
  const c = message<GroupConfig>(v, field);
  const group = groupName(c.name, `${field}.name`);
  enumValue(c.consumeMode, `${field}.consume_mode`, CONSUME_MODE, true);
  const subscriptions = list(c.subscriptions, `${field}.subscriptions`);
  for (let i = 0; i < subscriptions.length; i++) {
    const f = `${field}.subscriptions[${i}]`;
    const s = message<Subscription>(subscriptions[i], f);
    topicName(s.topic, `${f}.topic`);
    freeText(s.expression, `${f}.expression`, EXPRESSION_MAX_CHARS);
    enumValue(s.filterType, `${f}.filter_type`, FILTER_TYPE, true);
  }
  const retry = optionalMessage<RetryPolicy>(c.retryPolicy, `${field}.retry_policy`);
  if (retry !== undefined) {
    integer(retry.maxAttempts, `${field}.retry_policy.max_attempts`, 0, UINT32_MAX);
    integer(retry.initialBackoffMs, `${field}.retry_policy.initial_backoff_ms`, 0, UINT64_MAX);
    integer(retry.maxBackoffMs, `${field}.retry_policy.max_backoff_ms`, 0, UINT64_MAX);
  }
  attributes(c.attributes, `${field}.attributes`, limits);
  return group;
}

/** Tracks names seen in one list and fails on the second occurrence of any. */
export class Seen {
  private readonly first = new Map<string, string>();
  /** Records `value` found at `field`; throws if it was already recorded. */
  add(value: string, field: string): void {
    const earlier = this.first.get(value);
    if (earlier !== undefined) fail(field, `duplicates ${earlier} (${show(value)})`);
    this.first.set(value, field);
  }
  /** The field where `value` was recorded, if any. */
  where(value: string): string | undefined {
    return this.first.get(value);
  }
}

/** topics[i] configs: each valid, names distinct. */
export function topicConfigs(v: unknown, field: string, limits: ValidationLimits): Seen {
  const items = list(v, field);
  const seen = new Seen();
  for (let i = 0; i < items.length; i++) {
    seen.add(topicConfig(items[i], `${field}[${i}]`, limits), `${field}[${i}].name`);
  }
  return seen;
}

/** groups[i] configs: each valid, names distinct. */
export function groupConfigs(v: unknown, field: string, limits: ValidationLimits): Seen {
  const items = list(v, field);
  const seen = new Seen();
  for (let i = 0; i < items.length; i++) {
    seen.add(groupConfig(items[i], `${field}[${i}]`, limits), `${field}[${i}].name`);
  }
  return seen;
}

/** A list of names, each valid and distinct, none also in `upserted` (a delta's upsert list). */
export function deletedNames(v: unknown, field: string, check: (v: unknown, f: string) => string, upserted: Seen): void {
  const items = list(v, field);
  const seen = new Seen();
  for (let i = 0; i < items.length; i++) {
    const f = `${field}[${i}]`;
    const n = check(items[i], f);
    seen.add(n, f);
    const both = upserted.where(n);
    if (both !== undefined) fail(f, `is also upserted in ${both}; a name may not be both upserted and deleted`);
  }
}

/** A list of topic names, each valid (duplicates allowed). */
export function topicNames(items: readonly unknown[], field: string): void {
  for (let i = 0; i < items.length; i++) topicName(items[i], `${field}[${i}]`);
}

/** page_size and page_token of a paginated listing. */
export function page(r: Loose<{ pageSize: number; pageToken: string }>, maxPageSize: number, limits: ValidationLimits): void {
  integer(r.pageSize, 'page_size', 0, maxPageSize);
  freeText(r.pageToken, 'page_token', limits.maxPageTokenChars);
}

/**
 * Where an admin write goes. `exclusive` (creates): exactly one of `cluster` or non-empty
 * `broker_names`. Otherwise both are optional restrictions. Either way, each given name is valid.
 */
export function target(r: Loose<{ cluster: string; brokerNames: string[] }>, exclusive: boolean): void {
  const cluster = text(r.cluster, 'cluster');
  const brokerNames = list(r.brokerNames, 'broker_names');
  if (exclusive && cluster === '' && brokerNames.length === 0) {
    fail('cluster', 'is required unless broker_names is given');
  }
  if (exclusive && cluster !== '' && brokerNames.length > 0) {
    fail('cluster', 'must be empty when broker_names is given (they are exclusive)');
  }
  identityName(cluster, 'cluster', true);
  for (let i = 0; i < brokerNames.length; i++) identityName(brokerNames[i], `broker_names[${i}]`);
}

export const REQUEST = 'request';
