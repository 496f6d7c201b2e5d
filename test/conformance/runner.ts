/**
 * The TypeScript runner of the SDK conformance suite (test/conformance/README.md describes the format):
 * it plays a scenario's steps with the TypeScript SDKs (`NameServerClient`, `BrokerAgent`) against
 * NameServer processes it starts on loopback, and returns the scenario's reports. Every wait re-checks
 * its condition after each event of the objects it watches (SDK events, process exits); none sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BrokerAgent, sameTopicConfig, type CommandHandler, type CommandReply } from '../../src/broker-agent';
import { NameServerClient, type Route } from '../../src/client';
import { CommandOutcome, MessageType, Permission, TopicConfig } from '../../generated/nameserver/v1/common';
import { CreateTopicResponse, DeleteTopicResponse, UpdateTopicResponse, type BrokerResult } from '../../generated/nameserver/v1/admin';
import { call, connect, exited, spawnServer, type Clients } from '../helpers/server';
import { ROOT } from '../helpers/tools';

/** Where the scenario files live. */
export const SCENARIO_DIR = path.join(ROOT, 'test', 'conformance', 'scenarios');

/** One step: `do` names the action, the other fields are its arguments. */
export type Step = { do: string; [field: string]: unknown };

/** A scenario file. */
export interface Scenario {
  name: string;
  title: string;
  description: string;
  steps: Step[];
}

/** A measured number and, when the scenario gives one, its budget (printed, never asserted). */
export interface Report {
  value: number;
  budgetMs?: number;
}

/** Every scenario file, by file name order; each must be well-formed. */
export function loadScenarios(dir = SCENARIO_DIR): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const s = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Scenario;
      if (s.name !== f.slice(0, -'.json'.length)) throw new Error(`${f}: name ${JSON.stringify(s.name)} differs from the file name`);
      if (!Array.isArray(s.steps) || s.steps.length === 0) throw new Error(`${f}: no steps`);
      return s;
    });
}

/** The fields each action takes (besides `do` and `note`); anything else is an error. */
const FIELDS: Record<string, readonly string[]> = {
  start_replicas: ['replicas'],
  start_broker: ['name', 'address', 'replicas', 'topics', 'queues', 'cluster', 'chunk_size', 'process', 'report', 'within_ms'],
  start_client: ['name', 'replicas'],
  watch: ['client', 'topics'],
  expect_connected: ['client', 'replicas', 'within_ms'],
  expect_view: ['client', 'topics', 'brokers', 'queues', 'since', 'report', 'budget_ms', 'within_ms'],
  expect_route_events: ['client', 'since', 'events', 'bytes', 'report'],
  mark: ['name'],
  kill_replica: ['replica', 'signal'],
  kill_broker: ['broker'],
  admin: ['replica', 'call', 'topic', 'broker_names', 'expect'],
  get_route: ['client', 'replica', 'topic', 'brokers', 'queues', 'error'],
  expect_broker_commands: ['broker', 'commands'],
  expect_registration: ['broker', 'chunks', 'topics', 'report'],
};

const DEFAULT_WITHIN_MS = 15_000;
const DEFAULT_QUEUES = 8;

type TopicEntry = string | { prefix: string; count: number } | { name: string; read_queue_nums?: number; write_queue_nums?: number };

/** Expand a topic set into configurations (names only, for steps that do not configure topics). */
export function topicConfigs(entries: readonly TopicEntry[], queues = DEFAULT_QUEUES): TopicConfig[] {
  const out = new Map<string, TopicConfig>();
  const add = (name: string, r = queues, w = queues) =>
    out.has(name) ||
    out.set(name, TopicConfig.fromPartial({ name, readQueueNums: r, writeQueueNums: w, permission: Permission.PERMISSION_READ_WRITE, messageType: MessageType.MESSAGE_TYPE_NORMAL }));
  for (const e of entries) {
    if (typeof e === 'string') add(e);
    else if ('prefix' in e) for (let i = 0; i < e.count; i++) add(`${e.prefix}${i}`);
    else add(e.name, e.read_queue_nums ?? queues, e.write_queue_nums ?? queues);
  }
  return [...out.values()];
}

