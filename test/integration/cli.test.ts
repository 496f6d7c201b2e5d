/**
 * The admin CLI (`nameserver-admin`, src/cli/) run as a child process against real in-process
 * servers: human and --json output of the reads, writes carried to brokers with per-broker results,
 * exit codes (2 not found, 3 conflict, 4 unreachable, 5 auth, 6 replicas inconsistent), the watch
 * streams read line by line, and the bin entry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { status } from '@grpc/grpc-js';
import { ClientRole, Permission } from '../../generated/nameserver/v1/common';
import { call, exited, rejectsWith, startServer, type Started } from '../helpers/server';
import { makePki } from '../helpers/certs';
import { FakeBroker } from '../fixtures/fake-broker';
import { report, topic } from '../fixtures/reports';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** The environment of the CLI: none of the caller's NameServer settings leak in. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NAMESERVER_')) delete env[k];
  return { ...env, ...extra };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion. */
async function cli(args: string[], env: Record<string, string> = {}, entry: string[] = ['--import', 'tsx', MAIN]): Promise<Result> {
  const child = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // A CLI that hangs fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  // 'close' (not 'exit'): all of stdout and stderr has been read.
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (signal === 'SIGKILL') assert.fail(`CLI ${args.join(' ')} did not finish within 30 s\nstdout: ${stdout}\nstderr: ${stderr}`);
  return { code, stdout, stderr };
}

