/**
 * The commands of `nameserver-admin`, as a table: name, arguments, options, and what each runs. Reads
 * print a table (or the response's proto JSON with `--json`); writes print one line per broker result
 * and exit 3 when a broker did not apply the change; streams print one line per event until Ctrl-C.
 */
import { InvalidArgumentError } from 'commander';
import {
  CheckReplicasResponse,
  CreateGroupResponse,
  CreateTopicResponse,
  DeleteGroupResponse,
  DeleteTopicResponse,
  GetClusterInfoResponse,
  GetConsumerLagResponse,
  GetGroupResponse,
  GetTopicResponse,
  ListBrokersResponse,
  ListGroupsResponse,
  ListInstancesResponse,
  ListTopicsResponse,
  SetBrokerPermissionResponse,
  UpdateGroupResponse,
  UpdateTopicResponse,
  WatchClusterResponse,
  ClusterEventType,
  type BrokerInfo,
  type BrokerResult,
} from '../../generated/nameserver/v1/admin';
import {
  ClientRole,
  CommandOutcome,
  ConsumeMode,
  FilterType,
  MessageType,
  Permission,
  type GroupConfig,
  type Subscription,
  type TopicConfig,
} from '../../generated/nameserver/v1/common';
import { GetRouteResponse, RouteEvent, RouteEventType, type WatchRoutesResponse } from '../../generated/nameserver/v1/route_query';
import { followWithFailover } from './follow';
import { EXIT, UsageError, describeStatus, exitCodeForStatus } from './errors';
import * as fmt from './format';
import { isServiceError, parseServers, resultsOfError, type ResultsDecoder, type Rpc } from './rpc';

/** What a command runs with. */
export interface Context {
  /** Connections to the NameServer(s). */
  rpc: Rpc;
  /** Machine output: proto JSON on stdout. */
  json: boolean;
  /** Write a line (or lines) to stdout. */
  out(text: string): void;
  /** Write a line to stderr. */
  err(text: string): void;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM): streams end on it. */
  interrupted: Promise<void>;
}

/** Parsed options of one command (commander's camelCase keys). */
export type Opts = Record<string, unknown>;

/** One option of a command. */
export interface OptionDef {
  flags: string;
  help: string;
  parse?: (value: string, previous: unknown) => unknown;
  defaultValue?: unknown;
}

/** One command. */
export interface CommandDef {
  name: string;
  /** commander argument syntax: "<name>", "[topics...]". */
  args?: string[];
  summary: string;
  options?: OptionDef[];
  /** Extra help text shown after the options. */
  help?: string;
  run(ctx: Context, args: string[], opts: Opts): Promise<number>;
}

// ---------------------------------------------------------------------------------------------------
// Option parsers

/** A whole number in [min, max]. */
export function intIn(min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`must be a whole number in ${min}..${max}`);
    return Number(v);
  };
}

/** A comma-separated list (empty items dropped). */
function csv(v: string, previous: unknown): string[] {
  const prev = Array.isArray(previous) ? (previous as string[]) : [];
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Repeatable key=value. */
function keyValue(v: string, previous: unknown): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('must be key=value');
  return { ...((previous as Record<string, string> | undefined) ?? {}), [v.slice(0, i)]: v.slice(i + 1) };
}

/** An enum value from a short name or the full proto name. */
function enumParser<E extends number>(names: Record<string, E>, fullPrefix: string, fromJSON: (v: string) => E) {
  return (v: string): E => {
    const short = names[v.toLowerCase()];
    if (short !== undefined) return short;
    const full = fromJSON(v.toUpperCase().startsWith(fullPrefix) ? v.toUpperCase() : '');
    if (full !== -1 && full !== 0) return full;
    throw new InvalidArgumentError(`must be one of ${Object.keys(names).join(', ')}`);
  };
}

