/**
 * What production runs, checked by running it: the package is packed (`npm pack`, whose prepack
 * builds dist/) from a copy of the sources in a temporary directory, installed the way the image
 * installs it (`npm install --omit=dev`: no tsx, no TypeScript, no esbuild), and then:
 *
 *  - the server is started exactly as the Dockerfile's ENTRYPOINT says, and the Dockerfile's
 *    HEALTHCHECK command passes against it; it writes nothing into its own files (the image's root
 *    filesystem is read-only);
 *  - the SDKs load by package name (`mq-nameserver/client`, `mq-nameserver/broker-agent`) in a
 *    project of their own and work against that server;
 *  - the CLI binary (`nameserver-admin`) and the server binary (`nameserver`) run.
 *
 * Nothing is written into the working tree: the pack happens in the temporary copy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exited } from '../helpers/server';

const ROOT = path.resolve(__dirname, '..', '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** What the package is built from (package.json "files" plus the build's inputs). */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.sh', 'src', 'generated', 'proto', 'bin', 'deploy/healthcheck.ts', 'README.md', 'Dockerfile'];

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions (continuations joined, comments dropped), each with its stage index. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    assert.ok(m, `Dockerfile: cannot read ${JSON.stringify(full)}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!, stage });
  }
  return out;
}

/** The final stage's exec-form ENTRYPOINT + CMD, and its HEALTHCHECK command. */
function imageCommands(): { entrypoint: string[]; healthcheck: string[]; workdir: string } {
  const ins = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const last = Math.max(...ins.map((i) => i.stage));
  const final = ins.filter((i) => i.stage === last);
  const json = (op: string) => {
    const args = final.filter((i) => i.op === op).at(-1)?.args.trim() ?? '[]';
    assert.ok(args.startsWith('['), `${op} uses the exec form (no shell in front of node): ${args}`);
    return JSON.parse(args) as string[];
  };
  const hc = final.filter((i) => i.op === 'HEALTHCHECK').at(-1)?.args ?? '';
  const cmd = /\bCMD\s+(\[.*\])\s*$/.exec(hc);
  assert.ok(cmd, `HEALTHCHECK has an exec-form CMD: ${hc}`);
  const workdir = final.filter((i) => i.op === 'WORKDIR').at(-1)?.args ?? '/';
  return { entrypoint: [...json('ENTRYPOINT'), ...json('CMD')], healthcheck: JSON.parse(cmd[1]!) as string[], workdir };
}

/** A loopback port nothing listens on (for a server that must be told its port in advance). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Every file under dir with its size and modification time (to see that nothing was written). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        out.set(path.relative(dir, p), `${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('production: the packed package, installed without dev dependencies, run as the image runs it', () => {
  let tmp: string;
  let app: string; // a project that installed the tarball
  let pkgDir: string; // node_modules/mq-nameserver inside it
  let server: ChildProcess | undefined;
  let port = 0;
  const env = () => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NAMESERVER_') && k !== 'NODE_OPTIONS'));
    return { ...clean, NODE_ENV: 'production', NAMESERVER_LISTEN: `127.0.0.1:${port}`, NAMESERVER_LOG_LEVEL: 'info' };
  };

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'nameserver-production-'));
    const src = path.join(tmp, 'src-copy');
    for (const f of SOURCES) cpSync(path.join(ROOT, f), path.join(src, f), { recursive: true });
    // The build needs the dev tools (tsc); the copy borrows the checkout's node_modules.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
    const packed = execFileSync(NPM, ['pack', '--silent', '--pack-destination', tmp], { cwd: src, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
    const tarball = path.join(tmp, packed.trim().split('\n').at(-1)!);
    app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const installed = await run(NPM, ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
    assert.equal(installed.code, 0, `npm install of the tarball failed:\n${installed.stderr}`);
    pkgDir = path.join(app, 'node_modules', 'mq-nameserver');
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exited(server);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('it ships compiled JavaScript and no TypeScript toolchain: no .ts sources, no tsx, typescript or esbuild installed', () => {
    const files = [...snapshot(pkgDir).keys()];
    assert.ok(files.includes('dist/src/server/main.js') && files.includes('dist/deploy/healthcheck.js') && files.includes('dist/generated/descriptors.binpb'), 'the server, the health check and the descriptor set are built');
    assert.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
    for (const devOnly of ['tsx', 'typescript', 'esbuild', 'google-protobuf']) {
      assert.throws(() => require.resolve(devOnly, { paths: [app] }), `${devOnly} is not installed with --omit=dev`);
    }
  });

  test('the server starts as the image ENTRYPOINT starts it; the image HEALTHCHECK passes; nothing is written to its files', async (t) => {
    const { entrypoint, healthcheck, workdir } = imageCommands();
    assert.equal(entrypoint[0], 'node', 'node is PID 1');
    assert.equal(workdir, '/app', 'the commands are relative to /app, where the image puts the package');
    port = await freePort();
    const before = snapshot(pkgDir);
    const started = process.hrtime.bigint();
    server = spawn(entrypoint[0]!, [...entrypoint.slice(1), '--warmup-ms', '0'], { cwd: pkgDir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      server!.once('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
      server!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"NameServer listening"')) resolve();
      });
      server!.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    });
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const check = await run(healthcheck[0]!, healthcheck.slice(1), pkgDir, env());
    assert.equal(check.code, 0, `HEALTHCHECK ${healthcheck.join(' ')}: ${check.stdout}${check.stderr}`);
    const rss = Number(readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
    t.diagnostic(`compiled server: ready in ${readyMs.toFixed(0)} ms, RSS ${rss.toFixed(0)} MiB`);
    assert.deepEqual([...snapshot(pkgDir)].filter(([f, v]) => before.get(f) !== v), [], 'the server wrote nothing into its package');
  });

  test('the SDKs load by package name in a project of their own and work against that server', async () => {
    assert.ok(port > 0, 'the server test ran first');
    const script = `
      const { BrokerAgent } = require('mq-nameserver/broker-agent');
      const { NameServerClient } = require('mq-nameserver/client');
      (async () => {
        const agent = new BrokerAgent({ nameservers: '127.0.0.1:${port}', cluster: 'pkg', brokerName: 'pkg-b1', addresses: ['127.0.0.1:10911'], topics: ['pkg-topic'], handler: {} });
        const registered = new Promise((r) => agent.once('registered', r));
        await agent.start();
        await registered;
        const client = new NameServerClient({ nameservers: ['127.0.0.1:${port}'] });
        const route = await client.getRoute('pkg-topic');
        console.log(JSON.stringify({ topic: route.topic, brokers: route.brokers.map((b) => b.brokerName) }));
        client.close();
        await agent.stop();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = await run(process.execPath, ['-e', script], app, { ...process.env, NODE_OPTIONS: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { topic: 'pkg-topic', brokers: ['pkg-b1'] });
    assert.ok(readFileSync(path.join(pkgDir, 'dist/src/client/index.d.ts'), 'utf8').includes('NameServerClient'), 'type declarations ship');
  });

  test('the binaries run: nameserver-admin against the server, nameserver --help', async () => {
    const bin = path.join(app, 'node_modules', '.bin');
    const help = await run(path.join(bin, 'nameserver-admin'), ['--help'], app);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: nameserver-admin /m);
    assert.match(help.stdout, /check-replicas/);
    assert.match(help.stdout, /^Exit codes:$/m);
    const version = await run(path.join(bin, 'nameserver-admin'), ['--version'], app);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const cluster = await run(path.join(bin, 'nameserver-admin'), ['--server', `127.0.0.1:${port}`, 'cluster'], app);
    assert.equal(cluster.code, 0, cluster.stderr);
    assert.match(cluster.stdout, /^server\s+\S+ \(version /m);
    const serverHelp = await run(path.join(bin, 'nameserver'), ['--help'], app);
    assert.equal(serverHelp.code, 0, serverHelp.stderr);
    assert.match(serverHelp.stdout, /--listen/);
  });
});