/** Run the CLI with --json and parse stdout (one document). */
async function cliJson(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; doc: any; stderr: string }> {
  const r = await cli(['--json', ...args], env);
  let doc: unknown;
  try {
    doc = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    assert.fail(`stdout is not one JSON document: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

/** Assert the exit code, showing the output when it differs. */
function assertCode(r: { code: number | null; stderr: string; stdout?: string }, code: number): void {
  assert.equal(r.code, code, `exit code ${r.code}, expected ${code}\nstdout: ${r.stdout ?? ''}\nstderr: ${r.stderr}`);
}

/** A long-running CLI (watch) whose output is read line by line. */
class Running {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly errLines: string[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.push(this.lines, l));
    createInterface({ input: this.child.stderr! }).on('line', (l) => this.push(this.errLines, l));
    this.child.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private push(into: string[], line: string): void {
    into.push(line);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve with the first line (stdout, or stderr with `stream: 'stderr'`) matching `re`. */
  async line(re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (stream === 'stdout' ? this.lines : this.errLines).find((l) => re.test(l));
      if (found !== undefined) return found;
      if (this.closed) assert.fail(`CLI exited (${this.child.exitCode}) before printing ${re}\nstdout: ${this.lines.join('\n')}\nstderr: ${this.errLines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no ${stream} line matching ${re} within ${timeoutMs} ms\nstdout: ${this.lines.join('\n')}\nstderr: ${this.errLines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Ctrl-C, and the exit code. */
  async interrupt(): Promise<number | null> {
    this.child.kill('SIGINT');
    return (await exited(this.child)).code;
  }
}

// Read-only tests on one server: run concurrently (each spawns CLIs; startup dominates).
describe('nameserver-admin reads', { concurrency: true }, () => {
  let s: Started;
  before(async () => {
    // The brokers register once (leases): a lease long enough for the whole suite on a loaded machine,
    // where each spawned CLI may take seconds (a 30 s lease expired here mid-suite).
    s = await startServer({ leaseTtlMs: 3_600_000, maxLeaseTtlMs: 3_600_000 });
    await call(
      s.brokers,
      'registerBroker',
      report('b1', 0, ['ta', 'tb'], {
        groups: [{ name: 'billing', consumeMode: 1, subscriptions: [{ topic: 'ta', expression: '*', filterType: 1 }], retryPolicy: undefined, consumeOrderly: false, attributes: {} }],
      }),
    );
    await call(s.brokers, 'registerBroker', report('b2', 0, [topic('ta', { readQueueNums: 4, writeQueueNums: 4 })]));
    await call(s.brokers, 'reportPositions', {
      cluster: 'c1', brokerName: 'b1', brokerId: 0, full: true,
      queuePositions: [{ topic: 'ta', queueId: 0, minOffset: 0, maxOffset: 500 }, { topic: 'ta', queueId: 1, minOffset: 0, maxOffset: 300 }],
      consumerPositions: [{ group: 'billing', topic: 'ta', queueId: 0, committedOffset: 450 }, { group: 'billing', topic: 'ta', queueId: 1, committedOffset: 100 }],
    });
    await call(s.brokers, 'reportInstances', {
      cluster: 'c1', brokerName: 'b1', brokerId: 0, full: true,
      instances: [
        { clientId: 'app-1', role: ClientRole.CLIENT_ROLE_CONSUMER, group: 'billing', topics: ['ta'], host: '10.1.1.1', language: 'JAVA', version: '5.0' },
        { clientId: 'prod-1', role: ClientRole.CLIENT_ROLE_PRODUCER, group: '', topics: ['tb'], host: '10.1.1.2', language: 'GO', version: '5.1' },
      ],
    });
  });
  after(() => s.stop());

  test('cluster: an overview table, and GetClusterInfoResponse as JSON', async () => {
    const r = await cli(['--server', s.address, 'cluster']);
    assertCode(r, 0);
    assert.match(r.stdout, /^brokers\s+2$/m);
    assert.match(r.stdout, /^CLUSTER\s+BROKER\s+ID\s+ADDRESSES/m);
    assert.match(r.stdout, /^c1\s+b1\s+0\s+10\.0\.0\.1:10913\s+z1\s+\S+\s+lease\s+2\s+1\s+\d+[smhd]\w* ago$/m);
    const j = await cliJson(['--server', s.address, 'cluster']);
    assertCode(j, 0);
    assert.equal(j.doc.brokerCount, 2);
    assert.equal(j.doc.topicCount, 2);
    assert.deepEqual(j.doc.clusters.map((c: any) => [c.name, c.replicaSets.map((x: any) => x.brokerName)]), [['c1', ['b1', 'b2']]]);
    assert.equal(j.doc.clusters[0].replicaSets[0].replicas[0].sessionKind, 'SESSION_KIND_LEASE');
  });

  test('brokers: one row per broker; --cluster filters; JSON lists every page', async () => {
    const r = await cli(['--server', s.address, 'brokers']);
    assertCode(r, 0);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0]!, /^CLUSTER\s+BROKER\s+ID\s+ADDRESSES\s+ZONE\s+VERSION\s+PERM/);
    assert.deepEqual(rows.slice(1).map((l) => l.split(/\s+/).slice(0, 3)), [['c1', 'b1', '0'], ['c1', 'b2', '0']]);
    const j = await cliJson(['brokers', '--server', s.address]);
    assert.deepEqual(j.doc.brokers.map((b: any) => [b.cluster, b.brokerName, b.addresses]), [['c1', 'b1', ['10.0.0.1:10913']], ['c1', 'b2', ['10.0.0.1:10913']]]);
    assert.equal(typeof j.doc.brokers[0].registeredAtMs, 'number');
    const none = await cli(['--server', s.address, 'brokers', '--cluster', 'other']);
    assertCode(none, 0);
    assert.equal(none.stdout.trim(), '(no brokers)');
    assert.deepEqual((await cliJson(['--server', s.address, 'brokers', '--cluster', 'other'])).doc, {});
  });

  test('topics, topic and groups: tables and JSON', async () => {
    const r = await cli(['--server', s.address, 'topics']);
    assertCode(r, 0);
    assert.match(r.stdout, /^ta\s+normal\s+b1,b2\s+12\s+12\s+\S+$/m);
    assert.match(r.stdout, /^tb\s+normal\s+b1\s+8\s+8\s+\S+$/m);
    assert.match(r.stdout, /^2 topics$/m);
    const j = await cliJson(['--server', s.address, 'topics', '--prefix', 'tb']);
    assert.deepEqual(j.doc.topics.map((t: any) => [t.name, t.brokerNames, t.messageType]), [['tb', ['b1'], 'MESSAGE_TYPE_NORMAL']]);
    assert.equal(j.doc.total, 1);

    const t = await cli(['--server', s.address, 'topic', 'ta']);
    assertCode(t, 0);
    assert.match(t.stdout, /^b2\s+c1\s+z1\s+rw\s+4\s+4\s+0\*=10\.0\.0\.1:10913$/m);
    assert.match(t.stdout, /^c1\s+b1\s+0\s+8\s+8\s+rw\s+normal\s+-\s+2\s+800$/m, 'per-broker config with queue offsets');
    const tj = await cliJson(['--server', s.address, 'topic', 'ta']);
    assert.deepEqual(tj.doc.brokers.map((b: any) => [b.brokerName, b.config.readQueueNums]), [['b1', 8], ['b2', 4]]);

    const g = await cli(['--server', s.address, 'groups']);
    assert.match(g.stdout, /^billing\s+clustering\s+b1\s+ta\s+250\s+1$/m);
    const gd = await cliJson(['--server', s.address, 'group', 'billing']);
    assertCode(gd, 0);
    assert.equal(gd.doc.summary.totalLag, 250);
    assert.equal(gd.doc.brokers[0].config.subscriptions[0].topic, 'ta');
  });

  test('route: the route clients get, with short permissions; a missing topic exits 2', async () => {
    const r = await cli(['--server', s.address, 'route', 'ta']);
    assertCode(r, 0);
    assert.match(r.stdout, /^topic\s+ta$/m);
    assert.match(r.stdout, /^BROKER\s+CLUSTER\s+ZONE\s+PERM\s+READ\s+WRITE\s+REPLICAS$/m);
    assert.match(r.stdout, /^b1\s+c1\s+z1\s+rw\s+8\s+8\s+0\*=10\.0\.0\.1:10913$/m);
    const { route } = await call(s.routes, 'getRoute', { topic: 'ta' });
    const j = await cliJson(['--server', s.address, 'route', 'ta']);
    assert.equal(j.doc.route.version, route!.version);
    assert.deepEqual(j.doc.route.brokers.map((b: any) => [b.brokerName, b.permission, b.writeQueueNums]), [
      ['b1', 'PERMISSION_READ_WRITE', 8],
      ['b2', 'PERMISSION_READ_WRITE', 4],
    ]);
    const missing = await cli(['--server', s.address, 'route', 'nope']);
    assertCode(missing, 2);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^error: NOT_FOUND: .*nope/);
    assertCode(await cli(['--server', s.address, 'topic', 'nope']), 2);
  });

  test('lag: per queue and total', async () => {
    const r = await cli(['--server', s.address, 'lag', 'billing']);
    assertCode(r, 0);
    assert.match(r.stdout, /^total lag\s+250$/m);
    assert.match(r.stdout, /^ta\s+b1\s+0\s+0\s+500\s+450\s+50$/m);
    assert.match(r.stdout, /^ta\s+b1\s+0\s+1\s+300\s+100\s+200$/m);
    const j = await cliJson(['--server', s.address, 'lag', 'billing', '--topic', 'ta']);
    assert.equal(j.doc.totalLag, 250);
    assert.deepEqual(j.doc.topics[0].queues.map((q: any) => q.lag), [50, 200]);
    assertCode(await cli(['--server', s.address, 'lag', 'nobody']), 2);
  });

  test('instances: filters by role, group and topic', async () => {
    const r = await cli(['--server', s.address, 'instances']);
    assertCode(r, 0);
    assert.match(r.stdout, /^app-1\s+consumer\s+billing\s+ta\s+10\.1\.1\.1\s+JAVA\s+5\.0\s+b1\s+\d+[smhd]\w* ago$/m);
    assert.match(r.stdout, /^prod-1\s+producer\s+-\s+tb\s+/m);
    const j = await cliJson(['--server', s.address, 'instances', '--role', 'producer']);
    assert.deepEqual(j.doc.instances.map((i: any) => [i.instance.clientId, i.instance.role, i.brokerNames]), [['prod-1', 'CLIENT_ROLE_PRODUCER', ['b1']]]);
    const byGroup = await cliJson(['--server', s.address, 'instances', '--group', 'billing', '--topic', 'ta']);
    assert.deepEqual(byGroup.doc.instances.map((i: any) => i.instance.clientId), ['app-1']);
    assertCode(await cli(['--server', s.address, 'instances', '--role', 'admin']), 1);
  });

  test('usage errors exit 1; an unreachable server exits 4', async () => {
    assertCode(await cli(['--server', s.address, 'no-such-command']), 1);
    assertCode(await cli(['--server', 'not-an-address', 'cluster']), 1);
    const bad = await cli(['--server', s.address, 'topic', 'bad name!']);
    assertCode(bad, 1);
    assert.match(bad.stderr, /^error: INVALID_ARGUMENT: /);
    const dead = await startServer();
    const address = dead.address;
    await dead.stop();
    const r = await cli(['--server', address, 'cluster']);
    assertCode(r, 4);
    assert.match(r.stderr, /^error: UNAVAILABLE: .*\(server 127\.0\.0\.1:\d+\)$/m);
    // Several servers: an unreachable one is skipped.
    const failover = await cliJson(['--server', `${address},${s.address}`, 'cluster']);
    assertCode(failover, 0);
    assert.equal(failover.doc.brokerCount, 2);
  });
});

describe('nameserver-admin writes', () => {
  let s: Started;
  let w1: FakeBroker;
  let w2: FakeBroker;
  before(async () => {
    s = await startServer({ streamGraceMs: 100 });
    w1 = new FakeBroker(s.address, 'w1', ['base']);
    w2 = new FakeBroker(s.address, 'w2', ['base']);
    await w1.connect();
    await w2.connect();
  });
  after(async () => {
    w1.close();
    w2.close();
    await s.stop();
  });

  test('create-topic on a cluster: one line per broker, and the route exists', async () => {
    const r = await cli(['--server', s.address, 'create-topic', 'orders', '--read-queues', '4', '--write-queues', '4', '--cluster', 'c1']);
    assertCode(r, 0);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)), [['c1/w1/0', 'OK'], ['c1/w2/0', 'OK']]);
    const { route } = await call(s.routes, 'getRoute', { topic: 'orders' });
    assert.deepEqual(route!.brokers.map((b) => [b.brokerName, b.readQueueNums, b.writeQueueNums, b.permission]), [
      ['w1', 4, 4, Permission.PERMISSION_READ_WRITE],
      ['w2', 4, 4, Permission.PERMISSION_READ_WRITE],
    ]);
    // Idempotent, and --json gives the CreateTopicResponse.
    const j = await cliJson(['--server', s.address, 'create-topic', 'orders', '--queues', '4', '--cluster', 'c1']);
    assertCode(j, 0);
    assert.deepEqual(j.doc.results.map((x: any) => [x.brokerName, x.outcome]), [['w1', 'COMMAND_OUTCOME_OK'], ['w2', 'COMMAND_OUTCOME_OK']]);
  });

  test('a conflicting create exits 3 and names the broker and its outcome', async () => {
    const r = await cli(['--server', s.address, 'create-topic', 'orders', '--queues', '16', '--brokers', 'w1']);
    assertCode(r, 3);
    assert.match(r.stdout, /^c1\/w1\/0\s+ALREADY_EXISTS\s+exists with another configuration$/m);
    assert.match(r.stderr, /^error: ALREADY_EXISTS: .*c1\/w1\/0 ALREADY_EXISTS/m);
    const j = await cliJson(['--server', s.address, 'create-topic', 'orders', '--queues', '16', '--brokers', 'w1,w2']);
    assertCode(j, 3);
    assert.deepEqual(j.doc.results.map((x: any) => [x.brokerName, x.outcome]), [
      ['w1', 'COMMAND_OUTCOME_ALREADY_EXISTS'],
      ['w2', 'COMMAND_OUTCOME_ALREADY_EXISTS'],
    ]);
    assert.equal((await call(s.routes, 'getRoute', { topic: 'orders' })).route!.brokers[0]!.readQueueNums, 4, 'nothing changed');
  });

  test('a target without a session is reported per broker (exit 3) while the others apply', async () => {
    await call(s.brokers, 'registerBroker', report('unary-only', 0, ['x']));
    const r = await cli(['--server', s.address, 'create-topic', 'partial', '--queues', '2', '--brokers', 'w1,unary-only']);
    assertCode(r, 3);
    assert.match(r.stdout, /^c1\/unary-only\/0\s+NO_SESSION\s+/m);
    assert.match(r.stdout, /^c1\/w1\/0\s+OK$/m);
    assert.match(r.stderr, /^error: UNAVAILABLE: /);
    assert.deepEqual((await call(s.routes, 'getRoute', { topic: 'partial' })).route!.brokers.map((b) => b.brokerName), ['w1']);
  });

  test('update-topic changes only what is given; delete-topic removes it; a missing topic exits 2', async () => {
    const up = await cli(['--server', s.address, 'update-topic', 'orders', '--write-queues', '2', '--attr', 'retention.hours=72']);
    assertCode(up, 0);
    const { route } = await call(s.routes, 'getRoute', { topic: 'orders' });
    assert.deepEqual(route!.brokers.map((b) => [b.readQueueNums, b.writeQueueNums]), [[4, 2], [4, 2]]);
    assert.deepEqual(w1.topics.get('orders')!.attributes, { 'retention.hours': '72' });

    const del = await cli(['--server', s.address, 'delete-topic', 'orders', '--cluster', 'c1']);
    assertCode(del, 0);
    assert.equal(del.stdout.trim().split('\n').length, 2);
    await rejectsWith(call(s.routes, 'getRoute', { topic: 'orders' }), status.NOT_FOUND);

    const missing = await cli(['--server', s.address, 'delete-topic', 'orders']);
    assertCode(missing, 2);
    assert.match(missing.stderr, /^error: NOT_FOUND: /);
    assertCode(await cli(['--server', s.address, 'update-topic', 'orders', '--queues', '3']), 2);
  });

  test('create needs a target and queue counts (exit 1, nothing sent)', async () => {
    const noTarget = await cli(['--server', s.address, 'create-topic', 'x1', '--queues', '4']);
    assertCode(noTarget, 1);
    assert.match(noTarget.stderr, /--cluster C or --brokers/);
    assertCode(await cli(['--server', s.address, 'create-topic', 'x1', '--cluster', 'c1']), 1);
    assertCode(await cli(['--server', s.address, 'create-topic', 'x1', '--queues', '4', '--cluster', 'c1', '--brokers', 'w1']), 1);
    assertCode(await cli(['--server', s.address, 'create-topic', 'x1', '--queues', '4', '--perm', 'rwx', '--cluster', 'c1']), 1);
    assertCode(await cli(['--server', s.address, 'drain', '--cluster', 'c1']), 1);
    assert.equal(w1.commands.filter((c) => c.action?.$case === 'createTopic' && c.action.createTopic.topic!.name === 'x1').length, 0);
  });

  test('create-topic with a type and permission; create-group and delete-group', async () => {
    const r = await cli(['--server', s.address, 'create-topic', 'fifo-t', '--queues', '2', '--type', 'fifo', '--perm', 'r', '--brokers', 'w2']);
    assertCode(r, 0);
    const { route } = await call(s.routes, 'getRoute', { topic: 'fifo-t' });
    assert.equal(route!.brokers[0]!.permission, Permission.PERMISSION_READ);
    assert.equal(route!.messageType, 2);

    const g = await cli(['--server', s.address, 'create-group', 'billing', '--subscribe', 'base,fifo-t:TagA', '--orderly', '--brokers', 'w1,w2']);
    assertCode(g, 0);
    const sent = w1.commands.at(-1)!;
    assert.equal(sent.action?.$case, 'createGroup');
    if (sent.action?.$case === 'createGroup') {
      assert.deepEqual(sent.action.createGroup.group!.subscriptions.map((x) => [x.topic, x.expression]), [['base', ''], ['fifo-t', 'TagA']]);
      assert.equal(sent.action.createGroup.group!.consumeOrderly, true);
    }
    const del = await cli(['--server', s.address, 'delete-group', 'billing', '--brokers', 'w1']);
    assertCode(del, 0);
    assert.match(del.stdout, /^c1\/w1\/0\s+OK$/m);
    assert.equal(w1.commands.at(-1)!.action?.$case, 'deleteGroup');
  });

  test('drain and restore change the route permission', async () => {
    const drain = await cli(['--server', s.address, 'drain', '--cluster', 'c1', '--broker', 'w1']);
    assertCode(drain, 0);
    assert.match(drain.stdout, /^c1\/w1\/0\s+OK$/m);
    let { route } = await call(s.routes, 'getRoute', { topic: 'base' });
    assert.deepEqual(route!.brokers.map((b) => [b.brokerName, b.permission]), [['w1', Permission.PERMISSION_READ], ['w2', Permission.PERMISSION_READ_WRITE]]);
    const shown = await cli(['--server', s.address, 'route', 'base']);
    assert.match(shown.stdout, /^w1\s+c1\s+z1\s+r\s+8\s+8\s+/m);

    assertCode(await cli(['--server', s.address, 'restore', '--cluster', 'c1', '--broker', 'w1']), 0);
    ({ route } = await call(s.routes, 'getRoute', { topic: 'base' }));
    assert.equal(route!.brokers[0]!.permission, Permission.PERMISSION_READ_WRITE);

    const unknown = await cli(['--server', s.address, 'drain', '--cluster', 'c1', '--broker', 'ghost']);
    assertCode(unknown, 2);
  });

  test('a typo in --cluster or in --brokers is the same kind of error: exit 2, saying what exists, nothing sent', async () => {
    const before = w1.commands.length;
    const cluster = await cli(['--server', s.address, 'create-topic', 'typo-t', '--queues', '2', '--cluster', 'c9']);
    assertCode(cluster, 2);
    assert.equal(cluster.stderr.trim(), 'error: NOT_FOUND: cluster "c9" has no registered brokers; known clusters: c1');
    const brokers = await cli(['--server', s.address, 'create-topic', 'typo-t', '--queues', '2', '--brokers', 'w9']);
    assertCode(brokers, 2);
    const known = /^error: NOT_FOUND: replica set "w9" is not registered; known replica sets: (.+)$/.exec(brokers.stderr.trim());
    assert.ok(known, brokers.stderr);
    for (const name of ['w1', 'w2']) assert.ok(known[1]!.split(', ').includes(name), `${name} is listed: ${known[1]}`);
    const drain = await cli(['--server', s.address, 'drain', '--cluster', 'c1', '--brokers', 'w9']);
    assertCode(drain, 2);
    assert.match(drain.stderr, /replica set "w9" is not registered in cluster "c1"; known replica sets in cluster "c1": (\S+, )*w1, w2/);
    assert.equal(w1.commands.length, before, 'nothing was sent to any broker');
  });

  test('an unreachable server is one line: no grpc-js transport notes', async () => {
    const r = await cli(['--server', '127.0.0.1:1', '--timeout-ms', '2000', 'cluster']);
    assertCode(r, 4);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^error: (UNAVAILABLE|DEADLINE_EXCEEDED): .*\(server 127\.0\.0\.1:1\)$/);
    assert.doesNotMatch(r.stderr, /Resolution note/);
  });

  test('drain and restore take --brokers like the other writes (several replica sets, one result line each)', async () => {
    const drain = await cli(['--server', s.address, 'drain', '--cluster', 'c1', '--brokers', 'w1,w2']);
    assertCode(drain, 0);
    assert.match(drain.stdout, /^c1\/w1\/0\s+OK$/m);
    assert.match(drain.stdout, /^c1\/w2\/0\s+OK$/m);
    let { route } = await call(s.routes, 'getRoute', { topic: 'base' });
    assert.deepEqual(route!.brokers.map((b) => b.permission), [Permission.PERMISSION_READ, Permission.PERMISSION_READ]);
    assertCode(await cli(['--server', s.address, 'restore', '--cluster', 'c1', '--brokers', 'w1,w2']), 0);
    ({ route } = await call(s.routes, 'getRoute', { topic: 'base' }));
    assert.deepEqual(route!.brokers.map((b) => b.permission), [Permission.PERMISSION_READ_WRITE, Permission.PERMISSION_READ_WRITE]);
    // One unknown replica set among known ones: the known one is drained, the exit code says not found.
    const mixed = await cli(['--server', s.address, 'drain', '--cluster', 'c1', '--brokers', 'ghost,w1']);
    assertCode(mixed, 2);
    assert.match(mixed.stdout, /^c1\/w1\/0\s+OK$/m);
    assertCode(await cli(['--server', s.address, 'restore', '--cluster', 'c1', '--brokers', 'w1']), 0);
  });
});