const parsePermission = enumParser<Permission>(
  { rw: Permission.PERMISSION_READ_WRITE, r: Permission.PERMISSION_READ, w: Permission.PERMISSION_WRITE, none: Permission.PERMISSION_NONE },
  'PERMISSION_',
  (v) => (Permission[v as keyof typeof Permission] as Permission | undefined) ?? Permission.UNRECOGNIZED,
);
const parseMessageType = enumParser<MessageType>(
  { normal: MessageType.MESSAGE_TYPE_NORMAL, fifo: MessageType.MESSAGE_TYPE_FIFO, delay: MessageType.MESSAGE_TYPE_DELAY, transaction: MessageType.MESSAGE_TYPE_TRANSACTION },
  'MESSAGE_TYPE_',
  (v) => (MessageType[v as keyof typeof MessageType] as MessageType | undefined) ?? MessageType.UNRECOGNIZED,
);
const parseConsumeMode = enumParser<ConsumeMode>(
  { clustering: ConsumeMode.CONSUME_MODE_CLUSTERING, broadcasting: ConsumeMode.CONSUME_MODE_BROADCASTING },
  'CONSUME_MODE_',
  (v) => (ConsumeMode[v as keyof typeof ConsumeMode] as ConsumeMode | undefined) ?? ConsumeMode.UNRECOGNIZED,
);
const parseRole = enumParser<ClientRole>(
  { producer: ClientRole.CLIENT_ROLE_PRODUCER, consumer: ClientRole.CLIENT_ROLE_CONSUMER },
  'CLIENT_ROLE_',
  (v) => (ClientRole[v as keyof typeof ClientRole] as ClientRole | undefined) ?? ClientRole.UNRECOGNIZED,
);

