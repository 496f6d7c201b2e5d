/**
 * Human output of `nameserver-admin`: aligned tables, short enum names (PERMISSION_READ_WRITE → rw,
 * MESSAGE_TYPE_FIFO → fifo), ISO timestamps. Machine output (`--json`) does not come through here: it
 * is the response message's generated `toJSON`.
 */
import type {
  BrokerInfo,
  BrokerResult,
  CheckReplicasResponse,
  GetClusterInfoResponse,
  GetConsumerLagResponse,
  GetGroupResponse,
  GetTopicResponse,
  GroupSummary,
  InstanceInfo,
  TopicSummary,
  WatchClusterResponse,
} from '../../generated/nameserver/v1/admin';
import { clusterEventTypeToJSON, sessionKindToJSON } from '../../generated/nameserver/v1/admin';
import {
  Permission,
  clientRoleToJSON,
  commandOutcomeToJSON,
  consumeModeToJSON,
  filterTypeToJSON,
  messageTypeToJSON,
  type GroupConfig,
  type TopicConfig,
} from '../../generated/nameserver/v1/common';
import { routeEventTypeToJSON, type Route, type RouteEvent } from '../../generated/nameserver/v1/route_query';

// ---------------------------------------------------------------------------------------------------
// Building blocks

/** A table column: its title and whether values are right-aligned (numbers). */
export interface Column {
  title: string;
  right?: boolean;
}

/** Columns from titles; a title ending in ">" is right-aligned ("READ>"). */
export function columns(...titles: string[]): Column[] {
  return titles.map((t) => (t.endsWith('>') ? { title: t.slice(0, -1), right: true } : { title: t }));
}

/** Human tables fit this many columns: the widest columns are cut (with "…") until they do. */
export const TABLE_WIDTH = 120;
const MIN_CUT_WIDTH = 8;

/**
 * Render rows as aligned columns separated by two spaces (no trailing blanks), with a header line. When
 * the table would be wider than TABLE_WIDTH, the widest left-aligned columns are shortened (values cut
 * with "…"; `--json` always has them whole).
 */