describe('nameserver-admin output', () => {
  test('--version prints the package version', async () => {
    const r = await cli(['--version']);
    assertCode(r, 0);
    assert.equal(r.stdout.trim(), (require(path.join(ROOT, 'package.json')) as { version: string }).version);
  });

  test('tables fit 120 columns: long values are cut with "…", --json keeps them whole', async () => {
    const s = await startServer();
    try {
      const addresses = Array.from({ length: 12 }, (_, i) => `10.20.30.${i + 1}:10911`);
      await call(s.brokers, 'registerBroker', report('wide-broker-with-a-long-replica-set-name', 0, ['t'], { addresses, zone: 'zone-with-a-rather-long-name-too' }));
      const r = await cli(['--server', s.address, 'brokers']);
      assertCode(r, 0);
      const lines = r.stdout.split('\n').filter(Boolean);
      for (const l of lines) assert.ok(l.length <= 120, `${l.length} columns: ${l}`);
      assert.match(r.stdout, /…/);
      const j = await cliJson(['--server', s.address, 'brokers']);
      assert.deepEqual(j.doc.brokers[0].addresses, addresses);
    } finally {
      await s.stop();
    }
  });
});

describe('nameserver-admin auth and TLS', { concurrency: true }, () => {
  test('with an admin token configured: missing or wrong token exits 5; --token or the env var works', async () => {
    const s = await startServer({ adminToken: 't' });
    try {
      const missing = await cli(['--server', s.address, 'cluster']);
      assertCode(missing, 5);
      assert.match(missing.stderr, /^error: UNAUTHENTICATED: /);
      assertCode(await cli(['--server', s.address, '--token', 'wrong', 'cluster']), 5);
      assertCode(await cli(['--server', s.address, '--token', 't', 'cluster']), 0);
      assertCode(await cli(['cluster'], { NAMESERVER_ADDR: s.address, NAMESERVER_ADMIN_TOKEN: 't' }), 0);
    } finally {
      await s.stop();
    }
  });

  test('--tls-ca connects to a TLS server', async () => {
    const pki = makePki();
    const s = await startServer({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey });
    try {
      const j = await cliJson(['--server', s.address, '--tls-ca', pki.caCert, 'cluster']);
      assertCode(j, 0);
      assert.equal(typeof j.doc.serverId, 'string');
      assertCode(await cli(['--server', s.address, '--timeout-ms', '1000', 'cluster']), 4);
      assertCode(await cli(['--server', s.address, '--tls-ca', path.join(pki.dir, 'missing.crt'), 'cluster']), 1);
    } finally {
      await s.stop();
    }
  });
});

