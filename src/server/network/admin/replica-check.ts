/**
 * Admin.CheckReplicas: compare this replica's route versions with other NameServer replicas' (their
 * ListRouteVersions) and name the topics they disagree on — the operator tool RocketMQ lacks
 * (apache/rocketmq#4807). Versions are content-derived, so equal versions mean equal routes.
 */
import * as grpc from '@grpc/grpc-js';
import {
  AdminClient,
  type CheckReplicasResponse,
  type ListRouteVersionsResponse,
  type ReplicaStatus,
  type TopicDivergence,
} from '../../../../generated/nameserver/v1/admin';
import type { Config } from '../../config';
import { listRouteVersions } from './views';
import type { MetadataCore } from '../../metadata/core';
import { clientCredentials } from '../../../shared/tls';

/** At most this many divergent topics are listed (all are counted). */
const MAX_LISTED = 1000;

/** Credentials for calling peers: the server's own TLS material, or plaintext. */
function peerCredentials(c: Readonly<Config>): grpc.ChannelCredentials {
  if (!c.tlsCertFile) return grpc.credentials.createInsecure();
  // With a client CA (mutual TLS), peers trust that CA and expect this server's certificate.
  return c.tlsClientCaFile
    ? clientCredentials({ ca: c.tlsClientCaFile, cert: c.tlsCertFile, key: c.tlsKeyFile }, { ca: '--tls-client-ca', cert: '--tls-cert', key: '--tls-key' })
    : clientCredentials({ tls: true });
}

/** All route versions of one peer, page by page. */
async function peerVersions(
  address: string,
  topics: readonly string[],
  config: Readonly<Config>,
  deadline: number,
): Promise<{ versions: Map<string, string>; serverId: string; warmingUp: boolean }> {
  const client = new AdminClient(address, peerCredentials(config));
  const md = new grpc.Metadata();
  if (config.adminToken) md.set('authorization', `Bearer ${config.adminToken}`);
  try {
    const versions = new Map<string, string>();
    let pageToken = '';
    let last: ListRouteVersionsResponse;
    do {
      last = await new Promise<ListRouteVersionsResponse>((resolve, reject) =>
        client.listRouteVersions({ topics: [...topics], pageSize: 10_000, pageToken }, md, { deadline }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      for (const v of last.versions) versions.set(v.topic, v.version);
      pageToken = last.nextPageToken;
    } while (pageToken);
    return { versions, serverId: last.serverId, warmingUp: last.warmingUp };
  } finally {
    client.close();
  }
}

/** This replica's versions (all or the requested topics). */
function ownVersions(r: MetadataCore, topics: readonly string[]): Map<string, string> {
  if (topics.length > 0) {
    return new Map(listRouteVersions(r, { topics: [...topics], pageSize: 0, pageToken: '' }, '', false).versions.map((v) => [v.topic, v.version]));
  }
  const out = new Map<string, string>();
  for (const t of r.routes.topicNames()) out.set(t, r.routes.get(t)!.version);
  return out;
}

/** Compare this replica with `addresses`. */
export async function checkReplicas(
  self: { core: MetadataCore; serverId: string; warmingUp: boolean; config: Readonly<Config> },
  addresses: readonly string[],
  topics: readonly string[],
  deadline: number,
): Promise<CheckReplicasResponse> {
  const replicas: ReplicaStatus[] = [];
  const views: { address: string; versions: Map<string, string> }[] = [];
  const own = ownVersions(self.core, topics);
  replicas.push({ address: 'self', reachable: true, error: '', serverId: self.serverId, topicCount: own.size, warmingUp: self.warmingUp });
  views.push({ address: 'self', versions: own });
  const answers = await Promise.allSettled([...new Set(addresses)].map((a) => peerVersions(a, topics, self.config, deadline)));
  [...new Set(addresses)].forEach((address, i) => {
    const a = answers[i]!;
    if (a.status === 'rejected') {
      const e = a.reason as grpc.ServiceError;
      replicas.push({ address, reachable: false, error: `${grpc.status[e.code] ?? 'ERROR'}: ${e.details ?? e.message}`, serverId: '', topicCount: 0, warmingUp: false });
      return;
    }
    if (a.value.serverId === self.serverId) return; // the list named this replica itself
    replicas.push({ address, reachable: true, error: '', serverId: a.value.serverId, topicCount: a.value.versions.size, warmingUp: a.value.warmingUp });
    views.push({ address, versions: a.value.versions });
  });
  const all = new Set<string>(topics);
  if (topics.length === 0) for (const v of views) for (const t of v.versions.keys()) all.add(t);
  const divergent: TopicDivergence[] = [];
  let divergentCount = 0;
  for (const topic of [...all].sort()) {
    const vs = views.map((v) => ({ address: v.address, version: v.versions.get(topic) ?? '' }));
    if (vs.every((v) => v.version === vs[0]!.version)) continue;
    divergentCount++;
    if (divergent.length < MAX_LISTED) divergent.push({ topic, versions: vs });
  }
  return {
    consistent: divergentCount === 0 && replicas.every((r) => r.reachable),
    replicas,
    divergentTopics: divergent,
    divergentCount,
  };
}
