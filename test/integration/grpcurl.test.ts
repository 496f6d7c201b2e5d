/**
 * The real grpcurl (v1.9.3, installed from its Go module by scripts/install-test-tools.sh) against a
 * real server, by reflection only (no -proto, no -import-path): grpcurl resolves descriptors through
 * protobuf-go, which rejects anything protoc would not have produced (fullstorydev/grpcurl#519), so
 * this is the operator's view of the API.
 *
 *  - every grpcurl example in README.md, as written, in order: unary calls, the health check, the
 *    interactive Connect session, and the server-streaming WatchRoutes (route pushed, then its removal);
 *    the quick demo's CreateTopic and WatchRoutes against two connected brokers;
 *  - `grpcurl describe` of every service, message and enum of the contract, each shown with its comment.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createFileRegistry, fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { FakeBroker } from '../fixtures/fake-broker';
import { startServer, type Started } from '../helpers/server';
import { ROOT, tool } from '../helpers/tools';

const GRPCURL = tool('grpcurl');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const README_ADDRESS = '127.0.0.1:9876';

/** Split a README command line into argv: words, and '...' quoted strings (all the README uses). */
function argv(command: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) {
    assert.ok(m[2] === undefined || !/["$`\\]/.test(m[2]), `README command uses shell syntax this test does not replay: ${m[2]}`);
    words.push(m[1] ?? m[2]!);
  }
  assert.equal(words.shift(), 'grpcurl', command);
  return words;
}

/** The grpcurl commands of README.md, in order: code lines, `# grpcurl` demo lines and `grpcurl …` code spans. */
function readmeCommands(): string[] {
  const out: string[] = [];
  for (const line of README.split('\n')) {
    const code = /^(?:#\s+)?(grpcurl .*)$/.exec(line);
    if (code) out.push(code[1]!.trim());
    // Code spans that are commands (an address or a descriptor set), not prose like `grpcurl describe`.
    for (const span of line.matchAll(/`(grpcurl [^`]+)`/g)) if (/ 127\.0\.0\.1:9876 | -protoset /.test(span[1]!)) out.push(span[1]!);
  }
  return out;
}

/** Parse grpcurl's output: a sequence of pretty-printed JSON objects. */
function jsonObjects(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>);
  }
  return out;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run grpcurl to completion against `address` (the README's address replaced). */
function grpcurl(args: string[], address: string): Promise<Run> {
  const a = args.map((w) => (w === README_ADDRESS ? address : w));
  return new Promise((resolve) => {
    execFile(GRPCURL, a, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A long-running grpcurl (streams): its messages as they arrive, and a way to wait for one. */
class Streaming {
  readonly child: ChildProcessWithoutNullStreams;
  private out = '';
  private err = '';
  private waiters: Array<{ match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];

  constructor(args: string[], address: string) {
    this.child = spawn(GRPCURL, args.map((w) => (w === README_ADDRESS ? address : w)));
    this.child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      for (const w of [...this.waiters]) {
        const m = this.messages.find(w.match);
        if (m) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(m);
        }
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.err += d.toString()));
  }

  get messages(): Record<string, unknown>[] {
    return jsonObjects(this.out);
  }

  /** Resolves with the first message (already received or to come) that matches. */
  next(what: string, match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const have = this.messages.find(match);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      this.child.once('exit', (code) => reject(new Error(`grpcurl exited (${code}) before ${what}:\n${this.out}\n${this.err}`)));
    });
  }

  stop(): void {
    this.child.kill();
  }
}

function expectOk(command: string, r: Run): Record<string, unknown>[] {
  assert.equal(r.code, 0, `${command}\n  exit ${r.code}\n${r.stderr}`);
  return jsonObjects(r.stdout);
}

interface RouteEvent {
  topic: string;
  type: string;
  route?: { topic: string; version: string; brokers: Array<{ brokerName: string }> };
}

/** The route events of one WatchRoutes response (grpcurl prints `{"events":[…],"progress":{…}}`). */
function events(m: Record<string, unknown>): RouteEvent[] {
  return (m.events as RouteEvent[] | undefined) ?? [];
}

const eventOf = (topic: string, type: string) => (m: Record<string, unknown>) => events(m).some((e) => e.topic === topic && e.type === type);
const eventIn = (m: Record<string, unknown>, topic: string, type: string): RouteEvent => events(m).find((e) => e.topic === topic && e.type === type)!;

describe('README grpcurl examples with the real grpcurl, by reflection only', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ warmupMs: 0, streamGraceMs: 200 });
  });
  after(() => s.stop());

  test('every example before the quick demo runs as written, in order', async () => {
    const commands = readmeCommands();
    const demoAt = commands.findIndex((c) => c.includes('Admin/CreateTopic'));
    assert.ok(demoAt > 0, 'the quick demo has a grpcurl CreateTopic');
    const seen = new Set<string>();
    let connect: Streaming | undefined;
    let watch: Streaming | undefined;
    try {
      for (const command of commands.slice(0, demoAt)) {
        const args = argv(command);
        if (args[0] === '-protoset') {
          // Offline: the descriptor set file instead of reflection, no server involved.
          const r = await new Promise<Run>((resolve) =>
            execFile(GRPCURL, args, { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
          );
          assert.equal(r.code, 0, `${command}\n${r.stderr}`);
          assert.match(r.stdout, /^nameserver\.v1\.\w+ is a service:/, r.stdout);
          seen.add('-protoset');
          continue;
        }
        assert.equal(args[0], '-plaintext', command);
        assert.ok(args.includes(README_ADDRESS), `${command}: the default address`);
        const target = args[args.length - 1]!;
        if (target === 'list') {
          const r = await grpcurl(args, s.address);
          assert.equal(r.code, 0, r.stderr);
          const services = r.stdout.trim().split('\n').sort();
          assert.deepEqual(services, [
            'grpc.health.v1.Health',
            'grpc.reflection.v1.ServerReflection',
            'grpc.reflection.v1alpha.ServerReflection',
            'nameserver.v1.Admin',
            'nameserver.v1.BrokerRegistry',
            'nameserver.v1.RouteQuery',
          ]);
          for (const name of services) assert.ok(README.includes(`\`${name}\``), `README.md names ${name}, which list prints`);
        } else if (args[args.length - 2] === 'describe') {
          const r = await grpcurl(args, s.address);
          assert.equal(r.code, 0, `${command}\n${r.stderr}`);
          assert.match(r.stdout, new RegExp(`^${target.replace(/\./g, '\\.')} is an? (service|message):`), r.stdout);
        } else if (target === 'nameserver.v1.BrokerRegistry/Connect') {
          // "then type {"seq":1,"register":{…}}": the README's RegisterBroker example as the register.
          assert.deepEqual(args.slice(0, 3), ['-plaintext', '-d', '@'], command);
          const register = commands.find((c) => c.endsWith('BrokerRegistry/RegisterBroker'))!;
          const body = argv(register)[argv(register).indexOf('-d') + 1]!;
          connect = new Streaming(args, s.address);
          connect.child.stdin.write(`{"seq":1,"register":${body}}\n`);
          const accepted = await connect.next('accepted', (m) => m.accepted !== undefined);
          assert.ok((accepted.accepted as { sessionId?: string }).sessionId, 'the session has an id');
        } else if (target === 'nameserver.v1.RouteQuery/WatchRoutes') {
          watch = new Streaming(args, s.address);
          // The held version in the README is a placeholder, so the current route is sent at once.
          const first = await watch.next('the route of orders', eventOf('orders', 'ROUTE_EVENT_TYPE_UPDATED'));
          assert.match(eventIn(first, 'orders', 'ROUTE_EVENT_TYPE_UPDATED').route!.version, /^[0-9a-f]{16,}$/);
          await watch.next('a progress message', (m) => m.progress !== undefined);
          // The Connect session from the example above ends: the route is removed by push.
          assert.ok(connect, 'the Connect example ran before WatchRoutes');
          connect.stop();
          const removed = await watch.next('the removal of orders', eventOf('orders', 'ROUTE_EVENT_TYPE_REMOVED'));
          assert.equal(eventIn(removed, 'orders', 'ROUTE_EVENT_TYPE_REMOVED').route, undefined);
        } else {
          const r = await grpcurl(args, s.address);
          const res: Record<string, unknown> | undefined = expectOk(command, r)[0];
          assert.ok(res, `${command}: printed a response`);
          if (target === 'grpc.health.v1.Health/Check') assert.equal(res.status, 'SERVING');
          if (target === 'nameserver.v1.BrokerRegistry/RegisterBroker') assert.equal(res.complete, true);
          if (target === 'nameserver.v1.RouteQuery/GetRoute') {
            const route = res.route as { topic: string; version: string; brokers: Array<{ brokerName: string }> };
            assert.equal(route.topic, 'orders');
            assert.deepEqual(route.brokers.map((b) => b.brokerName), ['b1']);
          }
          if (target === 'nameserver.v1.Admin/ListBrokers') {
            assert.ok((res.brokers as Array<{ brokerName: string }>).some((b) => b.brokerName === 'b1'), JSON.stringify(res));
          }
          if (target === 'nameserver.v1.RouteQuery/GetRoutes') {
            assert.deepEqual((res.routes as Array<{ topic: string }>).map((r) => r.topic), ['orders']);
          }
        }
        seen.add(target);
      }
    } finally {
      connect?.stop();
      watch?.stop();
    }
    for (const must of [
      'list',
      'grpc.health.v1.Health/Check',
      'nameserver.v1.BrokerRegistry/RegisterBroker',
      'nameserver.v1.BrokerRegistry/Heartbeat',
      'nameserver.v1.BrokerRegistry/ReportDelta',
      'nameserver.v1.BrokerRegistry/ReportPositions',
      'nameserver.v1.BrokerRegistry/ReportInstances',
      'nameserver.v1.BrokerRegistry/UnregisterBroker',
      'nameserver.v1.BrokerRegistry/Connect',
      'nameserver.v1.RouteQuery/GetRoute',
      'nameserver.v1.RouteQuery/GetRoutes',
      'nameserver.v1.RouteQuery/WatchRoutes',
      'nameserver.v1.Admin/ListBrokers',
      '-protoset',
    ]) {
      assert.ok(seen.has(must), `README.md has a grpcurl example of ${must}`);
    }
  });

  test('the quick demo: CreateTopic reaches both brokers, WatchRoutes shows the new route', async (t) => {
    // A server of its own: cluster c1 holds only the demo's two brokers, whatever the test above left.
    const s = await startServer({ warmupMs: 0 });
    const brokers = [new FakeBroker(s.address, 'demo-b1'), new FakeBroker(s.address, 'demo-b2')];
    t.after(async () => {
      brokers.forEach((b) => b.close());
      await s.stop();
    });
    await Promise.all(brokers.map((b) => b.connect()));
    const commands = readmeCommands();
    const create = commands.find((c) => c.includes('Admin/CreateTopic'))!;
    const watchCmd = commands.slice(commands.indexOf(create)).find((c) => c.includes('RouteQuery/WatchRoutes'))!;
    assert.ok(watchCmd, 'the demo watches the new topic with grpcurl');
    const [res] = expectOk(create, await grpcurl(argv(create), s.address));
    const results = (res!.results as Array<{ brokerName: string; outcome: string }>).map((r) => `${r.brokerName}:${r.outcome}`).sort();
    assert.deepEqual(results, ['demo-b1:COMMAND_OUTCOME_OK', 'demo-b2:COMMAND_OUTCOME_OK']);
    for (const b of brokers) assert.ok(b.topics.has('payments'), `${b.brokerName} applied the create`);
    const watch = new Streaming(argv(watchCmd), s.address);
    t.after(() => watch.stop());
    const m = await watch.next('the route of payments', eventOf('payments', 'ROUTE_EVENT_TYPE_UPDATED'));
    const route = eventIn(m, 'payments', 'ROUTE_EVENT_TYPE_UPDATED').route!;
    assert.deepEqual(route.brokers.map((b) => b.brokerName).sort(), ['demo-b1', 'demo-b2']);
  });
});

