/** Validators of the BrokerRegistry requests (pure functions; see fields.ts). */
import { type ClientInstance, type ConsumerPosition, type QueuePosition } from '../../../../generated/nameserver/v1/common';
import type { CommandResult, HeartbeatRequest, RegisterBrokerRequest, ReportDeltaRequest, ReportInstancesRequest, ReportPositionsRequest, UnregisterBrokerRequest } from '../../../../generated/nameserver/v1/broker_registry';
import { CLIENT_ID_MAX_CHARS, CLIENT_ROLE, COMMAND_ID_MAX_CHARS, COMMAND_MESSAGE_MAX_CHARS, COMMAND_OUTCOME, EPOCH_MAX_CHARS, GROUP_MAX_CHARS, LABEL_MAX_CHARS, PERMISSION, QUEUE_ID_MAX, REQUEST, ReportOptions, UINT32_MAX, UINT64_MAX, boundedList, checkAddress, checkBrokerIdentity, dataVersion, deletedNames, enumValue, fail, freeText, groupConfigs, groupName, integer, list, message, optionalName, resolveLimits, topicConfigs, topicName, topicNames } from './fields';
// ---------------------------------------------------------------------------------------------------
// BrokerRegistry

/**
 * RegisterBroker (or one chunk of it): identity, 1..16 host:port addresses, data_version with an
 * epoch, valid and distinct topics and groups, defined permission, chunk_index < chunk_count ≤ 100000.
 */
export function checkRegisterBrokerRequest(
  req: RegisterBrokerRequest,
  options: ReportOptions = {},
): void {
  const limits = resolveLimits(options.limits);
  const r = message<RegisterBrokerRequest>(req, REQUEST);
  checkBrokerIdentity(r);
  const addresses = list(r.addresses, 'addresses');
  if (addresses.length === 0) fail('addresses', 'must have at least one host:port');
  if (addresses.length > limits.maxAddresses) {
    fail('addresses', `must have at most ${limits.maxAddresses} entries, got ${addresses.length}`);
  }
  for (let i = 0; i < addresses.length; i++) checkAddress(addresses[i] as string, `addresses[${i}]`);
  freeText(r.zone, 'zone', LABEL_MAX_CHARS);
  freeText(r.softwareVersion, 'software_version', LABEL_MAX_CHARS);
  dataVersion(r.dataVersion, 'data_version');
  topicConfigs(r.topics, 'topics', limits);
  groupConfigs(r.groups, 'groups', limits);
  enumValue(r.permission, 'permission', PERMISSION, true);
  const chunkIndex = integer(r.chunkIndex, 'chunk_index', 0, UINT32_MAX);
  const chunkCount = integer(r.chunkCount, 'chunk_count', 0, limits.maxChunkCount);
  if (chunkCount > 1 && chunkIndex >= chunkCount) {
    fail('chunk_index', `must be less than chunk_count (${chunkCount}), got ${chunkIndex}`);
  }
  integer(r.leaseTtlMs, 'lease_ttl_ms', 0, UINT64_MAX);
}

/** Heartbeat: identity and a data_version with an epoch. */
export function checkHeartbeatRequest(req: HeartbeatRequest, options: ReportOptions = {}): void {
  const r = message<HeartbeatRequest>(req, REQUEST);
  checkBrokerIdentity(r);
  dataVersion(r.dataVersion, 'data_version');
}

/** UnregisterBroker: identity (always required: it is a unary call); the epoch is optional. */
export function checkUnregisterBrokerRequest(req: UnregisterBrokerRequest): void {
  const r = message<UnregisterBrokerRequest>(req, REQUEST);
  checkBrokerIdentity(r);
  freeText(r.epoch, 'epoch', EPOCH_MAX_CHARS);
}

/**
 * ReportDelta: identity, data_version.counter > base_counter, valid and distinct upserts and
 * deletes, and no name both upserted and deleted.
 */
