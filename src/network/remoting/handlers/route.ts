/** Client-facing reads: routes, cluster info, topic lists, replica-set members. */
import { ResponseCode, V4_9_4, ZONE_MODE, ZONE_NAME, NAMESPACE_ORDER_TOPIC_CONFIG } from '../codes';
import { writeJson } from '../json';
import { allTopics, clusterInfo, memberGroup, systemTopics, topicRouteData, topicsBySysFlag, topicsOfCluster, UNIT } from '../views';
import { field, jsonBody, optionalField, success, type Handler } from '../handler';

/**
 * GET_ROUTEINFO_BY_TOPIC (105). Clients from 4.9.4 on (or that ask with acceptStandardJsonOnly) get
 * standard JSON; older ones fastjson's form with unquoted broker-id keys. A client in zone mode gets
 * only replica sets of its zone. During warm-up a topic this replica has not seen yet is "not ready"
 * (SYSTEM_ERROR), not "does not exist", so the client keeps the route it has.
 */
export const routeInfoByTopic: Handler = ({ cmd }, door) => {
  const topic = field(cmd, 'topic');
  const zone = optionalField(cmd, ZONE_MODE) === 'true' ? optionalField(cmd, ZONE_NAME)?.trim() || undefined : undefined;
  const data = topicRouteData(door, topic, zone);
  if (!data) {
    if (door.warmup.active && !door.registry.routes.wasSeen(topic)) {
      return { code: ResponseCode.SYSTEM_ERROR, remark: 'name server not ready: warming up (this replica started recently); ask another replica or retry' };
    }
    return { code: ResponseCode.TOPIC_NOT_EXIST, remark: `No topic route info in name server for the topic: ${topic}` };
  }
  const orderTopicConf = door.kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, topic);
  const standard = cmd.version >= V4_9_4 || optionalField(cmd, 'acceptStandardJsonOnly') === 'true';
  const { brokerDatas, filterServerTable, queueDatas } = data;
  return success({ body: jsonBody(writeJson({ brokerDatas, filterServerTable, orderTopicConf, queueDatas }, standard)) });
};

/** GET_BROKER_CLUSTER_INFO (106). */
export const brokerClusterInfo: Handler = (_req, door) => success({ body: jsonBody(writeJson(clusterInfo(door), false)) });

/** GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206). */
export const allTopicList: Handler = (_req, door) => success({ body: jsonBody(writeJson(allTopics(door), false)) });

/** GET_TOPICS_BY_CLUSTER (224). */
export const topicsByCluster: Handler = ({ cmd }, door) => success({ body: jsonBody(writeJson(topicsOfCluster(door, field(cmd, 'cluster')), false)) });

/** GET_SYSTEM_TOPIC_LIST_FROM_NS (304). */
export const systemTopicList: Handler = (_req, door) => success({ body: jsonBody(writeJson(systemTopics(door), false)) });

/** GET_UNIT_TOPIC_LIST (311). */
export const unitTopicList: Handler = (_req, door) => success({ body: jsonBody(writeJson(topicsBySysFlag(door, UNIT.unit), false)) });

/** GET_HAS_UNIT_SUB_TOPIC_LIST (312). */
export const hasUnitSubTopicList: Handler = (_req, door) => success({ body: jsonBody(writeJson(topicsBySysFlag(door, UNIT.hasUnitSub), false)) });

/** GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313). */
export const hasUnitSubUnUnitTopicList: Handler = (_req, door) =>
  success({ body: jsonBody(writeJson(topicsBySysFlag(door, UNIT.hasUnitSubNotUnit), false)) });

/** GET_BROKER_MEMBER_GROUP (901). */
export const brokerMemberGroup: Handler = ({ cmd }, door) =>
  success({ body: jsonBody(writeJson(memberGroup(door, field(cmd, 'clusterName'), field(cmd, 'brokerName')), false)) });
