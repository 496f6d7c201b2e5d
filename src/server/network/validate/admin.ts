/** Validators of the Admin requests (pure functions; see fields.ts). */
import type { CheckReplicasRequest, CreateGroupRequest, CreateTopicRequest, DeleteGroupRequest, DeleteTopicRequest, GetConsumerLagRequest, GetGroupRequest, GetTopicRequest, ListBrokersRequest, ListGroupsRequest, ListInstancesRequest, ListRouteVersionsRequest, ListTopicsRequest, SetBrokerPermissionRequest, UpdateGroupRequest, UpdateTopicRequest, WatchClusterRequest } from '../../../../generated/nameserver/v1/admin';
import { CLIENT_ROLE, CheckOptions, GROUP_MAX_CHARS, PERMISSION, REQUEST, TOPIC_MAX_CHARS, boundedList, checkAddress, enumValue, groupConfig, groupName, identityName, message, optionalName, page, prefix, resolveLimits, target, topicConfig, topicName, topicNames } from './fields';
// ---------------------------------------------------------------------------------------------------
// Admin: reads

/** ListBrokers: optional valid cluster, page_size ≤ 1000, page_token ≤ 1024 characters. */
export function checkListBrokersRequest(req: ListBrokersRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<ListBrokersRequest>(req, REQUEST);
  identityName(r.cluster, 'cluster', true);
  page(r, limits.maxPageSize, limits);
}

/** ListTopics: optional valid cluster, name_prefix of the topic charset, page bounds. */
export function checkListTopicsRequest(req: ListTopicsRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<ListTopicsRequest>(req, REQUEST);
  identityName(r.cluster, 'cluster', true);
  prefix(r.namePrefix, 'name_prefix', TOPIC_MAX_CHARS);
  page(r, limits.maxPageSize, limits);
}

/** GetTopic: a valid topic name. */
export function checkGetTopicRequest(req: GetTopicRequest): void {
  const r = message<GetTopicRequest>(req, REQUEST);
  topicName(r.topic, 'topic');
}

/** ListGroups: optional valid cluster, name_prefix of the group charset, page bounds. */
export function checkListGroupsRequest(req: ListGroupsRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<ListGroupsRequest>(req, REQUEST);
  identityName(r.cluster, 'cluster', true);
  prefix(r.namePrefix, 'name_prefix', GROUP_MAX_CHARS);
  page(r, limits.maxPageSize, limits);
}

/** GetGroup: a valid group name. */
export function checkGetGroupRequest(req: GetGroupRequest): void {
  const r = message<GetGroupRequest>(req, REQUEST);
  groupName(r.group, 'group');
}

/** GetConsumerLag: a valid group; the topic, if given, valid. */
export function checkGetConsumerLagRequest(req: GetConsumerLagRequest): void {
  const r = message<GetConsumerLagRequest>(req, REQUEST);
  groupName(r.group, 'group');
  optionalName(r.topic, 'topic', TOPIC_MAX_CHARS);
}

/** ListInstances: optional valid group and topic, defined role (UNSPECIFIED: both), page bounds. */
export function checkListInstancesRequest(req: ListInstancesRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<ListInstancesRequest>(req, REQUEST);
  optionalName(r.group, 'group', GROUP_MAX_CHARS);
  optionalName(r.topic, 'topic', TOPIC_MAX_CHARS);
  enumValue(r.role, 'role', CLIENT_ROLE, true);
  page(r, limits.maxPageSize, limits);
}

/** WatchCluster: optional valid cluster. */
export function checkWatchClusterRequest(req: WatchClusterRequest): void {
  const r = message<WatchClusterRequest>(req, REQUEST);
  identityName(r.cluster, 'cluster', true);
}

/** ListRouteVersions: at most 10,000 valid topics, page_size ≤ 10,000, page_token ≤ 1024 characters. */
export function checkListRouteVersionsRequest(req: ListRouteVersionsRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<ListRouteVersionsRequest>(req, REQUEST);
  topicNames(boundedList(r.topics, 'topics', limits.maxRouteVersionsPageSize), 'topics');
  page(r, limits.maxRouteVersionsPageSize, limits);
}

/** CheckReplicas: at most 16 host:port NameServer addresses, at most 10,000 valid topics. */
export function checkCheckReplicasRequest(req: CheckReplicasRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<CheckReplicasRequest>(req, REQUEST);
  const nameservers = boundedList(r.nameservers, 'nameservers', limits.maxNameservers);
  for (let i = 0; i < nameservers.length; i++) checkAddress(nameservers[i] as string, `nameservers[${i}]`);
  topicNames(boundedList(r.topics, 'topics', limits.maxCheckTopics), 'topics');
}

// ---------------------------------------------------------------------------------------------------
// Admin: writes

/** CreateTopic: a valid `topic` config and exactly one of `cluster` or non-empty `broker_names`. */
export function checkCreateTopicRequest(req: CreateTopicRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<CreateTopicRequest>(req, REQUEST);
  topicConfig(r.topic, 'topic', limits);
  target(r, true);
}

/** UpdateTopic: a valid `topic` config; cluster and broker_names optional but valid. */
export function checkUpdateTopicRequest(req: UpdateTopicRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<UpdateTopicRequest>(req, REQUEST);
  topicConfig(r.topic, 'topic', limits);
  target(r, false);
}

/** DeleteTopic: a valid topic name; cluster and broker_names optional but valid. */
export function checkDeleteTopicRequest(req: DeleteTopicRequest): void {
  const r = message<DeleteTopicRequest>(req, REQUEST);
  topicName(r.topic, 'topic');
  target(r, false);
}

/** CreateGroup: a valid `group` config and exactly one of `cluster` or non-empty `broker_names`. */
export function checkCreateGroupRequest(req: CreateGroupRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<CreateGroupRequest>(req, REQUEST);
  groupConfig(r.group, 'group', limits);
  target(r, true);
}

/** UpdateGroup: a valid `group` config; cluster and broker_names optional but valid. */
export function checkUpdateGroupRequest(req: UpdateGroupRequest, options: CheckOptions = {}): void {
  const limits = resolveLimits(options.limits);
  const r = message<UpdateGroupRequest>(req, REQUEST);
  groupConfig(r.group, 'group', limits);
  target(r, false);
}

/** DeleteGroup: a valid group name; cluster and broker_names optional but valid. */
export function checkDeleteGroupRequest(req: DeleteGroupRequest): void {
  const r = message<DeleteGroupRequest>(req, REQUEST);
  groupName(r.group, 'group');
  target(r, false);
}

/** SetBrokerPermission: cluster and broker_name required, permission defined and not UNSPECIFIED. */
export function checkSetBrokerPermissionRequest(req: SetBrokerPermissionRequest): void {
  const r = message<SetBrokerPermissionRequest>(req, REQUEST);
  identityName(r.cluster, 'cluster');
  identityName(r.brokerName, 'broker_name');
  enumValue(r.permission, 'permission', PERMISSION, false);
}
