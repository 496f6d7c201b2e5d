/** RocketMQ remoting request and response codes used by the front door (values from RocketMQ 5.x). */

/** Request codes a NameServer serves, and those it sends to brokers for Admin writes. */
export const RequestCode = {
  // NameServer codes
  PUT_KV_CONFIG: 100,
  GET_KV_CONFIG: 101,
  DELETE_KV_CONFIG: 102,
  REGISTER_BROKER: 103,
  UNREGISTER_BROKER: 104,
  GET_ROUTEINFO_BY_TOPIC: 105,
  GET_BROKER_CLUSTER_INFO: 106,
  WIPE_WRITE_PERM_OF_BROKER: 205,
  GET_ALL_TOPIC_LIST_FROM_NAMESERVER: 206,
  DELETE_TOPIC_IN_NAMESRV: 216,
  REGISTER_TOPIC_IN_NAMESRV: 217,
  GET_KVLIST_BY_NAMESPACE: 219,
  GET_TOPICS_BY_CLUSTER: 224,
  GET_SYSTEM_TOPIC_LIST_FROM_NS: 304,
  GET_UNIT_TOPIC_LIST: 311,
  GET_HAS_UNIT_SUB_TOPIC_LIST: 312,
  GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: 313,
  UPDATE_NAMESRV_CONFIG: 318,
  GET_NAMESRV_CONFIG: 319,
  QUERY_DATA_VERSION: 322,
  ADD_WRITE_PERM_OF_BROKER: 327,
  GET_BROKER_MEMBER_GROUP: 901,
  BROKER_HEARTBEAT: 904,
  // Broker codes (Admin writes carried to RocketMQ brokers, as mqadmin sends them)
  UPDATE_AND_CREATE_TOPIC: 17,
  UPDATE_BROKER_CONFIG: 25,
  UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: 200,
  DELETE_SUBSCRIPTIONGROUP: 207,
  DELETE_TOPIC_IN_BROKER: 215,
} as const;

/** Response codes. */
export const ResponseCode = {
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  SYSTEM_BUSY: 2,
  REQUEST_CODE_NOT_SUPPORTED: 3,
  NO_PERMISSION: 16,
  TOPIC_NOT_EXIST: 17,
  QUERY_NOT_FOUND: 22,
  SUBSCRIPTION_GROUP_NOT_EXIST: 26,
  INVALID_PARAMETER: 29,
} as const;

/** Ext field a client in zone mode sets to "true" (with ZONE_NAME) to get only brokers of its zone. */
export const ZONE_MODE = '__ZONE_MODE';
/** Ext field naming the sender's zone (brokers: their zone; clients: theirs, in zone mode). */
export const ZONE_NAME = '__ZONE_NAME';

/** KV namespace whose entries brokers receive in a REGISTER_BROKER answer (ordered topics' queue layout). */
export const NAMESPACE_ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';

/**
 * RocketMQ's version ordinal (the header's `version`) as a release name. From 4.0.0 on, the ordinals run
 * X_Y_Z_SNAPSHOT, X_Y_Z for every X.Y.Z in order from ordinal 212 (4.0.0-SNAPSHOT); earlier ones are
 * named by ordinal only.
 */
export function versionName(ordinal: number): string {
  if (ordinal < 212) return `ordinal ${ordinal}`;
  const i = ordinal - 212;
  const release = Math.floor(i / 2);
  const name = `${4 + Math.floor(release / 100)}.${Math.floor(release / 10) % 10}.${release % 10}`;
  return i % 2 === 0 ? `${name}-SNAPSHOT` : name;
}

/** Version ordinal of RocketMQ 4.9.4: clients at or above it take routes in standard JSON. */
export const V4_9_4 = 401;
/** Version ordinal of RocketMQ 3.0.11: brokers below it send a bare topic config wrapper. */
export const V3_0_11 = 37;
