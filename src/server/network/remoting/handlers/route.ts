/** Client-facing reads: routes, cluster info, topic lists, replica-set members. */
import { ResponseCode, V4_9_4, ZONE_MODE, ZONE_NAME, NAMESPACE_ORDER_TOPIC_CONFIG } from '../codes';
import { writeJson } from '../json';
import { allTopics, clusterInfo, memberGroup, systemTopics, topicRouteData, topicsBySysFlag, topicsOfCluster, UNIT } from '../views';
import { field, jsonBody, optionalField, success, type FrontDoor, type Handler, type RemotingReply } from '../handler';
import { WarmingUp } from '../../../metadata/errors';

/** Most route answers kept per front door and JSON form (about 2 KB each for a route of 8 replica sets). */
const ROUTE_CACHE_ENTRIES = 10_000;

/**
 * Encoded route answers by topic and JSON form. A lookup is the hot path of every RocketMQ client, and
 * building and writing the JSON is most of its cost, so an answer is reused while nothing it is made
 * of has changed: the route table's revision (topic configs and replica sets), the remoting brokers'
 * (enableActingMaster) and the KV config's (orderTopicConf) are part of each entry and compared on
 * every read. At most ROUTE_CACHE_ENTRIES answers are kept per JSON form (one map each, keyed by the
 * topic as it came: no key built per lookup); the oldest goes first.
 */
class RouteAnswers {
  private readonly standard = new Map<string, { routes: number; brokers: number; kv: number; reply: RemotingReply }>();
  private readonly fastjson: typeof this.standard = new Map();

  constructor(private readonly door: FrontDoor) {}

  /** The reply kept for `topic` in this form (one object, never changed: the door only reads replies). */
  get(topic: string, standard: boolean): RemotingReply | undefined {
    const entries = standard ? this.standard : this.fastjson;
    const e = entries.get(topic);
    if (!e) return undefined;
    const d = this.door;
    if (e.routes === d.core.routes.revision && e.brokers === d.brokers.revision && e.kv === d.kv.revision) return e.reply;
    entries.delete(topic);
    return undefined;
  }

  set(topic: string, standard: boolean, reply: RemotingReply): void {
    const entries = standard ? this.standard : this.fastjson;
    if (entries.size >= ROUTE_CACHE_ENTRIES) entries.delete(entries.keys().next().value!);
    const d = this.door;
    entries.set(topic, { routes: d.core.routes.revision, brokers: d.brokers.revision, kv: d.kv.revision, reply });
  }
}

const answers = new WeakMap<FrontDoor, RouteAnswers>();

/**
 * GET_ROUTEINFO_BY_TOPIC (105). Clients from 4.9.4 on (or that ask with acceptStandardJsonOnly) get
 * standard JSON; older ones fastjson's form with unquoted broker-id keys. A client in zone mode gets
 * only replica sets of its zone. During warm-up a topic this replica has not seen yet is "not ready"
 * (SYSTEM_ERROR), not "does not exist", so the client keeps the route it has. Answers outside zone mode
 * are reused until something behind them changes (RouteAnswers).
 */
export const routeInfoByTopic: Handler = ({ cmd }, door) => {
  const topic = field(cmd, 'topic');
  const zone = optionalField(cmd, ZONE_MODE) === 'true' ? optionalField(cmd, ZONE_NAME)?.trim() || undefined : undefined;
  const standard = cmd.version >= V4_9_4 || optionalField(cmd, 'acceptStandardJsonOnly') === 'true';
  let cache = answers.get(door);
  if (!cache) answers.set(door, (cache = new RouteAnswers(door)));
  // Zone-mode answers are per zone and rare: not cached.
  const cached = zone === undefined ? cache.get(topic, standard) : undefined;
  if (cached) return cached;
  const data = topicRouteData(door, topic, zone);
  if (!data) {
    if (door.warmup.missingRoute(topic) instanceof WarmingUp) {
      return { code: ResponseCode.SYSTEM_ERROR, remark: 'name server not ready: warming up (this replica started recently); ask another replica or retry' };
    }
    return { code: ResponseCode.TOPIC_NOT_EXIST, remark: `No topic route info in name server for the topic: ${topic}` };
  }
  const orderTopicConf = door.kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, topic);
  const { brokerDatas, filterServerTable, queueDatas } = data;
  const reply = success({ body: jsonBody(writeJson({ brokerDatas, filterServerTable, orderTopicConf, queueDatas }, standard)) });
  if (zone === undefined) cache.set(topic, standard, reply);
  return reply;
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