function topicNames(entries: readonly TopicEntry[]): string[] {
  return topicConfigs(entries).map((t) => t.name);
}

/** One command the store handler answered. */
export interface AnsweredCommand {
  action: string;
  name: string;
  outcome: string;
}

/** The conformance store handler (see the README): topics in memory, every answer recorded. */
export function storeHandler(initial: readonly TopicConfig[], answered: AnsweredCommand[]): CommandHandler {
  const store = new Map(initial.map((t) => [t.name, t]));
  const answer = (action: string, name: string, outcome: CommandOutcome): CommandReply => {
    answered.push({ action, name, outcome: CommandOutcome[outcome] });
    return { outcome };
  };
  return {
    createTopic: async (t) => {
      const held = store.get(t.name);
      if (held && !sameTopicConfig(held, t)) return answer('create_topic', t.name, CommandOutcome.COMMAND_OUTCOME_ALREADY_EXISTS);
      store.set(t.name, t);
      return answer('create_topic', t.name, CommandOutcome.COMMAND_OUTCOME_OK);
    },
    updateTopic: async (t) => {
      if (!store.has(t.name)) return answer('update_topic', t.name, CommandOutcome.COMMAND_OUTCOME_NOT_FOUND);
      store.set(t.name, t);
      return answer('update_topic', t.name, CommandOutcome.COMMAND_OUTCOME_OK);
    },
    deleteTopic: async (name) => {
      if (!store.delete(name)) return answer('delete_topic', name, CommandOutcome.COMMAND_OUTCOME_NOT_FOUND);
      return answer('delete_topic', name, CommandOutcome.COMMAND_OUTCOME_OK);
    },
  };
}

interface Replica {
  child: ChildProcess;
  address: string;
  clients: Clients;
}

interface Broker {
  agent?: BrokerAgent;
  child?: ChildProcess;
  answered: AnsweredCommand[];
  replicas: string[];
}

interface ViewEntry {
  route: Route | undefined;
  at: number;
}

interface Client {
  sdk: NameServerClient;
  view: Map<string, ViewEntry>;
  watches: { close(): void }[];
}

interface Mark {
  at: number;
  counters: Map<string, { events: number; bytes: number }>;
}

function str(step: Step, field: string): string {
  const v = step[field];
  if (typeof v !== 'string' || v === '') throw new Error(`${step.do}: "${field}" must be a non-empty string`);
  return v;
}

function num(step: Step, field: string, dflt?: number): number {
  const v = step[field] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${step.do}: "${field}" must be a non-negative integer`);
  return v;
}

function strings(step: Step, field: string): string[] {
  const v = step[field];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${step.do}: "${field}" must be an array of strings`);
  return v as string[];
}

