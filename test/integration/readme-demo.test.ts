/**
 * The README's quick demo, run as written: the NameServer with its console, two simulated brokers, a
 * watch, then the CLI commands (create a topic, its route, a group, its lag, its instances), and the
 * "without grpcurl" alternatives (CLI --json, the console's JSON API with curl).
 *
 * `npm start --`, `npm run broker --` and `npm run admin --` run the same entry points from the sources
 * here (the scripts build dist/ first; the packed build is tested in production.test.ts). Addresses
 * and data directories are replaced by the test's own (ephemeral ports, temporary directories).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { WatchClusterResponse } from '../../generated/nameserver/v1/admin';
import { connect, exited, spawnServer, type Clients } from '../helpers/server';

const ROOT = path.resolve(__dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The sh code blocks of a README section. */
function blocksOf(heading: RegExp): string[][] {
  const start = README.split('\n').findIndex((l) => heading.test(l));
  assert.ok(start >= 0, `README has a section ${heading}`);
  const rest = README.split('\n').slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('## '));
  const section = rest.slice(0, end < 0 ? undefined : end).join('\n');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')));
}

/** Split a command line into words ('...' quoted strings; a trailing "# comment" dropped). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[2]?.startsWith('#')) break;
    out.push(m[1] ?? m[2]!);
  }
  return out;
}

/** What `npm <script> --` runs, from the sources. */
const ENTRY: Record<string, string> = {
  start: 'src/server/main.ts',
  broker: 'src/broker-sim/main.ts',
  admin: 'src/cli/main.ts',
};

function npmArgv(w: string[]): { script: string; args: string[] } {
  if (w[0] === 'npm' && w[1] === 'start' && w[2] === '--') return { script: 'start', args: w.slice(3) };
  if (w[0] === 'npm' && w[1] === 'run' && w[3] === '--' && ENTRY[w[2]!]) return { script: w[2]!, args: w.slice(4) };
  throw new Error(`the demo has a command this test does not run: ${w.join(' ')}`);
}

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd: ROOT, timeout: 30_000, env: { ...process.env, NAMESERVER_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('README quick demo, as written', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'nameserver-demo-'));
  const children: ChildProcess[] = [];
  let grpc = '';
  let http = '';
  let c: Clients;
  /** The demo's addresses and paths → the test's. */
  let localise: (w: string) => string = (w) => w;
  const admin = (w: string[]) => run([process.execPath, '--import', 'tsx', path.join(ROOT, ENTRY.admin!), ...w.map(localise)]);

  before(async () => {
    const [background, commands] = blocksOf(/^## Quick demo/);
    assert.ok(background && commands, 'the demo has two sh blocks');
    const start = npmArgv(words(background[0]!));
    assert.equal(start.script, 'start');
    // The server, with the demo's flags but ephemeral ports.
    const args = start.args.flatMap((a, i, all) => (all[i - 1] === '--http-listen' ? ['127.0.0.1:0'] : [a]));
    const s = await spawnServer(args);
    children.push(s.child);
    grpc = s.address;
    http = `127.0.0.1:${s.httpPort}`;
    localise = (w) => w.replace('127.0.0.1:9876', grpc).replace('127.0.0.1:9877', http).replace(/^\/tmp\/demo-/, `${tmp}/`);
    c = connect(grpc);
    // The two brokers; wait for both to be members (WatchCluster: snapshot, then joins).
    const joined = new Set<string>();
    const cluster = c.admin.watchCluster({ cluster: '' });
    const both = new Promise<void>((resolve) =>
      cluster.on('data', (e: WatchClusterResponse) => {
        if (e.broker) joined.add(e.broker.brokerName);
        if (joined.has('b1') && joined.has('b2')) resolve();
      }),
    );
    cluster.on('error', () => undefined);
    for (const line of background.slice(1)) {
      const { script, args: a } = npmArgv(words(line));
      if (script !== 'broker') continue;
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, ENTRY.broker!), ...a.map(localise)], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, NAMESERVER_LOG_LEVEL: 'warn' } });
      children.push(child);
    }
    await both;
    cluster.cancel();
  });

  after(async () => {
    c?.close();
    for (const child of children.reverse()) {
      child.kill('SIGTERM');
      await exited(child);
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  test('create a topic (the watch prints it), its route, a group, its lag and its instances', async () => {
    const [background, commands] = blocksOf(/^## Quick demo/);
    const watchLine = background!.find((l) => / watch /.test(l))!;
    const { args: watchArgs } = npmArgv(words(watchLine));
    const watch = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, ENTRY.admin!), '--server', grpc, ...watchArgs], { cwd: ROOT });
    children.push(watch);
    const watched: string[] = [];
    const printed = new Promise<string>((resolve) =>
      createInterface({ input: watch.stdout! }).on('line', (l) => {
        watched.push(l);
        // The route grows as each broker reports the topic: wait for the one with both.
        if (/ UPDATED payments .*brokers=b1:rw:8\/8,b2:rw:8\/8$/.test(l)) resolve(l);
      }),
    );
    await new Promise<void>((resolve) => createInterface({ input: watch.stderr! }).on('line', (l) => /^watching/.test(l) && resolve()));

    const seen: Record<string, string> = {};
    for (const line of commands!) {
      const { script, args } = npmArgv(words(line));
      assert.equal(script, 'admin', line);
      const argv = ['--server', grpc, ...args];
      let r = await admin(argv);
      // Positions and instances arrive with the brokers' next report (every 5 s): ask again until then.
      for (let i = 0; i < 20 && r.code === 0 && /^(lag|instances)$/.test(args[0]!) && !/payments|consumer/.test(r.stdout); i++) r = await admin(argv);
      assert.equal(r.code, 0, `${line}\n${r.stdout}${r.stderr}`);
      seen[args[0]!] = r.stdout;
    }
    assert.match(seen['create-topic']!, /^c1\/b1\/0\s+OK$/m);
    assert.match(seen['create-topic']!, /^c1\/b2\/0\s+OK$/m);
    assert.match(await printed, /brokers=b1:rw:8\/8,b2:rw:8\/8$/);
    assert.match(seen.route!, /^b1\s+c1\s/m);
    assert.match(seen.route!, /^b2\s+c1\s/m);
    assert.match(seen['create-group']!, /^c1\/b1\/0\s+OK$/m);
    assert.match(seen.lag!, /payments/);
    assert.match(seen.instances!, /consumer\s+billing\s+payments/);
  });

  test('the alternatives to grpcurl: the CLI as JSON, and the console JSON API with curl', async () => {
    const blocks = blocksOf(/^## Exploring it/);
    const alternatives = blocks.find((b) => b.some((l) => l.startsWith('curl ')));
    assert.ok(alternatives, 'the section shows the alternatives');
    for (const line of alternatives) {
      const w = words(line);
      if (w[0] === 'curl') {
        const r = await run(w.map(localise));
        assert.equal(r.code, 0, r.stderr);
        assert.equal((JSON.parse(r.stdout) as { route: { topic: string } }).route.topic, 'orders');
        continue;
      }
      const { args } = npmArgv(w);
      const r = await admin(['--server', grpc, ...args]);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { route?: { topic: string }; brokers?: unknown[] };
      if (args.includes('route')) assert.equal(doc.route?.topic, 'orders');
      else assert.equal(doc.brokers?.length, 2);
    }
  });
});
