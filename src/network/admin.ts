/** Admin: the console-facing service. Reads come from cluster-view.ts; writes go to brokers (issue #5). */
import type { AdminServer } from '../../generated/nameserver/v1/admin';
import {
  clusters,
  getGroup,
  getTopic,
  listBrokers,
  listGroups,
  listRouteVersions,
  listTopics,
} from '../metadata/cluster-view';
import { GroupNotFound, NotImplementedYet } from '../metadata/errors';
import {
  checkGetConsumerLagRequest,
  checkGetGroupRequest,
  checkGetTopicRequest,
  checkListBrokersRequest,
  checkListGroupsRequest,
  checkListInstancesRequest,
  checkListRouteVersionsRequest,
  checkListTopicsRequest,
} from '../metadata/validate';
import { serverStream, unary } from './handler';
import type { ServiceDeps } from './deps';
import { SERVER_VERSION } from '../version';

/** Build the Admin implementation. */
export function adminService(deps: ServiceDeps): AdminServer {
  const { registry: r, warmup, serverId } = deps;
  const later = (rpc: string, issue: number) =>
    unary<unknown, never>(rpc, () => {
      throw new NotImplementedYet(rpc, issue);
    });
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
    createTopic: later('CreateTopic', 5),
    updateTopic: later('UpdateTopic', 5),
    deleteTopic: later('DeleteTopic', 5),
    createGroup: later('CreateGroup', 5),
    updateGroup: later('UpdateGroup', 5),
    deleteGroup: later('DeleteGroup', 5),
    setBrokerPermission: later('SetBrokerPermission', 5),
    watchCluster: serverStream('WatchCluster', deps.streams, (call) => deps.clusterWatch.serve(call)),
    listRouteVersions: unary('ListRouteVersions', (req) => {
      checkListRouteVersionsRequest(req);
      return listRouteVersions(r, req, serverId, warmup.active);
    }),
    checkReplicas: later('CheckReplicas', 8),
  };
}
