/** Admin writes: broker write permission (wipe/add), deleting a topic's record, and the in-memory KV config. */
import { SetBrokerPermissionResponse } from '../../../../generated/nameserver/v1/admin';
import { Permission } from '../../../../generated/nameserver/v1/common';
import { replicaSetTargets } from '../../../metadata/write-targets';
import { requireAllOk } from '../../commands';
import { ResponseCode } from '../codes';
import { writeJson } from '../json';
import { field, jsonBody, optionalField, success, type FrontDoor, type Handler } from '../handler';

/**
 * WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327) on every replica set of that name.
 * RocketMQ's NameServer edits its own copy of the routes, which every other replica and the next
 * broker restart undo; this NameServer keeps no such copy, so it does what Admin's SetBrokerPermission
 * does: the permission goes to the brokers themselves (RocketMQ brokers: brokerPermission through
 * UPDATE_BROKER_CONFIG; gRPC brokers: a set-permission command), which re-register with it, and every
 * replica and watcher sees it. Answers the number of topics of those replica sets.
 */
function setWritePermission(permission: Permission, countField: string): Handler {
  return async ({ cmd }, door) => {
    const brokerName = field(cmd, 'brokerName');
    const { registry: r } = door;
    const clusters = [...new Set(r.brokers.all().filter((s) => s.brokerName === brokerName).map((s) => s.cluster))].sort();
    const topics = new Set<string>();
    for (const c of clusters) for (const s of r.brokers.replicaSet(c, brokerName)) for (const t of r.topics.namesOf(s.key)) topics.add(t);
    const targets = clusters.flatMap((c) => replicaSetTargets(r, c, brokerName));
    const results = await door.commands.sendAll(targets, { $case: 'setPermission', setPermission: { permission } }, Date.now() + door.config.commandTimeoutMs);
    requireAllOk(`set permission of replica set ${brokerName}`, { results }, (x) => SetBrokerPermissionResponse.encode(x).finish());
    return success({ extFields: { [countField]: String(topics.size) } });
  };
}

/** WIPE_WRITE_PERM_OF_BROKER (205). */
export const wipeWritePerm = setWritePermission(Permission.PERMISSION_READ, 'wipeTopicCount');

/** ADD_WRITE_PERM_OF_BROKER (327). */
export const addWritePerm = setWritePermission(Permission.PERMISSION_READ_WRITE, 'addTopicCount');

/**
 * DELETE_TOPIC_IN_NAMESRV (216): forget the topic on RocketMQ brokers (all, or those of clusterName),
 * which do not report deletions themselves; mqadmin sends it after deleting the topic on the brokers.
 * gRPC brokers report their own deletions, so their topics are left to them.
 */
export const deleteTopicInNamesrv: Handler = ({ cmd }, door) => {
  door.brokers.forgetTopic(field(cmd, 'topic'), { cluster: optionalField(cmd, 'clusterName') || undefined });
  return success();
};

/** PUT_KV_CONFIG (100). */
export const putKvConfig: Handler = ({ cmd }, door) => {
  door.kv.put(field(cmd, 'namespace'), field(cmd, 'key'), field(cmd, 'value'));
  return success();
};

/** GET_KV_CONFIG (101). */
export const getKvConfig: Handler = ({ cmd }, door: FrontDoor) => {
  const namespace = field(cmd, 'namespace');
  const key = field(cmd, 'key');
  const value = door.kv.get(namespace, key);
  if (value === undefined) return { code: ResponseCode.QUERY_NOT_FOUND, remark: `No config item, Namespace: ${namespace} Key: ${key}` };
  return success({ extFields: { value } });
};

/** DELETE_KV_CONFIG (102). */
export const deleteKvConfig: Handler = ({ cmd }, door) => {
  door.kv.delete(field(cmd, 'namespace'), field(cmd, 'key'));
  return success();
};

/** GET_KVLIST_BY_NAMESPACE (219). */
export const kvListByNamespace: Handler = ({ cmd }, door) => {
  const namespace = field(cmd, 'namespace');
  const table = door.kv.list(namespace);
  if (!table) return { code: ResponseCode.QUERY_NOT_FOUND, remark: `No config item, Namespace: ${namespace}` };
  return success({ body: jsonBody(writeJson({ table }, false)) });
};