describe('grpcurl describe of the whole contract, by reflection only', () => {
  let s: Started;
  before(async () => {
    s = await startServer({ warmupMs: 0 });
  });
  after(() => s.stop());

  test('every service, message and enum of nameserver.v1 is described with its comment', async () => {
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(path.join(ROOT, 'generated', 'descriptors.binpb')));
    const core = createFileRegistry(set);
    const symbols: Array<{ name: string; kind: 'service' | 'message' | 'enum' }> = [];
    const addMessage = (m: DescMessage) => {
      if (m.proto.options?.mapEntry) return; // synthetic map entries are described with their field
      symbols.push({ name: m.typeName, kind: 'message' });
      m.nestedMessages.forEach(addMessage);
      for (const e of m.nestedEnums) symbols.push({ name: e.typeName, kind: 'enum' });
    };
    for (const file of core.files) {
      if (!file.name.startsWith('nameserver/v1/')) continue;
      for (const svc of file.services) symbols.push({ name: svc.typeName, kind: 'service' });
      file.messages.forEach(addMessage);
      for (const e of file.enums) symbols.push({ name: e.typeName, kind: 'enum' });
    }
    assert.ok(symbols.filter((x) => x.kind === 'service').length === 3 && symbols.length > 90, `the contract's symbols (${symbols.length})`);
    const failures: string[] = [];
    // Four grpcurl processes at a time.
    const queue = [...symbols];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let sym = queue.shift(); sym; sym = queue.shift()) {
          const r = await grpcurl(['-plaintext', s.address, 'describe', sym.name], s.address);
          const lines = r.stdout.split('\n');
          const header = `${sym.name} is ${sym.kind === 'enum' ? 'an enum' : `a ${sym.kind}`}:`;
          const local = sym.name.slice(sym.name.lastIndexOf('.') + 1);
          const decl = lines.findIndex((l) => l.startsWith(`${sym.kind} ${local} `));
          if (r.code !== 0) failures.push(`${sym.name}: exit ${r.code}: ${r.stderr.trim()}`);
          else if (lines[0] !== header) failures.push(`${sym.name}: first line ${JSON.stringify(lines[0])}`);
          else if (decl < 1 || !lines[decl - 1]!.startsWith('//')) failures.push(`${sym.name}: no comment above its declaration:\n${r.stdout}`);
        }
      }),
    );
    assert.deepEqual(failures, []);
  });

  test('a method resolves with its request and response types, and an unknown symbol is an error', async () => {
    const r = await grpcurl(['-plaintext', s.address, 'describe', 'nameserver.v1.RouteQuery.WatchRoutes'], s.address);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rpc WatchRoutes \( stream \.nameserver\.v1\.WatchRoutesRequest \) returns \( stream \.nameserver\.v1\.WatchRoutesResponse \)/);
    const bad = await grpcurl(['-plaintext', s.address, 'describe', 'nameserver.v1.NoSuchThing'], s.address);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Symbol not found|not found/i);
  });

  test('health and reflection themselves are described (grpc.health.v1 map fields included)', async () => {
    for (const sym of ['grpc.health.v1.Health', 'grpc.health.v1.HealthListResponse', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflectionRequest']) {
      const r = await grpcurl(['-plaintext', s.address, 'describe', sym], s.address);
      assert.equal(r.code, 0, `${sym}: ${r.stderr}`);
    }
  });
});