const str = (o: Opts, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const strs = (o: Opts, k: string): string[] => (Array.isArray(o[k]) ? (o[k] as string[]) : []);
const num = (o: Opts, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);

// ---------------------------------------------------------------------------------------------------
// Shared steps

/** Print a response: its proto JSON, or the human rendering. */
function show<T>(ctx: Context, type: { toJSON(m: T): unknown }, res: T, render: (m: T) => string): number {
  ctx.out(ctx.json ? JSON.stringify(type.toJSON(res), null, 2) : render(res));
  return EXIT.OK;
}

/** Follow next_page_token to the end; the pages' lists are concatenated into the first response. */
async function allPages<R extends { nextPageToken: string }>(fetch: (pageToken: string) => Promise<R>, merge: (into: R, page: R) => void): Promise<R> {
  const first = await fetch('');
  let token = first.nextPageToken;
  while (token) {
    const page = await fetch(token);
    merge(first, page);
    token = page.nextPageToken;
  }
  first.nextPageToken = '';
  return first;
}

const PAGE = 1000;

type WriteType<R extends { results: BrokerResult[] }> = ResultsDecoder<R> & { toJSON(m: R): unknown };

/**
 * Run an Admin write and print one line per broker. When not every broker applied it, print each
 * broker's outcome (from the error's trailer or message), the error on stderr, and answer 3 (2 when
 * every target said NOT_FOUND).
 */
async function write<R extends { results: BrokerResult[] }>(ctx: Context, type: WriteType<R>, send: () => Promise<R>): Promise<number> {
  let res: R;
  try {
    res = await send();
  } catch (err) {
    if (!isServiceError(err)) throw err;
    const partial = resultsOfError(err, type);
    if (!partial) throw err;
    ctx.out(ctx.json ? JSON.stringify(type.toJSON(partial), null, 2) : fmt.results(partial.results));
    ctx.err(`error: ${describeStatus(err)}`);
    const allMissing = partial.results.length > 0 && partial.results.every((r) => r.outcome === CommandOutcome.COMMAND_OUTCOME_NOT_FOUND);
    return allMissing ? EXIT.NOT_FOUND : EXIT.WRITE_INCOMPLETE;
  }
  ctx.out(ctx.json ? JSON.stringify(type.toJSON(res), null, 2) : fmt.results(res.results));
  return EXIT.OK;
}

/** Where a write goes: --cluster and/or --brokers. `exclusive`: exactly one of them (creates). */
function target(opts: Opts, exclusive: boolean): { cluster: string; brokerNames: string[] } {
  const cluster = str(opts, 'cluster');
  const brokerNames = strs(opts, 'brokers');
  if (exclusive && !cluster && brokerNames.length === 0) throw new UsageError('give --cluster C or --brokers b1,b2 (where to create it)');
  if (exclusive && cluster && brokerNames.length > 0) throw new UsageError('--cluster and --brokers are exclusive for a create');
  return { cluster, brokerNames };
}

/** Options naming a write's targets. */
const TARGET_OPTIONS: OptionDef[] = [
  { flags: '--cluster <cluster>', help: 'every replica set of this cluster (for update/delete: only there)' },
  { flags: '--brokers <b1,b2,...>', help: 'these replica sets (broker names)', parse: csv },
];

const TOPIC_CONFIG_OPTIONS: OptionDef[] = [
  { flags: '--read-queues <n>', help: 'read queue count', parse: intIn(1, 65535) },
  { flags: '--write-queues <n>', help: 'write queue count', parse: intIn(1, 65535) },
  { flags: '--queues <n>', help: 'read and write queue count (both)', parse: intIn(1, 65535) },
  { flags: '--perm <perm>', help: 'permission: rw | r | w | none', parse: parsePermission },
  { flags: '--type <type>', help: 'message type: normal | fifo | delay | transaction', parse: parseMessageType },
  { flags: '--attr <key=value>', help: 'attribute (repeatable; "key=" removes it on update)', parse: keyValue },
];

/** Apply the topic options to a base config. */
function topicConfig(name: string, base: TopicConfig | undefined, opts: Opts): TopicConfig {
  const cfg: TopicConfig = base
    ? { ...base, attributes: { ...base.attributes } }
    : { name, readQueueNums: 0, writeQueueNums: 0, permission: Permission.PERMISSION_READ_WRITE, messageType: MessageType.MESSAGE_TYPE_NORMAL, attributes: {} };
  cfg.name = name;
  const queues = num(opts, 'queues');
  cfg.readQueueNums = num(opts, 'readQueues') ?? queues ?? cfg.readQueueNums;
  cfg.writeQueueNums = num(opts, 'writeQueues') ?? queues ?? cfg.writeQueueNums;
  if (opts['perm'] !== undefined) cfg.permission = opts['perm'] as Permission;
  if (opts['type'] !== undefined) cfg.messageType = opts['type'] as MessageType;
  for (const [k, v] of Object.entries((opts['attr'] as Record<string, string> | undefined) ?? {})) {
    if (v === '') delete cfg.attributes[k];
    else cfg.attributes[k] = v;
  }
  return cfg;
}

const GROUP_CONFIG_OPTIONS: OptionDef[] = [
  { flags: '--subscribe <t1,t2[:expr],...>', help: 'subscribed topics, each optionally "topic:tag-expression" (replaces the list on update)', parse: csv },
  { flags: '--mode <mode>', help: 'consume mode: clustering | broadcasting', parse: parseConsumeMode },
  { flags: '--orderly', help: 'consume in queue order' },
  { flags: '--no-orderly', help: 'consume concurrently' },
  { flags: '--max-attempts <n>', help: 'deliveries before the dead-letter queue (0: broker default)', parse: intIn(0, 1_000_000) },
  { flags: '--attr <key=value>', help: 'attribute (repeatable; "key=" removes it on update)', parse: keyValue },
];

function subscription(spec: string): Subscription {
  const i = spec.indexOf(':');
  if (i < 0) return { topic: spec, expression: '', filterType: FilterType.FILTER_TYPE_UNSPECIFIED };
  return { topic: spec.slice(0, i), expression: spec.slice(i + 1), filterType: FilterType.FILTER_TYPE_TAG };
}

/** Apply the group options to a base config. */
function groupConfig(name: string, base: GroupConfig | undefined, opts: Opts): GroupConfig {
  const cfg: GroupConfig = base
    ? { ...base, subscriptions: [...base.subscriptions], attributes: { ...base.attributes } }
    : { name, consumeMode: ConsumeMode.CONSUME_MODE_CLUSTERING, subscriptions: [], retryPolicy: undefined, consumeOrderly: false, attributes: {} };
  cfg.name = name;
  if (opts['subscribe'] !== undefined) cfg.subscriptions = strs(opts, 'subscribe').map(subscription);
  if (opts['mode'] !== undefined) cfg.consumeMode = opts['mode'] as ConsumeMode;
  if (typeof opts['orderly'] === 'boolean') cfg.consumeOrderly = opts['orderly'];
  const attempts = num(opts, 'maxAttempts');
  if (attempts !== undefined) cfg.retryPolicy = { initialBackoffMs: 0, maxBackoffMs: 0, ...cfg.retryPolicy, maxAttempts: attempts };
  for (const [k, v] of Object.entries((opts['attr'] as Record<string, string> | undefined) ?? {})) {
    if (v === '') delete cfg.attributes[k];
    else cfg.attributes[k] = v;
  }
  return cfg;
}

/** The report an update starts from: a broker in the target (leader first), else any. */
function baseOf<T extends { cluster: string; brokerName: string; brokerId: number }>(reports: T[], t: { cluster: string; brokerNames: string[] }): T | undefined {
  const inTarget = reports.filter((r) => (!t.cluster || r.cluster === t.cluster) && (t.brokerNames.length === 0 || t.brokerNames.includes(r.brokerName)));
  const pool = inTarget.length > 0 ? inTarget : reports;
  return pool.find((r) => r.brokerId === 0) ?? pool[0];
}

/** What WatchCluster's UPDATED events are about: addresses, zone, software version, permission. */
function membershipOf(b: BrokerInfo): string {
  return JSON.stringify([b.addresses, b.zone, b.softwareVersion, b.permission]);
}

// ---------------------------------------------------------------------------------------------------
// The table

export const COMMANDS: CommandDef[] = [
  {
    name: 'cluster',
    summary: 'overview: this replica, counts, every live broker (GetClusterInfo)',
    run: async (ctx) => show(ctx, GetClusterInfoResponse, await ctx.rpc.adminCall('getClusterInfo', {}), fmt.clusterInfo),
  },
  {
    name: 'brokers',
    summary: 'live brokers, all pages (ListBrokers)',
    options: [{ flags: '--cluster <cluster>', help: 'only this cluster' }],
    run: async (ctx, _a, o) => {
      const res = await allPages(
        (pageToken) => ctx.rpc.adminCall('listBrokers', { cluster: str(o, 'cluster'), pageSize: PAGE, pageToken }),
        (into, p) => into.brokers.push(...p.brokers),
      );
      return show(ctx, ListBrokersResponse, res, (r) => fmt.brokers(r.brokers));
    },
  },
  {
    name: 'topics',
    summary: 'topics with a route, all pages (ListTopics)',
    options: [
      { flags: '--cluster <cluster>', help: 'only topics on this cluster' },
      { flags: '--prefix <prefix>', help: 'only names starting with this' },
    ],
    run: async (ctx, _a, o) => {
      const res = await allPages(
        (pageToken) => ctx.rpc.adminCall('listTopics', { cluster: str(o, 'cluster'), namePrefix: str(o, 'prefix'), pageSize: PAGE, pageToken }),
        (into, p) => into.topics.push(...p.topics),
      );
      return show(ctx, ListTopicsResponse, res, (r) => fmt.topics(r.topics, r.total));
    },
  },
  {
    name: 'topic',
    args: ['<name>'],
    summary: "one topic: its route and each broker's configuration (GetTopic)",
    run: async (ctx, [name]) => show(ctx, GetTopicResponse, await ctx.rpc.adminCall('getTopic', { topic: name! }), fmt.topicDetail),
  },
  {
    name: 'route',
    args: ['<name>'],
    summary: 'the route clients get for a topic (RouteQuery.GetRoute)',
    run: async (ctx, [name]) =>
      show(ctx, GetRouteResponse, await ctx.rpc.routeCall('getRoute', { topic: name! }), (r) => (r.route ? fmt.route(r.route) : '(no route)')),
  },
  {
    name: 'groups',
    summary: 'consumer groups, all pages (ListGroups)',
    options: [
      { flags: '--cluster <cluster>', help: 'only groups on this cluster' },
      { flags: '--prefix <prefix>', help: 'only names starting with this' },
    ],
    run: async (ctx, _a, o) => {
      const res = await allPages(
        (pageToken) => ctx.rpc.adminCall('listGroups', { cluster: str(o, 'cluster'), namePrefix: str(o, 'prefix'), pageSize: PAGE, pageToken }),
        (into, p) => into.groups.push(...p.groups),
      );
      return show(ctx, ListGroupsResponse, res, (r) => fmt.groups(r.groups, r.total));
    },
  },
  {
    name: 'group',
    args: ['<name>'],
    summary: "one consumer group: summary and each broker's configuration (GetGroup)",
    run: async (ctx, [name]) => show(ctx, GetGroupResponse, await ctx.rpc.adminCall('getGroup', { group: name! }), fmt.groupDetail),
  },
  {
    name: 'lag',
    args: ['<group>'],
    summary: 'consumer lag of a group per topic and queue (GetConsumerLag)',
    options: [{ flags: '--topic <topic>', help: 'only this topic' }],
    run: async (ctx, [group], o) =>
      show(ctx, GetConsumerLagResponse, await ctx.rpc.adminCall('getConsumerLag', { group: group!, topic: str(o, 'topic') }), fmt.lag),
  },
  {
    name: 'instances',
    summary: 'producer and consumer instances, all pages (ListInstances)',
    options: [
      { flags: '--group <group>', help: 'only this group' },
      { flags: '--topic <topic>', help: 'only instances using this topic' },
      { flags: '--role <role>', help: 'only this role: producer | consumer', parse: parseRole },
    ],
    run: async (ctx, _a, o) => {
      const role = (o['role'] as ClientRole | undefined) ?? ClientRole.CLIENT_ROLE_UNSPECIFIED;
      const res = await allPages(
        (pageToken) => ctx.rpc.adminCall('listInstances', { group: str(o, 'group'), topic: str(o, 'topic'), role, pageSize: PAGE, pageToken }),
        (into, p) => into.instances.push(...p.instances),
      );
      return show(ctx, ListInstancesResponse, res, (r) => fmt.instances(r.instances));
    },
  },
  {
    name: 'create-topic',
    args: ['<name>'],
    summary: 'create a topic on a cluster or on named replica sets (CreateTopic)',
    options: [...TOPIC_CONFIG_OPTIONS, ...TARGET_OPTIONS],
    help: 'Needs --read-queues and --write-queues (or --queues), and exactly one of --cluster or --brokers.\nExample: create-topic orders --queues 8 --cluster c1',
    run: async (ctx, [name], o) => {
      const t = target(o, true);
      const topic = topicConfig(name!, undefined, o);
      if (!topic.readQueueNums || !topic.writeQueueNums) throw new UsageError('create-topic needs --read-queues N and --write-queues N (or --queues N)');
      return write(ctx, CreateTopicResponse, () => ctx.rpc.adminCall('createTopic', { topic, ...t }));
    },
  },
  {
    name: 'update-topic',
    args: ['<name>'],
    summary: 'change a topic where it exists (UpdateTopic); options not given keep their current value',
    options: [...TOPIC_CONFIG_OPTIONS, ...TARGET_OPTIONS],
    help: 'The current configuration is read first (GetTopic, from a broker of the target, leader first);\nthe given options change it and the result goes to every target.',
    run: async (ctx, [name], o) => {
      const t = target(o, false);
      const current = await ctx.rpc.adminCall('getTopic', { topic: name! });
      const topic = topicConfig(name!, baseOf(current.brokers, t)?.config, o);
      return write(ctx, UpdateTopicResponse, () => ctx.rpc.adminCall('updateTopic', { topic, ...t }));
    },
  },
  {
    name: 'delete-topic',
    args: ['<name>'],
    summary: 'delete a topic where it exists, or only on --cluster / --brokers (DeleteTopic)',
    options: TARGET_OPTIONS,
    run: async (ctx, [name], o) => write(ctx, DeleteTopicResponse, () => ctx.rpc.adminCall('deleteTopic', { topic: name!, ...target(o, false) })),
  },
  {
    name: 'create-group',
    args: ['<name>'],
    summary: 'create a consumer group on a cluster or on named replica sets (CreateGroup)',
    options: [...GROUP_CONFIG_OPTIONS, ...TARGET_OPTIONS],
    help: 'Needs exactly one of --cluster or --brokers.\nExample: create-group billing --subscribe orders,refunds:TagA||TagB --cluster c1',
    run: async (ctx, [name], o) => {
      const t = target(o, true);
      return write(ctx, CreateGroupResponse, () => ctx.rpc.adminCall('createGroup', { group: groupConfig(name!, undefined, o), ...t }));
    },
  },
  {
    name: 'update-group',
    args: ['<name>'],
    summary: 'change a consumer group where it exists (UpdateGroup); options not given keep their current value',
    options: [...GROUP_CONFIG_OPTIONS, ...TARGET_OPTIONS],
    run: async (ctx, [name], o) => {
      const t = target(o, false);
      const current = await ctx.rpc.adminCall('getGroup', { group: name! });
      const group = groupConfig(name!, baseOf(current.brokers, t)?.config, o);
      return write(ctx, UpdateGroupResponse, () => ctx.rpc.adminCall('updateGroup', { group, ...t }));
    },
  },
  {
    name: 'delete-group',
    args: ['<name>'],
    summary: 'delete a consumer group where it exists, or only on --cluster / --brokers (DeleteGroup)',
    options: TARGET_OPTIONS,
    run: async (ctx, [name], o) => write(ctx, DeleteGroupResponse, () => ctx.rpc.adminCall('deleteGroup', { group: name!, ...target(o, false) })),
  },
  ...(['drain', 'restore'] as const).map(
    (name): CommandDef => ({
      name,
      summary:
        name === 'drain'
          ? 'stop producers writing to replica sets before maintenance (SetBrokerPermission READ)'
          : 'let producers write to drained replica sets again (SetBrokerPermission READ_WRITE)',
      options: [
        { flags: '--cluster <cluster>', help: 'cluster of the replica sets (required)' },
        { flags: '--brokers <b1,b2,...>', help: 'replica sets (broker names) (required)', parse: csv },
        { flags: '--broker <name>', help: 'one replica set (same as --brokers with one name)', parse: csv },
      ],
      help: `Example: ${name} --cluster c1 --brokers b1,b2`,
      run: async (ctx, _a, o) => {
        const brokers = [...new Set([...strs(o, 'brokers'), ...strs(o, 'broker')])];
        if (!str(o, 'cluster') || brokers.length === 0) throw new UsageError(`${name} needs --cluster C and --brokers B[,B...]`);
        const permission = name === 'drain' ? Permission.PERMISSION_READ : Permission.PERMISSION_READ_WRITE;
        // One SetBrokerPermission per replica set, in order; one failing does not stop the others.
        let code: number = EXIT.OK;
        for (const brokerName of brokers) {
          let c: number;
          try {
            c = await write(ctx, SetBrokerPermissionResponse, () => ctx.rpc.adminCall('setBrokerPermission', { cluster: str(o, 'cluster'), brokerName, permission }));
          } catch (err) {
            if (!isServiceError(err)) throw err;
            ctx.err(`error: ${describeStatus(err)}`);
            c = exitCodeForStatus(err.code);
          }
          if (code === EXIT.OK) code = c;
        }
        return code;
      },
    }),
  ),
  {
    name: 'watch',
    args: ['[topics...]'],
    summary: 'follow routes: one line per change until Ctrl-C, across --server replicas (RouteQuery.WatchRoutes; --json: NDJSON of RouteEvent)',
    options: [{ flags: '--all', help: 'follow every topic, present and future' }],
    help: 'When its NameServer goes away it moves on to the next --server (and back), with back-off, and\nresubscribes with the versions it holds: a route that did not change is not printed again.',
    run: async (ctx, topics, o) => {
      const all = o['all'] === true;
      if (topics.length === 0 && !all) throw new UsageError('watch needs at least one topic (or --all)');
      /** topic -> version printed last: resent on reconnect, so the next replica sends only what differs. */
      const held = new Map<string, string>();
      let greeted = '';
      return followWithFailover<WatchRoutesResponse>(ctx, ctx.rpc.options.servers, {
        open: (address) => {
          greeted = '';
          const stream = ctx.rpc.watchRoutes(address);
          const subscribe = [...new Set([...topics, ...held.keys()])].map((topic) => ({ topic, version: held.get(topic) ?? '' }));
          stream.write({ subscribe, unsubscribe: [], allTopics: all });
          return stream;
        },
        onData: (msg, address) => {
          for (const e of msg.events) {
            if (e.type === RouteEventType.ROUTE_EVENT_TYPE_UPDATED && e.route) held.set(e.topic, e.route.version);
            else if (e.type === RouteEventType.ROUTE_EVENT_TYPE_REMOVED) held.delete(e.topic);
            ctx.out(ctx.json ? JSON.stringify(RouteEvent.toJSON(e)) : fmt.routeEvent(e));
          }
          if (msg.progress && greeted !== address) {
            greeted = address;
            const p = msg.progress;
            ctx.err(`watching ${p.allTopics ? 'all topics' : `${p.subscribedTopics} topic${p.subscribedTopics === 1 ? '' : 's'}`} on ${address} (server ${p.serverId}${p.warmingUp ? ', warming up' : ''})`);
          }
        },
      });
    },
  },
  {
    name: 'watch-cluster',
    summary: 'follow broker membership: a snapshot, then joins, leaves and changes until Ctrl-C, across --server replicas (WatchCluster; --json: NDJSON)',
    options: [{ flags: '--cluster <cluster>', help: 'only this cluster' }],
    help: 'When its NameServer goes away it moves on to the next --server (and back), with back-off; the new\nreplica\'s snapshot is compared with what was shown, and only the differences are printed.',
    run: async (ctx, _a, o) => {
      /** What has been shown: broker key -> its last state. */
      const shown = new Map<string, BrokerInfo>();
      let snapshot: Map<string, BrokerInfo> | undefined;
      let first = true;
      const key = (b: BrokerInfo) => `${b.cluster}/${b.brokerName}/${b.brokerId}`;
      const print = (e: WatchClusterResponse) => ctx.out(ctx.json ? JSON.stringify(WatchClusterResponse.toJSON(e)) : fmt.clusterEvent(e));
      return followWithFailover<WatchClusterResponse>(ctx, ctx.rpc.options.servers, {
        open: (address) => {
          snapshot = new Map();
          return ctx.rpc.watchCluster({ cluster: str(o, 'cluster') }, address);
        },
        onData: (e, address) => {
          if (snapshot && !e.snapshotDone) {
            if (e.broker) {
              snapshot.set(key(e.broker), e.broker);
              if (first) print(e);
            }
            return;
          }
          if (snapshot && e.snapshotDone) {
            const was = snapshot;
            snapshot = undefined;
            if (first) {
              first = false;
              for (const [k, b] of was) shown.set(k, b);
              ctx.json ? print(e) : ctx.err(`snapshot complete: ${was.size} broker${was.size === 1 ? '' : 's'} on ${address}; following changes`);
              return;
            }
            // Reconnected: show only what differs from what was shown before.
            for (const [k, b] of was) {
              const before = shown.get(k);
              if (!before) print({ type: ClusterEventType.CLUSTER_EVENT_TYPE_JOINED, broker: b, reason: '', snapshotDone: false });
              else if (membershipOf(before) !== membershipOf(b)) {
                print({ type: ClusterEventType.CLUSTER_EVENT_TYPE_UPDATED, broker: b, reason: '', snapshotDone: false });
              }
            }
            for (const [k, b] of shown) {
              if (!was.has(k)) print({ type: ClusterEventType.CLUSTER_EVENT_TYPE_LEFT, broker: b, reason: `not in ${address}'s snapshot after reconnecting`, snapshotDone: false });
            }
            shown.clear();
            for (const [k, b] of was) shown.set(k, b);
            ctx.err(`resynchronised with ${address}: ${was.size} broker${was.size === 1 ? '' : 's'}; following changes`);
            return;
          }
          if (!e.broker) return;
          if (e.type === ClusterEventType.CLUSTER_EVENT_TYPE_LEFT) shown.delete(key(e.broker));
          else shown.set(key(e.broker), e.broker);
          print(e);
        },
      });
    },
  },
  {
    name: 'check-replicas',
    summary: 'compare route versions across NameServer replicas (CheckReplicas); exit 6 when they disagree',
    options: [
      { flags: '--servers <host:port,...>', help: 'replicas to compare with (default: the other --server addresses, else the server\'s --peers)' },
      { flags: '--topics <t1,t2,...>', help: 'only these topics', parse: csv },
    ],
    help: 'The first --server answers and compares itself with the others:\n  nameserver-admin --server a:9876,b:9876,c:9876 check-replicas',
    run: async (ctx, _a, o) => {
      const others = [...ctx.rpc.options.servers.slice(1), ...(o['servers'] !== undefined ? parseServers(str(o, 'servers'), '--servers') : [])];
      const res = await ctx.rpc.adminCall('checkReplicas', { nameservers: [...new Set(others)], topics: strs(o, 'topics') }, { failover: false });
      show(ctx, CheckReplicasResponse, res, fmt.checkReplicas);
      return res.consistent ? EXIT.OK : EXIT.INCONSISTENT;
    },
  },
];