describe('nameserver-admin streams', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ streamGraceMs: 100 });
  });
  after(() => s.stop());

  test('watch prints a line when a broker registers the topic, and a removal; Ctrl-C exits 0', async () => {
    const w = new Running(['--server', s.address, 'watch', 'wt', 'wt2']);
    try {
      await w.line(/^watching 2 topics on /, 'stderr');
      await call(s.brokers, 'registerBroker', report('wb', 0, ['wt']));
      const line = await w.line(/ UPDATED wt /);
      assert.match(line, /^\d{4}-\d\d-\d\dT\S+Z UPDATED wt version=\S+ type=normal brokers=wb:rw:8\/8$/);
      await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'wb', brokerId: 0, epoch: '' });
      await w.line(/ REMOVED wt$/);
      assert.equal(w.lines.some((l) => l.includes('wt2')), false);
    } finally {
      assert.equal(await w.interrupt(), 0);
    }
  });

  test('watch --json prints NDJSON RouteEvents', async () => {
    const w = new Running(['--server', s.address, '--json', 'watch', 'wj']);
    try {
      await w.line(/^watching 1 topic on /, 'stderr');
      await call(s.brokers, 'registerBroker', report('wjb', 0, ['wj']));
      const ev = JSON.parse(await w.line(/^\{/));
      assert.equal(ev.topic, 'wj');
      assert.equal(ev.type, 'ROUTE_EVENT_TYPE_UPDATED');
      assert.deepEqual(ev.route.brokers.map((b: any) => b.brokerName), ['wjb']);
    } finally {
      assert.equal(await w.interrupt(), 0);
    }
  });

  test('watch-cluster prints the snapshot then joins and leaves', async () => {
    await call(s.brokers, 'registerBroker', report('before', 0, ['x']));
    const w = new Running(['--server', s.address, 'watch-cluster']);
    try {
      await w.line(/ EXISTING c1\/before\/0 /);
      await w.line(/^snapshot complete/, 'stderr');
      await call(s.brokers, 'registerBroker', report('joiner', 0, ['y']));
      assert.match(await w.line(/ JOINED c1\/joiner\/0 /), /addresses=10\.0\.0\.1:\d+ zone=z1 /);
      await call(s.brokers, 'unregisterBroker', { cluster: 'c1', brokerName: 'joiner', brokerId: 0, epoch: '' });
      await w.line(/ LEFT c1\/joiner\/0 .*reason=/);
    } finally {
      assert.equal(await w.interrupt(), 0);
    }
  });

});

