/** Broker-facing codes: REGISTER_BROKER, UNREGISTER_BROKER, BROKER_HEARTBEAT, QUERY_DATA_VERSION, REGISTER_TOPIC_IN_NAMESRV. */
import { crc32 } from 'node:zlib';
import { InvalidArgument } from '../../../metadata/errors';
import { NAMESPACE_ORDER_TOPIC_CONFIG, ResponseCode, V3_0_11, ZONE_NAME } from '../codes';
import { parseLenientJson, writeJson } from '../json';
import { BodyError, dataVersionOf, decodeRegisterBody, peekDataVersion, toTopicConfig } from '../translate';
import { brokerRef } from '../../../metadata/types';
import { field, intField, jsonBody, optionalField, success, type Handler } from '../handler';

/** Decompressed register bodies may be this many times the frame limit (a zlib bomb stops there). */
const INFLATE_FACTOR = 8;

/**
 * REGISTER_BROKER (103): bodyCrc32 checked, body decoded, registered; answers the leader's addresses
 * and the order-topic KV table. A periodic re-registration with the DataVersion held (a broker's
 * default every 30 s) only renews, so its body is not decoded past that DataVersion (peekDataVersion).
 */
export const registerBroker: Handler = (req, door) => {
  const { cmd } = req;
  const crc = intField(cmd, 'bodyCrc32', true) ?? 0;
  // RocketMQ's crc32 is the CRC-32 with the sign bit cleared; a broker sends 0 when it does not check.
  if (crc !== 0 && (crc32(cmd.body ?? Buffer.alloc(0)) & 0x7fffffff) !== crc) return { code: ResponseCode.SYSTEM_ERROR, remark: 'crc32 not match' };
  const cluster = field(cmd, 'clusterName');
  const brokerName = field(cmd, 'brokerName');
  const brokerId = intField(cmd, 'brokerId');
  const compressed = optionalField(cmd, 'compressed') === 'true';
  const peeked = !compressed && cmd.version >= V3_0_11 && cmd.body ? peekDataVersion(cmd.body) : undefined;
  let body;
  if (peeked && door.brokers.isUnchanged(req.conn, brokerRef(cluster, brokerName, brokerId), peeked)) {
    body = { dataVersion: peeked, topics: [] };
  } else {
    try {
      body = decodeRegisterBody(cmd.body, compressed, cmd.version, door.config.remotingMaxFrameBytes * INFLATE_FACTOR);
    } catch (err) {
      if (err instanceof BodyError) throw new InvalidArgument('body', err.message);
      throw err;
    }
  }
  const timeout = intField(cmd, 'heartbeatTimeoutMillis', true);
  const out = door.brokers.register(req.conn, {
    cluster,
    brokerName,
    brokerId,
    brokerAddr: field(cmd, 'brokerAddr'),
    haServerAddr: optionalField(cmd, 'haServerAddr') ?? '',
    zone: optionalField(cmd, ZONE_NAME) ?? '',
    version: cmd.version,
    heartbeatTimeoutMs: timeout !== undefined && timeout > 0 ? timeout : undefined,
    enableActingMaster: optionalField(cmd, 'enableActingMaster') === 'true',
    body,
  });
  const orders = door.kv.list(NAMESPACE_ORDER_TOPIC_CONFIG);
  return success({
    extFields: { haServerAddr: out.haServerAddr, masterAddr: out.masterAddr },
    body: orders ? jsonBody(writeJson({ table: orders }, false)) : undefined,
  });
};

/** UNREGISTER_BROKER (104): the broker at that address leaves at once. */
export const unregisterBroker: Handler = ({ cmd }, door) => {
  door.brokers.unregister(field(cmd, 'clusterName'), field(cmd, 'brokerName'), intField(cmd, 'brokerId'), field(cmd, 'brokerAddr'));
  return success();
};

/** BROKER_HEARTBEAT (904): renew the broker's lease. */
export const brokerHeartbeat: Handler = ({ cmd }, door) => {
  door.brokers.heartbeat(field(cmd, 'clusterName'), field(cmd, 'brokerName'), intField(cmd, 'brokerId', true), field(cmd, 'brokerAddr'));
  return success();
};

/** QUERY_DATA_VERSION (322): whether the broker's DataVersion differs from the one held; renews it. */
export const queryDataVersion: Handler = ({ cmd }, door) => {
  let dv;
  try {
    dv = dataVersionOf(cmd.body ? parseLenientJson(cmd.body.toString('utf8')) : undefined);
  } catch {
    throw new InvalidArgument('body', 'must be a DataVersion JSON object');
  }
  const out = door.brokers.queryDataVersion(field(cmd, 'clusterName'), field(cmd, 'brokerName'), intField(cmd, 'brokerId', true), field(cmd, 'brokerAddr'), dv);
  return success({ extFields: { changed: String(out.changed) }, body: out.held ? jsonBody(writeJson(out.held, false)) : undefined });
};

/** REGISTER_TOPIC_IN_NAMESRV (217): a topic's queue data for the named replica sets (brokers with single-topic registration). */
export const registerTopic: Handler = ({ cmd }, door) => {
  const topic = field(cmd, 'topic');
  let doc: unknown;
  try {
    doc = cmd.body ? parseLenientJson(cmd.body.toString('utf8')) : undefined;
  } catch {
    throw new InvalidArgument('body', 'must be TopicRouteData JSON');
  }
  const queueDatas = (doc as { queueDatas?: unknown } | undefined)?.queueDatas;
  if (!Array.isArray(queueDatas)) return success(); // RocketMQ ignores a body without queue data
  for (const qd of queueDatas as Record<string, unknown>[]) {
    if (typeof qd !== 'object' || qd === null || typeof qd.brokerName !== 'string') throw new InvalidArgument('body.queueDatas', 'entries need a brokerName');
    const config = toTopicConfig({
      topicName: topic,
      readQueueNums: Number(qd.readQueueNums),
      writeQueueNums: Number(qd.writeQueueNums),
      perm: Number(qd.perm),
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: Number(qd.topicSysFlag ?? 0),
      order: false,
      attributes: {},
    });
    door.brokers.upsertTopic(config, [qd.brokerName]);
  }
  return success();
};
