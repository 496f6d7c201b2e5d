/** The code → handler table of the remoting door, with the access each code needs. */
import { RequestCode as C } from './codes';
import type { HandlerEntry } from './handler';
import { brokerHeartbeat, queryDataVersion, registerBroker, registerTopic, unregisterBroker } from './handlers/broker';
import {
  allTopicList,
  brokerClusterInfo,
  brokerMemberGroup,
  hasUnitSubTopicList,
  hasUnitSubUnUnitTopicList,
  routeInfoByTopic,
  systemTopicList,
  topicsByCluster,
  unitTopicList,
} from './handlers/route';
import { addWritePerm, deleteKvConfig, deleteTopicInNamesrv, getKvConfig, kvListByNamespace, putKvConfig, wipeWritePerm } from './handlers/admin';

/** Every code the door serves; any other is answered REQUEST_CODE_NOT_SUPPORTED. */
export const HANDLERS: ReadonlyMap<number, HandlerEntry> = new Map<number, HandlerEntry>([
  [C.REGISTER_BROKER, { name: 'REGISTER_BROKER', access: 'broker', handle: registerBroker }],
  [C.UNREGISTER_BROKER, { name: 'UNREGISTER_BROKER', access: 'broker', handle: unregisterBroker }],
  [C.BROKER_HEARTBEAT, { name: 'BROKER_HEARTBEAT', access: 'broker', handle: brokerHeartbeat }],
  [C.QUERY_DATA_VERSION, { name: 'QUERY_DATA_VERSION', access: 'broker', handle: queryDataVersion }],
  [C.REGISTER_TOPIC_IN_NAMESRV, { name: 'REGISTER_TOPIC_IN_NAMESRV', access: 'broker', handle: registerTopic }],
  [C.GET_ROUTEINFO_BY_TOPIC, { name: 'GET_ROUTEINFO_BY_TOPIC', access: 'client', handle: routeInfoByTopic }],
  [C.GET_BROKER_CLUSTER_INFO, { name: 'GET_BROKER_CLUSTER_INFO', access: 'client', handle: brokerClusterInfo }],
  [C.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, { name: 'GET_ALL_TOPIC_LIST_FROM_NAMESERVER', access: 'client', handle: allTopicList }],
  [C.GET_TOPICS_BY_CLUSTER, { name: 'GET_TOPICS_BY_CLUSTER', access: 'client', handle: topicsByCluster }],
  [C.GET_SYSTEM_TOPIC_LIST_FROM_NS, { name: 'GET_SYSTEM_TOPIC_LIST_FROM_NS', access: 'client', handle: systemTopicList }],
  [C.GET_UNIT_TOPIC_LIST, { name: 'GET_UNIT_TOPIC_LIST', access: 'client', handle: unitTopicList }],
  [C.GET_HAS_UNIT_SUB_TOPIC_LIST, { name: 'GET_HAS_UNIT_SUB_TOPIC_LIST', access: 'client', handle: hasUnitSubTopicList }],
  [C.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST, { name: 'GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST', access: 'client', handle: hasUnitSubUnUnitTopicList }],
  [C.GET_BROKER_MEMBER_GROUP, { name: 'GET_BROKER_MEMBER_GROUP', access: 'client', handle: brokerMemberGroup }],
  [C.WIPE_WRITE_PERM_OF_BROKER, { name: 'WIPE_WRITE_PERM_OF_BROKER', access: 'admin', handle: wipeWritePerm }],
  [C.ADD_WRITE_PERM_OF_BROKER, { name: 'ADD_WRITE_PERM_OF_BROKER', access: 'admin', handle: addWritePerm }],
  [C.DELETE_TOPIC_IN_NAMESRV, { name: 'DELETE_TOPIC_IN_NAMESRV', access: 'admin', handle: deleteTopicInNamesrv }],
  [C.PUT_KV_CONFIG, { name: 'PUT_KV_CONFIG', access: 'admin', handle: putKvConfig }],
  [C.GET_KV_CONFIG, { name: 'GET_KV_CONFIG', access: 'client', handle: getKvConfig }],
  [C.DELETE_KV_CONFIG, { name: 'DELETE_KV_CONFIG', access: 'admin', handle: deleteKvConfig }],
  [C.GET_KVLIST_BY_NAMESPACE, { name: 'GET_KVLIST_BY_NAMESPACE', access: 'client', handle: kvListByNamespace }],
]);