describe('nameserver-admin watches fail over across --server replicas', () => {
  test('watch moves to the next replica when its NameServer stops, and prints nothing that did not change', async () => {
    const [a, b] = [await startServer(), await startServer()];
    for (const r of [a, b]) await call(r.brokers, 'registerBroker', report('fo', 0, ['fot']));
    const w = new Running(['--server', `${a.address},${b.address}`, 'watch', 'fot']);
    try {
      await w.line(new RegExp(`^watching 1 topic on ${a.address} `), 'stderr');
      await w.line(/ UPDATED fot /);
      await a.stop();
      await w.line(new RegExp(`^lost ${a.address} \\(.*\\); reconnecting to ${b.address} in \\d+ ms$`), 'stderr');
      await w.line(new RegExp(`^watching 1 topic on ${b.address} `), 'stderr');
      // A change on the new replica is printed; the unchanged route was not printed again.
      await call(b.brokers, 'registerBroker', report('fo', 0, ['fot'], { dataVersion: { epoch: 'boot-fo-0', counter: 2 }, topics: [topic('fot', { readQueueNums: 4, writeQueueNums: 4 })] }));
      await w.line(/ UPDATED fot .*brokers=fo:rw:4\/4$/);
      assert.equal(w.lines.filter((l) => / UPDATED fot /.test(l)).length, 2, w.lines.join('\n'));
    } finally {
      assert.equal(await w.interrupt(), 0);
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('watch keeps going while its only NameServer restarts on the same address', async () => {
    const first = await startServer();
    const port = first.port;
    const w = new Running(['--server', first.address, 'watch', 'rs']);
    let second: Started | undefined;
    try {
      await w.line(/^watching 1 topic on /, 'stderr');
      await first.stop();
      await w.line(/^lost .*; reconnecting to /, 'stderr');
      second = await startServer({ listen: `127.0.0.1:${port}` });
      await call(second.brokers, 'registerBroker', report('rsb', 0, ['rs']));
      await w.line(/ UPDATED rs /);
      assert.equal(w.child.exitCode, null, 'still running');
    } finally {
      assert.equal(await w.interrupt(), 0);
      await second?.stop();
    }
  });

  test('watch-cluster shows only the differences after moving to another replica', async () => {
    const [a, b] = [await startServer(), await startServer()];
    await call(a.brokers, 'registerBroker', report('both', 0, ['x']));
    await call(b.brokers, 'registerBroker', report('both', 0, ['x']));
    await call(a.brokers, 'registerBroker', report('only-a', 0, ['x']));
    await call(b.brokers, 'registerBroker', report('only-b', 0, ['x']));
    const w = new Running(['--server', `${a.address},${b.address}`, 'watch-cluster']);
    try {
      await w.line(/^snapshot complete: 2 brokers on /, 'stderr');
      await a.stop();
      await w.line(new RegExp(`^resynchronised with ${b.address}: 2 brokers`), 'stderr');
      await w.line(/ JOINED c1\/only-b\/0 /);
      await w.line(/ LEFT c1\/only-a\/0 .*reason="not in .*'s snapshot after reconnecting"/);
      assert.equal(w.lines.filter((l) => /c1\/both\/0/.test(l)).length, 1, 'the broker both replicas know is shown once');
      await call(b.brokers, 'registerBroker', report('later', 0, ['y']));
      await w.line(/ JOINED c1\/later\/0 /);
    } finally {
      assert.equal(await w.interrupt(), 0);
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('an error every replica would give (a wrong token) ends the watch at once with its exit code', async () => {
    const s = await startServer({ adminToken: 'right' });
    try {
      const r = await cli(['--server', s.address, '--token', 'wrong', 'watch-cluster']);
      assertCode(r, 5);
      assert.match(r.stderr, /^error: UNAUTHENTICATED: .*\(server 127\.0\.0\.1:\d+\)$/m);
    } finally {
      await s.stop();
    }
  });
});

describe('nameserver-admin check-replicas', () => {
  let a: Started;
  let b: Started;
  let c: Started;
  before(async () => {
    [a, b, c] = [await startServer(), await startServer(), await startServer()];
    for (const r of [a, b, c]) await call(r.brokers, 'registerBroker', report('cr', 0, ['ra', 'rb']));
    await call(c.brokers, 'registerBroker', report('cr', 0, ['ra', 'rb', 'extra'], { dataVersion: { epoch: 'boot-cr-0', counter: 2 } }));
  });
  after(() => Promise.all([a, b, c].map((r) => r.stop())));

  test('consistent replicas exit 0', async () => {
    const r = await cli(['--server', `${a.address},${b.address}`, 'check-replicas']);
    assertCode(r, 0);
    assert.match(r.stdout, /^self\s+yes\s+/m);
    assert.match(r.stdout, /^consistent$/m);
    const j = await cliJson(['--server', a.address, 'check-replicas', '--servers', b.address]);
    assertCode(j, 0);
    assert.equal(j.doc.consistent, true);
    assert.deepEqual(j.doc.replicas.map((x: any) => x.address), ['self', b.address]);
  });

  test('a divergent replica exits 6 and names the topic', async () => {
    const r = await cli(['--server', a.address, 'check-replicas', '--servers', `${b.address},${c.address}`]);
    assertCode(r, 6);
    assert.match(r.stdout, /^extra\s+-\s+-\s+\S+$/m);
    assert.match(r.stdout, /^INCONSISTENT: 1 divergent topic, 0 unreachable replicas$/m);
    const j = await cliJson(['--server', `${a.address},${c.address}`, 'check-replicas']);
    assertCode(j, 6);
    assert.equal(j.doc.consistent, undefined, 'proto JSON omits false');
    assert.deepEqual(j.doc.divergentTopics.map((d: any) => d.topic), ['extra']);
    assertCode(await cli(['--server', `${a.address},${c.address}`, 'check-replicas', '--topics', 'ra,rb']), 0);
  });
});

