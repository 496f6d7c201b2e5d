/** Admin: the console-facing service. Reads come from cluster-view.ts; writes go to brokers (issue #5). */
import {
  CreateGroupResponse,
  CreateTopicResponse,
  DeleteGroupResponse,
  DeleteTopicResponse,
  SetBrokerPermissionResponse,
  UpdateGroupResponse,
  UpdateTopicResponse,
  type AdminServer,
} from '../../../../generated/nameserver/v1/admin';
import type { Command } from '../../../../generated/nameserver/v1/broker_registry';
import { CommandOutcome, commandOutcomeToJSON, type GroupConfig, type TopicConfig } from '../../../../generated/nameserver/v1/common';
import { log } from '../../log';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import {
  clusters,
  getGroup,
  getTopic,
  listBrokers,
  listGroups,
  listRouteVersions,
  listTopics,
} from './views';
import { GroupNotFound } from '../../metadata/errors';
import { checkReplicas } from './replica-check';
import { resolveAddresses } from '../../../shared/resolve';
import { createTargets, existingTargets, replicaSetTargets, type TargetSpec } from './write-targets';
import type { BrokerRef } from '../../metadata/types';
import { requireAllOk } from './commands';
import {
  checkCheckReplicasRequest,
  checkCreateGroupRequest,
  checkCreateTopicRequest,
  checkDeleteGroupRequest,
  checkDeleteTopicRequest,
  checkSetBrokerPermissionRequest,
  checkUpdateGroupRequest,
  checkUpdateTopicRequest,
  checkGetConsumerLagRequest,
  checkGetGroupRequest,
  checkGetTopicRequest,
  checkListBrokersRequest,
  checkListGroupsRequest,
  checkListInstancesRequest,
  checkListRouteVersionsRequest,
  checkListTopicsRequest,
} from '../validate';
import { serverStream, unary } from '../grpc/adapter';
import type { Config } from '../../config';
import type { MetadataCore } from '../../metadata/core';
import type { WarmUp } from '../../metadata/warm-up';
import type { StreamTracker } from '../grpc/adapter';
import type { Guard } from '../grpc/auth';
import type { ClusterWatchHub } from './cluster-watch';
import type { CommandDispatcher } from './commands';
import { SERVER_VERSION } from '../../../shared/version';
import { messageTypeOrDefault, permissionOrDefault } from '../../../shared/contract';

/** Topic configs go to brokers with defaults made explicit, so every broker stores the same thing. */
function explicitTopic(t: TopicConfig): TopicConfig {
  return {
    ...t,
    permission: permissionOrDefault(t.permission),
    messageType: messageTypeOrDefault(t.messageType),
  };
}

/** What Admin needs: the metadata core, the command path to brokers, the cluster watch, the guard. */
export interface AdminDeps {
  readonly config: Readonly<Config>;
  readonly core: MetadataCore;
  readonly warmup: WarmUp;
  readonly streams: StreamTracker;
  readonly clusterWatch: ClusterWatchHub;
  readonly commands: CommandDispatcher;
  readonly guard: Guard;
  /** Random id of this process (GetClusterInfo, CheckReplicas). */
  readonly serverId: string;
  readonly startedAtMs: number;
}