export function checkReportDeltaRequest(
  req: ReportDeltaRequest,
  options: ReportOptions = {},
): void {
  const limits = resolveLimits(options.limits);
  const r = message<ReportDeltaRequest>(req, REQUEST);
  checkBrokerIdentity(r);
  const base = integer(r.baseCounter, 'base_counter', 0, UINT64_MAX);
  const counter = dataVersion(r.dataVersion, 'data_version');
  if (counter <= base) fail('data_version.counter', `must be greater than base_counter (${base}), got ${counter}`);
  const topics = topicConfigs(r.upsertTopics, 'upsert_topics', limits);
  deletedNames(r.deleteTopics, 'delete_topics', topicName, topics);
  const groups = groupConfigs(r.upsertGroups, 'upsert_groups', limits);
  deletedNames(r.deleteGroups, 'delete_groups', groupName, groups);
}

/** Offsets ≥ 0 within the exact range of a JS number. */
function offset(v: unknown, field: string): number {
  return integer(v, field, 0, UINT64_MAX);
}

/**
 * ReportPositions: identity; queue positions with valid topic, queue_id < 65536,
 * 0 ≤ min_offset ≤ max_offset; consumer positions with valid group and topic, committed_offset ≥ 0.
 */
export function checkReportPositionsRequest(req: ReportPositionsRequest, options: ReportOptions = {}): void {
  const r = message<ReportPositionsRequest>(req, REQUEST);
  checkBrokerIdentity(r);
  const queues = list(r.queuePositions, 'queue_positions');
  for (let i = 0; i < queues.length; i++) {
    const f = `queue_positions[${i}]`;
    const q = message<QueuePosition>(queues[i], f);
    topicName(q.topic, `${f}.topic`);
    integer(q.queueId, `${f}.queue_id`, 0, QUEUE_ID_MAX);
    const min = offset(q.minOffset, `${f}.min_offset`);
    const max = offset(q.maxOffset, `${f}.max_offset`);
    if (min > max) fail(`${f}.min_offset`, `must not exceed max_offset (${max}), got ${min}`);
  }
  const consumers = list(r.consumerPositions, 'consumer_positions');
  for (let i = 0; i < consumers.length; i++) {
    const f = `consumer_positions[${i}]`;
    const c = message<ConsumerPosition>(consumers[i], f);
    groupName(c.group, `${f}.group`);
    topicName(c.topic, `${f}.topic`);
    integer(c.queueId, `${f}.queue_id`, 0, QUEUE_ID_MAX);
    offset(c.committedOffset, `${f}.committed_offset`);
  }
}

/**
 * ReportInstances: identity; at most 10,000 instances, each with a client_id (≤ 255 characters),
 * a producer or consumer role, a valid group if any, valid topic names.
 */
export function checkReportInstancesRequest(
  req: ReportInstancesRequest,
  options: ReportOptions = {},
): void {
  const limits = resolveLimits(options.limits);
  const r = message<ReportInstancesRequest>(req, REQUEST);
  checkBrokerIdentity(r);
  const instances = boundedList(r.instances, 'instances', limits.maxInstancesPerReport);
  for (let i = 0; i < instances.length; i++) {
    const f = `instances[${i}]`;
    const c = message<ClientInstance>(instances[i], f);
    freeText(c.clientId, `${f}.client_id`, CLIENT_ID_MAX_CHARS, true);
    enumValue(c.role, `${f}.role`, CLIENT_ROLE, false);
    optionalName(c.group, `${f}.group`, GROUP_MAX_CHARS);
    topicNames(list(c.topics, `${f}.topics`), `${f}.topics`);
    freeText(c.host, `${f}.host`, LABEL_MAX_CHARS);
    freeText(c.language, `${f}.language`, LABEL_MAX_CHARS);
    freeText(c.version, `${f}.version`, LABEL_MAX_CHARS);
  }
}

/** CommandResult: a command_id, a defined outcome (UNSPECIFIED counts as failed), a bounded message. */
export function checkCommandResult(req: CommandResult): void {
  const r = message<CommandResult>(req, REQUEST);
  freeText(r.commandId, 'command_id', COMMAND_ID_MAX_CHARS, true);
  enumValue(r.outcome, 'outcome', COMMAND_OUTCOME, true);
  freeText(r.message, 'message', COMMAND_MESSAGE_MAX_CHARS);
}