function sortedBrokers(route: Route | undefined): string[] {
  return route ? route.brokers.map((b) => b.brokerName).sort() : [];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Plays one scenario. `run()` always cleans up what it started. */
export class ScenarioRun {
  readonly reports = new Map<string, Report>();
  private readonly replicas = new Map<string, Replica>();
  private readonly brokers = new Map<string, Broker>();
  private readonly clients = new Map<string, Client>();
  private readonly marks = new Map<string, Mark>();
  /** Fires on every event a wait may be interested in. */
  private readonly changed = new EventEmitter();

  constructor(readonly scenario: Scenario) {
    this.changed.setMaxListeners(0);
  }

  /** Run every step; throws the first failure, naming the step. */
  async run(): Promise<Map<string, Report>> {
    try {
      for (const [i, step] of this.scenario.steps.entries()) {
        try {
          await this.step(step);
        } catch (err) {
          throw new Error(`${this.scenario.name}: step ${i + 1} (${JSON.stringify(step)}): ${(err as Error).message}`, { cause: err });
        }
      }
      return this.reports;
    } finally {
      await this.cleanup();
    }
  }

  /** The reports as one line, e.g. "failover_bytes=0 removal_ms_w1=2043 (budget 3000)". */
  reportLine(): string {
    return [...this.reports].map(([k, r]) => `${k}=${r.value}${r.budgetMs !== undefined ? ` (budget ${r.budgetMs})` : ''}`).join(' ');
  }

  private async step(step: Step): Promise<void> {
    const allowed = FIELDS[step.do];
    if (!allowed) throw new Error(`unknown action ${JSON.stringify(step.do)}`);
    for (const k of Object.keys(step)) {
      if (k !== 'do' && k !== 'note' && !allowed.includes(k)) throw new Error(`unknown field ${JSON.stringify(k)}`);
    }
    switch (step.do) {
      case 'start_replicas':
        return this.startReplicas(step);
      case 'start_broker':
        return this.startBroker(step);
      case 'start_client':
        return this.startClient(step);
      case 'watch':
        return this.watch(step);
      case 'expect_connected':
        return this.expectConnected(step);
      case 'expect_view':
        return this.expectView(step);
      case 'expect_route_events':
        return this.expectRouteEvents(step);
      case 'mark':
        return this.mark(step);
      case 'kill_replica':
        return this.killReplica(step);
      case 'kill_broker':
        return this.killBroker(step);
      case 'admin':
        return this.admin(step);
      case 'get_route':
        return this.getRoute(step);
      case 'expect_broker_commands':
        return this.expectBrokerCommands(step);
      case 'expect_registration':
        return this.expectRegistration(step);
    }
  }

  private replica(name: string): Replica {
    const r = this.replicas.get(name);
    if (!r) throw new Error(`no replica ${JSON.stringify(name)}`);
    return r;
  }

  private client(name: string): Client {
    const c = this.clients.get(name);
    if (!c) throw new Error(`no client ${JSON.stringify(name)}`);
    return c;
  }

  private broker(name: string): Broker {
    const b = this.brokers.get(name);
    if (!b) throw new Error(`no broker ${JSON.stringify(name)}`);
    return b;
  }

  private markOf(name: string): Mark {
    const m = this.marks.get(name);
    if (!m) throw new Error(`no mark ${JSON.stringify(name)}`);
    return m;
  }

  /** Resolve once `check()` returns true (checked now and after every change event). */
  private until(check: () => boolean, withinMs: number, what: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.changed.off('change', onChange);
        if (err) reject(err);
        else resolve();
      };
      const onChange = () => {
        try {
          if (check()) done();
        } catch (err) {
          done(err as Error);
        }
      };
      const timer = setTimeout(() => done(new Error(`not met within ${withinMs} ms: ${what()}`)), withinMs);
      this.changed.on('change', onChange);
      onChange();
    });
  }

  private async startReplicas(step: Step): Promise<void> {
    const list = step.replicas as { name: string; args?: string[] }[];
    if (!Array.isArray(list) || list.length === 0) throw new Error('"replicas" must be a non-empty array');
    await Promise.all(
      list.map(async (r) => {
        if (this.replicas.has(r.name)) throw new Error(`replica ${r.name} exists`);
        const { child, address } = await spawnServer(['--warmup-ms', '0', ...(r.args ?? [])]);
        this.replicas.set(r.name, { child, address, clients: connect(address) });
      }),
    );
  }

  private async startBroker(step: Step): Promise<void> {
    const name = str(step, 'name');
    if (this.brokers.has(name)) throw new Error(`broker ${name} exists`);
    const replicaNames = strings(step, 'replicas');
    const addresses = replicaNames.map((r) => this.replica(r).address);
    const topics = topicConfigs(step.topics as TopicEntry[], num(step, 'queues', DEFAULT_QUEUES));
    const config = {
      nameservers: addresses,
      cluster: (step.cluster as string | undefined) ?? 'c1',
      brokerName: name,
      addresses: [str(step, 'address')],
      topics,
      chunkSize: step.chunk_size as number | undefined,
    };
    const started = Date.now();
    const broker: Broker = { answered: [], replicas: addresses };
    this.brokers.set(name, broker);
    if (step.process === true) {
      broker.child = await startBrokerProcess(config);
    } else {
      const agent = new BrokerAgent({ ...config, handler: storeHandler(topics, broker.answered), backoff: { initialMs: 50, maxMs: 1_000 } });
      broker.agent = agent;
      const pending = new Set(addresses);
      const registered = this.until(() => pending.size === 0, num(step, 'within_ms', DEFAULT_WITHIN_MS), () => `registered with ${[...pending].join(', ')}`);
      agent.on('registered', (address) => {
        pending.delete(address);
        this.changed.emit('change');
      });
      await agent.start();
      await registered;
    }
    if (typeof step.report === 'string') this.reports.set(step.report, { value: Date.now() - started });
  }

  private startClient(step: Step): void {
    const name = str(step, 'name');
    if (this.clients.has(name)) throw new Error(`client ${name} exists`);
    const sdk = new NameServerClient({
      nameservers: strings(step, 'replicas').map((r) => this.replica(r).address),
      backoff: { initialMs: 50, maxMs: 1_000 },
    });
    const emit = () => this.changed.emit('change');
    sdk.on('connected', emit);
    sdk.on('disconnected', emit);
    this.clients.set(name, { sdk, view: new Map(), watches: [] });
  }

  private watch(step: Step): void {
    const c = this.client(str(step, 'client'));
    const topics = topicNames(step.topics as TopicEntry[]);
    c.watches.push(
      c.sdk.watch(topics, ({ topic, route }) => {
        c.view.set(topic, { route, at: Date.now() });
        this.changed.emit('change');
      }),
    );
  }

  private async expectConnected(step: Step): Promise<void> {
    const c = this.client(str(step, 'client'));
    const want = strings(step, 'replicas').map((r) => this.replica(r).address);
    await this.until(() => c.sdk.address !== undefined && want.includes(c.sdk.address), num(step, 'within_ms', DEFAULT_WITHIN_MS), () => `connected to ${want.join(' or ')} (now: ${c.sdk.address ?? 'none'})`);
  }

  private async expectView(step: Step): Promise<void> {
    const c = this.client(str(step, 'client'));
    const topics = topicNames(step.topics as TopicEntry[]);
    const brokers = strings(step, 'brokers').slice().sort();
    const queues = step.queues === undefined ? undefined : num(step, 'queues');
    const holds = (t: string) => {
      const route = c.view.get(t)?.route;
      if (!sameList(sortedBrokers(route), brokers)) return false;
      return queues === undefined || (route?.brokers.every((b) => b.readQueueNums === queues && b.writeQueueNums === queues) ?? true);
    };
    await this.until(
      () => topics.every(holds),
      num(step, 'within_ms', DEFAULT_WITHIN_MS),
      () => {
        const off = topics.filter((t) => !holds(t));
        return `view of ${off.length} topic(s) not [${brokers.join(', ')}]${queues !== undefined ? ` with ${queues} queues` : ''}, e.g. ${off[0]}: [${sortedBrokers(c.view.get(off[0]!)?.route).join(', ')}]`;
      },
    );
    if (typeof step.report === 'string') {
      const since = this.markOf(str(step, 'since'));
      const last = Math.max(...topics.map((t) => c.view.get(t)?.at ?? since.at));
      this.reports.set(step.report, { value: last - since.at, budgetMs: step.budget_ms as number | undefined });
    }
  }

  private expectRouteEvents(step: Step): void {
    const name = str(step, 'client');
    const c = this.client(name);
    const base = step.since === undefined ? { events: 0, bytes: 0 } : this.markOf(str(step, 'since')).counters.get(name);
    if (!base) throw new Error(`client ${name} did not exist at mark ${String(step.since)}`);
    const events = c.sdk.stats.routeEvents - base.events;
    const bytes = c.sdk.stats.routeEventBytes - base.bytes;
    if (step.events !== undefined && events !== num(step, 'events')) throw new Error(`${events} route events, expected ${String(step.events)}`);
    if (step.bytes !== undefined && bytes !== num(step, 'bytes')) throw new Error(`${bytes} route event bytes, expected ${String(step.bytes)}`);
    if (typeof step.report === 'string') this.reports.set(step.report, { value: bytes });
  }

  private mark(step: Step): void {
    const counters = new Map([...this.clients].map(([n, c]) => [n, { events: c.sdk.stats.routeEvents, bytes: c.sdk.stats.routeEventBytes }]));
    this.marks.set(str(step, 'name'), { at: Date.now(), counters });
  }

  private async killReplica(step: Step): Promise<void> {
    const r = this.replica(str(step, 'replica'));
    const signal = str(step, 'signal');
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM') throw new Error(`signal must be SIGKILL or SIGTERM, got ${signal}`);
    r.child.kill(signal);
    await exited(r.child);
  }

  private async killBroker(step: Step): Promise<void> {
    const b = this.broker(str(step, 'broker'));
    if (!b.child) throw new Error('kill_broker needs a broker started with "process": true');
    b.child.kill('SIGKILL');
    await exited(b.child);
  }

  private async admin(step: Step): Promise<void> {
    const r = this.replica(str(step, 'replica'));
    const t = step.topic as { name: string; read_queue_nums?: number; write_queue_nums?: number };
    const brokerNames = (step.broker_names as string[] | undefined) ?? [];
    const topic = () => topicConfigs([t])[0]!;
    // A write that not every target applied fails with a status; its trailing metadata
    // `nameserver-results-bin` carries the encoded response with every broker's outcome.
    const answer = async <R>(p: Promise<R>, decode: (b: Uint8Array) => R): Promise<{ res: R; failed: boolean }> => {
      try {
        return { res: await p, failed: false };
      } catch (err) {
        const bin = (err as grpc.ServiceError).metadata?.get('nameserver-results-bin')[0];
        if (!(bin instanceof Buffer)) throw err;
        return { res: decode(bin), failed: true };
      }
    };
    let out: { res: { results: BrokerResult[] }; failed: boolean };
    switch (step.call) {
      case 'create_topic':
        out = await answer(call(r.clients.admin, 'createTopic', { topic: topic(), cluster: '', brokerNames }), (b) => CreateTopicResponse.decode(b));
        break;
      case 'update_topic':
        out = await answer(call(r.clients.admin, 'updateTopic', { topic: topic(), cluster: '', brokerNames }), (b) => UpdateTopicResponse.decode(b));
        break;
      case 'delete_topic':
        out = await answer(call(r.clients.admin, 'deleteTopic', { topic: t.name, cluster: '', brokerNames }), (b) => DeleteTopicResponse.decode(b));
        break;
      default:
        throw new Error(`unknown admin call ${JSON.stringify(step.call)}`);
    }
    const results = out.res.results;
    const allOk = results.every((x) => x.outcome === CommandOutcome.COMMAND_OUTCOME_OK);
    if (out.failed === allOk) throw new Error(`the call ${out.failed ? 'failed' : 'succeeded'} with outcomes ${results.map((x) => CommandOutcome[x.outcome]).join(', ')}`);
    const got = Object.fromEntries(results.map((x) => [x.brokerName, CommandOutcome[x.outcome]]));
    const want = step.expect as Record<string, string>;
    const show = (o: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
    if (results.length !== Object.keys(want).length || show(got) !== show(want)) {
      throw new Error(`results ${show(got)} (${results.map((x) => x.message).filter(Boolean).join('; ')}), expected ${show(want)}`);
    }
  }

  private async getRoute(step: Step): Promise<void> {
    const topic = str(step, 'topic');
    if ((step.client === undefined) === (step.replica === undefined)) throw new Error('exactly one of "client" and "replica"');
    let route: Route | undefined;
    let error: string | undefined;
    try {
      route =
        step.client !== undefined
          ? await this.client(str(step, 'client')).sdk.getRoute(topic)
          : (await call(this.replica(str(step, 'replica')).clients.routes, 'getRoute', { topic })).route;
    } catch (err) {
      const e = err as grpc.ServiceError;
      error = typeof e.code === 'number' ? grpc.status[e.code] : e.message;
      if (step.error === undefined) throw new Error(`GetRoute ${topic} failed: ${error}: ${e.details ?? ''}`, { cause: err });
    }
    if (step.error !== undefined) {
      if (error !== step.error) throw new Error(`GetRoute ${topic}: expected ${String(step.error)}, got ${error ?? `a route [${sortedBrokers(route).join(', ')}]`}`);
      return;
    }
    const brokers = strings(step, 'brokers').slice().sort();
    if (!sameList(sortedBrokers(route), brokers)) throw new Error(`GetRoute ${topic}: brokers [${sortedBrokers(route).join(', ')}], expected [${brokers.join(', ')}]`);
    if (step.queues !== undefined) {
      const q = num(step, 'queues');
      for (const b of route!.brokers) {
        if (b.readQueueNums !== q || b.writeQueueNums !== q) throw new Error(`GetRoute ${topic}: ${b.brokerName} has ${b.readQueueNums}/${b.writeQueueNums} queues, expected ${q}`);
      }
    }
  }

  private expectBrokerCommands(step: Step): void {
    const b = this.broker(str(step, 'broker'));
    if (!b.agent) throw new Error('expect_broker_commands needs an in-process broker');
    const got = JSON.stringify(b.answered);
    const want = JSON.stringify((step.commands as AnsweredCommand[]).map((c) => ({ action: c.action, name: c.name, outcome: c.outcome })));
    if (got !== want) throw new Error(`the broker answered ${got}, expected ${want}`);
  }

  private async expectRegistration(step: Step): Promise<void> {
    const name = str(step, 'broker');
    const b = this.broker(name);
    if (!b.agent) throw new Error('expect_registration needs an in-process broker');
    const chunks = num(step, 'chunks');
    const topics = num(step, 'topics');
    const stats = b.agent.sessionStats();
    if (stats.length !== b.replicas.length) throw new Error(`${stats.length} sessions, expected ${b.replicas.length}`);
    for (const s of stats) {
      if (s.lastChunkCount !== chunks) throw new Error(`${s.address}: registration sent in ${s.lastChunkCount} chunks, expected ${chunks}`);
      const r = [...this.replicas.values()].find((x) => x.address === s.address)!;
      const listed = await call(r.clients.admin, 'listBrokers', { cluster: '', pageSize: 0, pageToken: '' });
      const entry = listed.brokers.find((x) => x.brokerName === name);
      if (entry?.topicCount !== topics) throw new Error(`${s.address}: holds ${entry?.topicCount ?? 'no'} topics of ${name}, expected ${topics}`);
    }
    if (typeof step.report === 'string') this.reports.set(step.report, { value: chunks });
  }

  private async cleanup(): Promise<void> {
    for (const c of this.clients.values()) {
      for (const w of c.watches) w.close();
      c.sdk.close();
    }
    await Promise.all(
      [...this.brokers.values()].map(async (b) => {
        await b.agent?.stop();
        if (b.child && b.child.exitCode === null && b.child.signalCode === null) {
          b.child.kill('SIGKILL');
          await exited(b.child);
        }
      }),
    );
    await Promise.all(
      [...this.replicas.values()].map(async (r) => {
        r.clients.close();
        if (r.child.exitCode !== null || r.child.signalCode !== null) return;
        r.child.kill('SIGTERM');
        const timer = setTimeout(() => r.child.kill('SIGKILL'), 5_000);
        await exited(r.child);
        clearTimeout(timer);
      }),
    );
  }
}

/** Configuration handed to test/conformance/ts-broker.ts (JSON in argv[2]). */
export interface BrokerProcessConfig {
  nameservers: string[];
  cluster: string;
  brokerName: string;
  addresses: string[];
  topics: TopicConfig[];
  chunkSize?: number;
}

/** Start ts-broker.ts; resolves once it printed `registered` for every NameServer. */
async function startBrokerProcess(config: BrokerProcessConfig): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/conformance/ts-broker.ts'), JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pending = new Set(config.nameservers);
  let buf = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker process: not registered with ${[...pending].join(', ')} within ${DEFAULT_WITHIN_MS} ms`)), DEFAULT_WITHIN_MS);
      child.once('exit', (code, signal) => reject(new Error(`broker process exited early (${code ?? signal})`)));
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, nl)) as { event: string; address?: string };
          buf = buf.slice(nl + 1);
          if (line.event === 'registered' && line.address) pending.delete(line.address);
        }
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}