/** Build the Admin implementation. */
export function adminService(deps: AdminDeps): AdminServer {
  const { core: r, warmup, serverId, config } = deps;
  const limits = { maxQueueNums: config.maxQueueNums };
  /** When to stop waiting for brokers: a little before the caller's deadline, at most commandTimeoutMs. */
  const deadline = (call: ServerUnaryCall<unknown, unknown>) => {
    const d = call.getDeadline();
    const callerMs = d instanceof Date ? d.getTime() : d;
    return Math.min(Date.now() + config.commandTimeoutMs, Number.isFinite(callerMs) ? callerMs - 100 : Infinity);
  };
  /** Send a command to the targets and require every one to apply it. */
  const write = async <R extends { results: import('../../../../generated/nameserver/v1/admin').BrokerResult[] }>(
    what: string,
    call: ServerUnaryCall<unknown, unknown>,
    targets: BrokerRef[],
    action: NonNullable<Command['action']>,
    encode: { encode(m: R): { finish(): Uint8Array } },
  ): Promise<R> => {
    // The audit trail: one line per Admin write, refused or carried out, with who asked and what each
    // broker answered.
    const who = deps.guard.identify(call);
    const method = call.getPath().slice(call.getPath().lastIndexOf('/') + 1);
    const audit = { event: 'admin.write', method, action: what, targets: targets.map((t) => t.key), peer: who.peer, role: who.role };
    try {
      deps.guard.adminWrite(call);
    } catch (err) {
      log.warn({ ...audit, refused: (err as Error).message }, 'admin write refused');
      throw err;
    }
    const results = await deps.commands.sendAll(targets, action, deadline(call));
    const outcomes = results.map((x) => `${x.cluster}/${x.brokerName}/${x.brokerId} ${commandOutcomeToJSON(x.outcome).replace('COMMAND_OUTCOME_', '')}`);
    const ok = results.length > 0 && results.every((x) => x.outcome === CommandOutcome.COMMAND_OUTCOME_OK);
    log[ok ? 'info' : 'warn']({ ...audit, results: outcomes }, ok ? 'admin write applied' : 'admin write incomplete');
    return requireAllOk(what, { results } as R, (x) => encode.encode(x).finish());
  };
  const spec = (req: TargetSpec) => ({ cluster: req.cluster, brokerNames: req.brokerNames });
  return {
    getClusterInfo: unary('GetClusterInfo', () => ({
      serverId,
      serverVersion: SERVER_VERSION,
      startedAtMs: deps.startedAtMs,
      warmingUp: warmup.active,
      clusters: clusters(r),
      brokerCount: r.brokers.size,
      topicCount: r.routes.size,
      groupCount: r.groups.size,
      instanceCount: r.instances.stats().instances,
    })),
    listBrokers: unary('ListBrokers', (req) => {
      checkListBrokersRequest(req);
      return listBrokers(r, req);
    }),
    listTopics: unary('ListTopics', (req) => {
      checkListTopicsRequest(req);
      return listTopics(r, req);
    }),
    getTopic: unary('GetTopic', (req) => {
      checkGetTopicRequest(req);
      return getTopic(r, req.topic);
    }),
    listGroups: unary('ListGroups', (req) => {
      checkListGroupsRequest(req);
      return listGroups(r, req);
    }),
    getGroup: unary('GetGroup', (req) => {
      checkGetGroupRequest(req);
      return getGroup(r, req.group);
    }),
    getConsumerLag: unary('GetConsumerLag', (req) => {
      checkGetConsumerLagRequest(req);
      if (!r.groups.has(req.group) && !r.positions.groupsWithPositions().includes(req.group)) {
        throw new GroupNotFound(req.group);
      }
      return r.positions.lag(req.group, req.topic);
    }),
    listInstances: unary('ListInstances', (req) => {
      checkListInstancesRequest(req);
      return r.instances.list({ group: req.group, topic: req.topic, role: req.role }, req.pageSize, req.pageToken);
    }),
    createTopic: unary('CreateTopic', (req, call) => {
      checkCreateTopicRequest(req, { limits });
      const topic = explicitTopic(req.topic!);
      return write(`create topic "${topic.name}"`, call, createTargets(r, spec(req)), { $case: 'createTopic', createTopic: { topic } }, CreateTopicResponse);
    }),
    updateTopic: unary('UpdateTopic', (req, call) => {
      checkUpdateTopicRequest(req, { limits });
      const topic = explicitTopic(req.topic!);
      const targets = existingTargets(r, 'topic', topic.name, spec(req));
      return write(`update topic "${topic.name}"`, call, targets, { $case: 'updateTopic', updateTopic: { topic } }, UpdateTopicResponse);
    }),
    deleteTopic: unary('DeleteTopic', (req, call) => {
      checkDeleteTopicRequest(req);
      const targets = existingTargets(r, 'topic', req.topic, spec(req));
      return write(`delete topic "${req.topic}"`, call, targets, { $case: 'deleteTopic', deleteTopic: { name: req.topic } }, DeleteTopicResponse);
    }),
    createGroup: unary('CreateGroup', (req, call) => {
      checkCreateGroupRequest(req);
      const group: GroupConfig = req.group!;
      return write(`create group "${group.name}"`, call, createTargets(r, spec(req)), { $case: 'createGroup', createGroup: { group } }, CreateGroupResponse);
    }),
    updateGroup: unary('UpdateGroup', (req, call) => {
      checkUpdateGroupRequest(req);
      const group: GroupConfig = req.group!;
      const targets = existingTargets(r, 'group', group.name, spec(req));
      return write(`update group "${group.name}"`, call, targets, { $case: 'updateGroup', updateGroup: { group } }, UpdateGroupResponse);
    }),
    deleteGroup: unary('DeleteGroup', (req, call) => {
      checkDeleteGroupRequest(req);
      const targets = existingTargets(r, 'group', req.group, spec(req));
      return write(`delete group "${req.group}"`, call, targets, { $case: 'deleteGroup', deleteGroup: { name: req.group } }, DeleteGroupResponse);
    }),
    setBrokerPermission: unary('SetBrokerPermission', (req, call) => {
      checkSetBrokerPermissionRequest(req);
      const targets = replicaSetTargets(r, req.cluster, req.brokerName);
      return write(
        `set permission of ${req.cluster}/${req.brokerName}`,
        call,
        targets,
        { $case: 'setPermission', setPermission: { permission: req.permission } },
        SetBrokerPermissionResponse,
      );
    }),
    watchCluster: serverStream('WatchCluster', deps.streams, (call) => deps.clusterWatch.serve(call)),
    listRouteVersions: unary('ListRouteVersions', (req) => {
      checkListRouteVersionsRequest(req);
      return listRouteVersions(r, req, serverId, warmup.active);
    }),
    checkReplicas: unary('CheckReplicas', async (req, call) => {
      checkCheckReplicasRequest(req);
      // Addresses from the caller make this replica open connections: only for callers allowed to write.
      if (req.nameservers.length > 0) deps.guard.adminWrite(call);
      // Host names expand to every address (a headless Service lists every replica).
      const peers = await resolveAddresses(req.nameservers.length > 0 ? req.nameservers : config.peers);
      return checkReplicas({ core: r, serverId, warmingUp: warmup.active, config }, peers, req.topics, deadline(call));
    }),
  };
}