export function table(cols: Column[], rows: string[][], options: { header?: boolean; width?: number } = {}): string {
  const all = options.header === false ? rows : [cols.map((c) => c.title), ...rows];
  const widths = cols.map((_, i) => Math.max(0, ...all.map((r) => (r[i] ?? '').length)));
  const limit = options.width ?? TABLE_WIDTH;
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * Math.max(0, cols.length - 1);
  while (total() > limit) {
    let widest = -1;
    for (let i = 0; i < cols.length; i++) if (!cols[i]!.right && widths[i]! > MIN_CUT_WIDTH && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) break; // nothing left to cut
    widths[widest] = Math.max(MIN_CUT_WIDTH, widths[widest]! - (total() - limit));
  }
  const fit = (v: string, w: number) => (v.length > w ? `${v.slice(0, w - 1)}…` : v);
  return all
    .map((r) =>
      cols
        .map((c, i) => {
          const v = fit(r[i] ?? '', widths[i]!);
          return c.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A table, or "(no <what>)" when there are no rows. */
export function tableOr(what: string, cols: Column[], rows: string[][]): string {
  return rows.length === 0 ? `(no ${what})` : table(cols, rows);
}

/** A Unix-milliseconds timestamp as ISO 8601 ("-" for 0). */
export function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '-';
}

/** A duration, compact: 45s, 12m, 3h20m, 2d4h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) || ''}${s % 3600 >= 60 ? 'm' : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) || ''}${s % 86400 >= 3600 ? 'h' : ''}`;
}

/** How long ago a Unix-milliseconds time was, for tables ("-" for 0): "3s ago". */
export function ago(ms: number, now = Date.now()): string {
  return ms > 0 ? `${duration(now - ms)} ago` : '-';
}

/** How far ahead a Unix-milliseconds time is ("-" for 0): "in 28s". */
export function inFuture(ms: number, now = Date.now()): string {
  return ms > 0 ? (ms > now ? `in ${duration(ms - now)}` : 'due') : '-';
}

/** Shorten an enum name by its prefix: ("MESSAGE_TYPE_FIFO", "MESSAGE_TYPE_") → "fifo"; UNSPECIFIED → "-". */
function shorten(name: string, prefix: string, lower = true): string {
  if (name === 'UNRECOGNIZED') return '?';
  const s = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  if (s === 'UNSPECIFIED') return '-';
  return lower ? s.toLowerCase() : s;
}

const PERM_SHORT: Record<number, string> = {
  [Permission.PERMISSION_UNSPECIFIED]: '-',
  [Permission.PERMISSION_NONE]: 'none',
  [Permission.PERMISSION_READ]: 'r',
  [Permission.PERMISSION_WRITE]: 'w',
  [Permission.PERMISSION_READ_WRITE]: 'rw',
};

/** PERMISSION_READ_WRITE → rw, PERMISSION_READ → r, PERMISSION_WRITE → w, PERMISSION_NONE → none. */
export const perm = (p: Permission): string => PERM_SHORT[p] ?? '?';
/** MESSAGE_TYPE_FIFO → fifo. */
export const messageType = (v: number): string => shorten(messageTypeToJSON(v), 'MESSAGE_TYPE_');
/** SESSION_KIND_STREAM → stream. */
export const sessionKind = (v: number): string => shorten(sessionKindToJSON(v), 'SESSION_KIND_');
/** CONSUME_MODE_CLUSTERING → clustering. */
export const consumeMode = (v: number): string => shorten(consumeModeToJSON(v), 'CONSUME_MODE_');
/** CLIENT_ROLE_PRODUCER → producer. */
export const role = (v: number): string => shorten(clientRoleToJSON(v), 'CLIENT_ROLE_');
/** FILTER_TYPE_SQL92 → sql92. */
export const filterType = (v: number): string => shorten(filterTypeToJSON(v), 'FILTER_TYPE_');
/** COMMAND_OUTCOME_ALREADY_EXISTS → ALREADY_EXISTS (upper case, as the server words it). */
export const outcome = (v: number): string => shorten(commandOutcomeToJSON(v), 'COMMAND_OUTCOME_', false);
/** ROUTE_EVENT_TYPE_UPDATED → UPDATED. */
export const routeEventType = (v: number): string => shorten(routeEventTypeToJSON(v), 'ROUTE_EVENT_TYPE_', false);
/** CLUSTER_EVENT_TYPE_JOINED → JOINED. */
export const clusterEventType = (v: number): string => shorten(clusterEventTypeToJSON(v), 'CLUSTER_EVENT_TYPE_', false);

/** cluster/broker_name/broker_id. */
export function brokerKey(b: { cluster: string; brokerName: string; brokerId: number }): string {
  return `${b.cluster}/${b.brokerName}/${b.brokerId}`;
}

const list = (xs: readonly string[]): string => (xs.length > 0 ? xs.join(',') : '-');
const orDash = (s: string): string => s || '-';
const attrs = (a: Record<string, string>): string => list(Object.entries(a).map(([k, v]) => `${k}=${v}`));
const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

// ---------------------------------------------------------------------------------------------------
// Admin reads

/** GetClusterInfo: the replica, counts, then every live broker by cluster and replica set. */
export function clusterInfo(c: GetClusterInfoResponse): string {
  const head = [
    `server      ${c.serverId} (version ${c.serverVersion}), started ${iso(c.startedAtMs)}${c.warmingUp ? ', WARMING UP' : ''}`,
    `brokers     ${c.brokerCount}`,
    `topics      ${c.topicCount}`,
    `groups      ${c.groupCount}`,
    `instances   ${c.instanceCount}`,
    `clusters    ${c.clusters.length}`,
  ].join('\n');
  const rows = c.clusters.flatMap((cl) => cl.replicaSets.flatMap((rs) => rs.replicas.map((b) => [
    cl.name,
    rs.brokerName,
    String(b.brokerId),
    list(b.addresses),
    orDash(b.zone),
    perm(b.permission),
    sessionKind(b.sessionKind),
    String(b.topicCount),
    String(b.groupCount),
    ago(b.lastSeenAtMs),
  ])));
  const cols = columns('CLUSTER', 'BROKER', 'ID>', 'ADDRESSES', 'ZONE', 'PERM', 'SESSION', 'TOPICS>', 'GROUPS>', 'SEEN>');
  return `${head}\n\n${tableOr('brokers', cols, rows)}`;
}

/** ListBrokers. */
export function brokers(bs: BrokerInfo[]): string {
  // Times as ages, so the table fits 120 columns; --json has the exact instants.
  const cols = columns('CLUSTER', 'BROKER', 'ID>', 'ADDRESSES', 'ZONE', 'VERSION', 'PERM', 'SESSION', 'TOPICS>', 'GROUPS>', 'DATA VERSION', 'UP>', 'SEEN>', 'LEASE>');
  const rows = bs.map((b) => [
    b.cluster,
    b.brokerName,
    String(b.brokerId),
    list(b.addresses),
    orDash(b.zone),
    orDash(b.softwareVersion),
    perm(b.permission),
    sessionKind(b.sessionKind),
    String(b.topicCount),
    String(b.groupCount),
    b.dataVersion ? `${b.dataVersion.epoch}:${b.dataVersion.counter}` : '-',
    b.registeredAtMs > 0 ? duration(Date.now() - b.registeredAtMs) : '-',
    ago(b.lastSeenAtMs),
    inFuture(b.leaseExpiresAtMs),
  ]);
  return tableOr('brokers', cols, rows);
}

/** ListTopics. */
export function topics(ts: TopicSummary[], total: number): string {
  const cols = columns('TOPIC', 'TYPE', 'BROKERS', 'READ>', 'WRITE>', 'VERSION');
  const rows = ts.map((t) => [t.name, messageType(t.messageType), list(t.brokerNames), String(t.totalReadQueueNums), String(t.totalWriteQueueNums), t.version]);
  return rows.length === 0 ? '(no topics)' : `${table(cols, rows)}\n${total} topic${total === 1 ? '' : 's'}`;
}

/** A route's replica sets. */
function routeTable(r: Route): string {
  const cols = columns('BROKER', 'CLUSTER', 'ZONE', 'PERM', 'READ>', 'WRITE>', 'REPLICAS');
  const rows = r.brokers.map((b) => [
    b.brokerName,
    b.cluster,
    orDash(b.zone),
    perm(b.permission),
    String(b.readQueueNums),
    String(b.writeQueueNums),
    b.replicas.map((x) => `${x.brokerId}${x.leader ? '*' : ''}=${list(x.addresses)}`).join(' '),
  ]);
  return tableOr('brokers', cols, rows);
}

/** RouteQuery.GetRoute. */
export function route(r: Route): string {
  return [`topic     ${r.topic}`, `type      ${messageType(r.messageType)}`, `version   ${r.version}`, '', routeTable(r), '(* = leader)'].join('\n');
}

const topicConfigCells = (c: TopicConfig | undefined): string[] =>
  c ? [String(c.readQueueNums), String(c.writeQueueNums), perm(c.permission), messageType(c.messageType), attrs(c.attributes)] : ['-', '-', '-', '-', '-'];

/** GetTopic: the route, then each broker's configuration and queue offsets. */
export function topicDetail(t: GetTopicResponse): string {
  const parts = [t.route ? route(t.route) : '(no route)', '', 'Per broker:'];
  const cols = columns('CLUSTER', 'BROKER', 'ID>', 'READ>', 'WRITE>', 'PERM', 'TYPE', 'ATTRIBUTES', 'QUEUES>', 'MESSAGES>');
  const rows = t.brokers.map((b) => [
    b.cluster,
    b.brokerName,
    String(b.brokerId),
    ...topicConfigCells(b.config),
    String(b.queuePositions.length),
    String(b.queuePositions.reduce((n, q) => n + Math.max(0, q.maxOffset - q.minOffset), 0)),
  ]);
  parts.push(tableOr('broker reports', cols, rows));
  return parts.join('\n');
}

/** ListGroups. */
export function groups(gs: GroupSummary[], total: number): string {
  const cols = columns('GROUP', 'MODE', 'BROKERS', 'TOPICS', 'LAG>', 'INSTANCES>');
  const rows = gs.map((g) => [g.name, consumeMode(g.consumeMode), list(g.brokerNames), list(g.topics), String(g.totalLag), String(g.instanceCount)]);
  return rows.length === 0 ? '(no groups)' : `${table(cols, rows)}\n${total} group${total === 1 ? '' : 's'}`;
}

const subscriptions = (c: GroupConfig | undefined): string =>
  list((c?.subscriptions ?? []).map((s) => (s.expression && s.expression !== '*' ? `${s.topic}:${s.expression}${s.filterType > 1 ? ` (${filterType(s.filterType)})` : ''}` : s.topic)));

/** GetGroup: the summary, then each broker's configuration. */
export function groupDetail(g: GetGroupResponse): string {
  const s = g.summary;
  const head = s
    ? [
        `group       ${s.name}`,
        `mode        ${consumeMode(s.consumeMode)}`,
        `brokers     ${list(s.brokerNames)}`,
        `topics      ${list(s.topics)}`,
        `lag         ${s.totalLag}`,
        `instances   ${s.instanceCount}`,
      ].join('\n')
    : '(no summary)';
  const cols = columns('CLUSTER', 'BROKER', 'ID>', 'MODE', 'ORDERLY', 'SUBSCRIPTIONS', 'MAX ATTEMPTS>', 'BACKOFF MS', 'ATTRIBUTES');
  const rows = g.brokers.map((b) => [
    b.cluster,
    b.brokerName,
    String(b.brokerId),
    consumeMode(b.config?.consumeMode ?? 0),
    yesNo(b.config?.consumeOrderly ?? false),
    subscriptions(b.config),
    String(b.config?.retryPolicy?.maxAttempts ?? 0),
    b.config?.retryPolicy ? `${b.config.retryPolicy.initialBackoffMs}..${b.config.retryPolicy.maxBackoffMs}` : '-',
    attrs(b.config?.attributes ?? {}),
  ]);
  return `${head}\n\nPer broker:\n${tableOr('broker reports', cols, rows)}`;
}

/** GetConsumerLag: one row per queue, then the total. */
export function lag(l: GetConsumerLagResponse): string {
  const cols = columns('TOPIC', 'BROKER', 'ID>', 'QUEUE>', 'MAX OFFSET>', 'COMMITTED>', 'LAG>');
  const rows = l.topics.flatMap((t) => t.queues.map((q) => [t.topic, q.brokerName, String(q.brokerId), String(q.queueId), String(q.maxOffset), String(q.committedOffset), String(q.lag)]));
  const perTopic = l.topics.map((t) => `  ${t.topic}: ${t.lag}`);
  return [`group       ${l.group}`, `total lag   ${l.totalLag}`, ...(perTopic.length > 1 ? perTopic : []), '', tableOr('positions', cols, rows)].join('\n');
}

/** ListInstances. */
export function instances(is: InstanceInfo[]): string {
  const cols = columns('CLIENT ID', 'ROLE', 'GROUP', 'TOPICS', 'HOST', 'LANGUAGE', 'VERSION', 'BROKERS', 'SEEN>');
  const rows = is.map((i) => [
    i.instance?.clientId ?? '-',
    role(i.instance?.role ?? 0),
    orDash(i.instance?.group ?? ''),
    list(i.instance?.topics ?? []),
    orDash(i.instance?.host ?? ''),
    orDash(i.instance?.language ?? ''),
    orDash(i.instance?.version ?? ''),
    list(i.brokerNames),
    ago(i.lastSeenAtMs),
  ]);
  return rows.length === 0 ? '(no instances)' : `${table(cols, rows)}\n${is.length} instance${is.length === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------------
// Admin writes and checks

/** One line per broker: "c1/b1/0  OK  detail". */
export function results(rs: BrokerResult[]): string {
  if (rs.length === 0) return '(no brokers targeted)';
  return table(columns('BROKER', 'OUTCOME', 'MESSAGE'), rs.map((r) => [brokerKey(r), outcome(r.outcome), r.message]), { header: false });
}

/** CheckReplicas: each replica, the divergent topics, and the verdict. */
export function checkReplicas(c: CheckReplicasResponse): string {
  const cols = columns('REPLICA', 'REACHABLE', 'SERVER ID', 'TOPICS>', 'WARMING UP', 'ERROR');
  const rows = c.replicas.map((r) => [r.address, yesNo(r.reachable), orDash(r.serverId), String(r.topicCount), yesNo(r.warmingUp), r.error]);
  const parts = [table(cols, rows)];
  if (c.divergentTopics.length > 0) {
    const addresses = c.divergentTopics[0]!.versions.map((v) => v.address);
    const dcols = [{ title: 'TOPIC' }, ...addresses.map((a) => ({ title: a }))];
    const drows = c.divergentTopics.map((d) => [d.topic, ...addresses.map((a) => orDash(d.versions.find((v) => v.address === a)?.version ?? ''))]);
    parts.push('', `Divergent topics (route version on each replica, "-" = no route):`, table(dcols, drows));
    if (c.divergentCount > c.divergentTopics.length) parts.push(`... and ${c.divergentCount - c.divergentTopics.length} more`);
  }
  const unreachable = c.replicas.filter((r) => !r.reachable).length;
  parts.push(
    '',
    c.consistent
      ? 'consistent'
      : `INCONSISTENT: ${c.divergentCount} divergent topic${c.divergentCount === 1 ? '' : 's'}, ${unreachable} unreachable replica${unreachable === 1 ? '' : 's'}`,
  );
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Streams

/** One WatchRoutes event: "<time> UPDATED orders version=… b1:rw:8/8 b2:r:8/8" or "<time> REMOVED orders". */
export function routeEvent(e: RouteEvent, now = Date.now()): string {
  const head = `${iso(now)} ${routeEventType(e.type)} ${e.topic}`;
  if (!e.route) return head;
  const sets = e.route.brokers.map((b) => `${b.brokerName}:${perm(b.permission)}:${b.readQueueNums}/${b.writeQueueNums}`);
  return `${head} version=${e.route.version} type=${messageType(e.route.messageType)} brokers=${list(sets)}`;
}

/** One WatchCluster event: "<time> JOINED c1/b1/0 addresses=… perm=rw". */
export function clusterEvent(e: WatchClusterResponse, now = Date.now()): string {
  const b = e.broker;
  const parts = [iso(now), clusterEventType(e.type)];
  if (b) {
    parts.push(brokerKey(b), `addresses=${list(b.addresses)}`, `zone=${orDash(b.zone)}`, `perm=${perm(b.permission)}`, `session=${sessionKind(b.sessionKind)}`, `topics=${b.topicCount}`);
  }
  if (e.reason) parts.push(`reason=${JSON.stringify(e.reason)}`);
  return parts.join(' ');
}
