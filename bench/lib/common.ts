/**
 * Shared bench plumbing: machine facts, result files, markdown tables, child processes, Debian
 * packages, free loopback ports and small statistics. Every server and load generator the suite
 * starts listens on or talks to 127.0.0.1 only.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** Where the tables go. */
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
/** Profiles, h2load logs and other large artefacts (git-ignored). */
export const RAW_DIR = path.join(RESULTS_DIR, 'raw');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wall clock in milliseconds with sub-millisecond resolution, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** An integer from the environment (bench knobs), or the default. */
export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

/** Whether BENCH_PROFILE=1 asks for CPU profiles even when the targets are met. */
export const FORCE_PROFILE = process.env.BENCH_PROFILE === '1';

// ---------------------------------------------------------------------------------------------------
// Machine and results

/** What the results were measured on. */
export interface Machine {
  date: string;
  /** Commit measured, and how many files under src/ differ from it. */
  code: string;
  nproc: number;
  cpu: string;
  node: string;
  loadavg: string;
  memGiB: number;
}

export function machine(): Machine {
  let cpu = 'unknown';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    /* not Linux */
  }
  let nproc = os.availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* keep availableParallelism */
  }
  let code = 'unknown commit';
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'generated', 'proto'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    code = dirty ? `${sha} + ${dirty} uncommitted file(s) under src/ generated/ proto/` : sha;
  } catch {
    /* not a git checkout */
  }
  return {
    date: new Date().toISOString(),
    code,
    nproc,
    cpu,
    node: process.version,
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** A markdown table; columns whose cells all look numeric are right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  const cell = (r: (string | number)[], i: number) => String(r[i] ?? '').trim();
  const numeric = (i: number) =>
    rows.some((r) => cell(r, i) !== '') && rows.every((r) => cell(r, i) === '' || /^[-+−~≈]?[\d,.]+\s*(%|ms|µs|s|×|MiB|B)?$/.test(cell(r, i)));
  return [line(headers), line(headers.map((_, i) => (numeric(i) ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

/** One checked target: what, measured value, target, verdict text (from `verdict()`). */
export interface VerdictRow {
  check: string;
  value: string;
  target: string;
  verdict: string;
}

/**
 * Write `bench/results/<part>.md` (header: command, date, machine; then the verdicts, then the body)
 * and print it. The verdicts also go to `results/raw/<part>.verdicts.json` for the summary.
 */
export function writeResult(part: string, title: string, body: string, startedAt: Machine, extraTools: string[] = [], verdicts: VerdictRow[] = []): string {
  const cmd = `npm run bench:${part}`;
  const m = startedAt;
  const knobs = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const md = [
    `# ${title}`,
    '',
    `- command: \`${knobs ? `${knobs} ` : ''}${cmd}\``,
    `- date: ${m.date}`,
    `- code: ${m.code}`,
    `- machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}, ${m.memGiB} GiB, load average at start ${m.loadavg}`,
    `- node ${m.node}${extraTools.length ? `; ${extraTools.join('; ')}` : ''}`,
    `- ${serverModeLine()}`,
    '',
    ...(verdicts.length
      ? ['## Verdicts', '', table(['check', 'value', 'target', 'verdict'], verdicts.map((v) => [v.check, v.value, v.target, v.verdict])), '', '## Details', '']
      : []),
    body.trim(),
    '',
  ].join('\n');
  mkdirSync(RAW_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${part}.md`);
  writeFileSync(file, md);
  writeFileSync(path.join(RAW_DIR, `${part}.verdicts.json`), JSON.stringify(verdicts));
  process.stdout.write(`\n${md}\n(written to ${path.relative(ROOT, file)})\n`);
  return file;
}

// ---------------------------------------------------------------------------------------------------
// Numbers

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : String(n);

export const mib = (bytes: number) => fmt(bytes / 2 ** 20, 1);

/** "✅ 0.93 ≥ 0.9" / "❌ 0.80 < 0.9 (−11 %)" */
export function verdict(value: number, target: number, higherIsBetter: boolean, digits = 2, unit = ''): string {
  const ok = higherIsBetter ? value >= target : value <= target;
  const v = `${fmt(value, digits)}${unit}`;
  const t = `${fmt(target, digits)}${unit}`;
  if (ok) return `met (${v} ${higherIsBetter ? '≥' : '≤'} ${t})`;
  const miss = higherIsBetter ? (1 - value / target) * 100 : (value / target - 1) * 100;
  return `**missed** (${v} ${higherIsBetter ? '<' : '>'} ${t}: ${fmt(miss, 1)} % ${higherIsBetter ? 'short' : 'over'})`;
}

// ---------------------------------------------------------------------------------------------------
// Processes

/** Node flags that load TypeScript through tsx. */
export const TSX = ['--import', 'tsx'];

/** Start a TypeScript script in its own node process (cwd: repo root). */
export function spawnTs(script: string, args: string[], opts: SpawnOptions & { nodeFlags?: string[] } = {}): ChildProcess {
  const { nodeFlags = [], ...rest } = opts;
  // tsx first: flags after it may --import TypeScript preloads.
  return spawn(process.execPath, [...TSX, ...nodeFlags, path.join(ROOT, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    ...rest,
  });
}

/** Resolve with the first match of `re` on the child's stdout (rejects if it exits first). */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 60_000, what = 'line'): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${what}: not seen within ${timeoutMs} ms; output: ${buf.slice(-2000)}`)), timeoutMs);
    const onExit = (code: number | null, sig: string | null) => done(new Error(`${what}: process exited (${code ?? sig}) first: ${buf.slice(-2000)}`));
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) done(undefined, m);
    };
    const done = (err?: Error, m?: RegExpExecArray) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout!.off('data', onData);
      if (err) reject(err);
      else resolve(m!);
    };
    child.once('exit', onExit);
    child.stdout!.on('data', onData);
  });
}

/** A NameServer (src/server/main.ts) in its own process. */
export interface NsProcess {
  child: ChildProcess;
  port: number;
  address: string;
  pid: number;
}

/**
 * How the parts run the NameServer: `compiled` (default) is what production runs, `node
 * dist/src/server/main.js` after `npm run build` (built once per part when dist/ is older than its
 * sources, by scripts/build-if-needed.sh); BENCH_SERVER=tsx runs src/server/main.ts through tsx.
 */
export const SERVER_MODE: 'compiled' | 'tsx' = process.env.BENCH_SERVER === 'tsx' ? 'tsx' : 'compiled';

/** How the server ran, for the results header. */
export function serverModeLine(): string {
  return SERVER_MODE === 'compiled'
    ? 'NameServer compiled (`npm run build`, `node dist/src/server/main.js`), as in production'
    : 'NameServer from the sources (`node --import tsx src/server/main.ts`, BENCH_SERVER=tsx)';
}

let built = false;

/** Build dist/ if it is missing or older than its sources (once per process). */
export function ensureBuilt(): void {
  if (built || SERVER_MODE !== 'compiled') return;
  execFileSync('bash', [path.join(ROOT, 'scripts/build-if-needed.sh')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  built = true;
}

/**
 * Start the NameServer with `--listen 127.0.0.1:0 --warmup-ms 0 [args]` and NAMESERVER_LOG_LEVEL=info
 * (the port is read from the "listening" line), compiled or through tsx (SERVER_MODE). Its stdout is
 * drained.
 */
export async function spawnNameServer(args: string[] = [], nodeFlags: string[] = [], ipc = false, env: NodeJS.ProcessEnv = {}): Promise<NsProcess> {
  const serverArgs = ['--listen', '127.0.0.1:0', '--warmup-ms', '0', ...args];
  const stdio: SpawnOptions['stdio'] = ['ignore', 'pipe', 'inherit', ...(ipc ? (['ipc'] as const) : [])];
  const fullEnv = { ...process.env, NAMESERVER_LOG_LEVEL: 'info', ...env };
  let child: ChildProcess;
  if (SERVER_MODE === 'compiled') {
    ensureBuilt();
    child = spawn(process.execPath, [...nodeFlags, path.join(ROOT, 'dist/src/server/main.js'), ...serverArgs], { cwd: ROOT, stdio, env: fullEnv });
  } else {
    child = spawnTs('src/server/main.ts', serverArgs, { nodeFlags, env: fullEnv, stdio });
  }
  const m = await waitForLine(child, /"port":(\d+)/, 60_000, 'NameServer listening');
  child.stdout!.resume();
  const port = Number(m[1]);
  return { child, port, address: `127.0.0.1:${port}`, pid: child.pid! };
}

/** Signal a child and wait until it has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

/** VmRSS of a process, in bytes (from /proc/PID/status). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

let clockTicks: number | undefined;

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat. */
export function cpuSecondsOf(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime) of proc(5); the slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Peak RSS (VmHWM) of a process, in bytes. */
export function peakRssOf(pid: number): number {
  const m = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Reset a process's peak RSS to its current RSS (writes 5 to /proc/PID/clear_refs, Linux ≥ 4.0), so
 * VmHWM afterwards is the peak of what follows. Returns false if the kernel refused.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Wait until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------
// Debian packages

function have(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;

/** Make sure `binary` exists; install Debian package `pkg` with apt-get if it does not. */
export function ensureBinary(binary: string, pkg: string): void {
  if (have(binary)) return;
  process.stderr.write(`[bench] ${binary} missing: apt-get install ${pkg}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  if (!have(binary)) throw new Error(`${binary} still missing after installing ${pkg}`);
}

/** First line of `cmd --version`-like output, for the results header. */
export function toolVersion(cmd: string, args: string[]): string {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim())!.trim();
  } catch {
    return `${cmd}: unknown version`;
  }
}

/** Run a part's main and exit non-zero on failure (bench entry points). */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** Log a progress line to stderr (results go to stdout). */
export function note(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------------
// The in-server probe (probe.mjs)

/** Node flags that preload the probe (plain JS) into a NameServer (spawn it with `ipc = true`). */
export const PROBE_FLAGS = ['--expose-gc', '--import', path.join(ROOT, 'bench/lib/probe.mjs')];

let nextProbeId = 1;

/** One request to the probe of a NameServer spawned with PROBE_FLAGS and an IPC channel. */
export function probe<T = object>(ns: Pick<NsProcess, 'child'>, req: { type: 'mem' | 'snapshot' | 'cpu-start' | 'cpu-stop' | 'heap-start' | 'heap-stop'; file?: string }): Promise<T> {
  const id = nextProbeId++;
  const reply = new Promise<T>((resolve, reject) => {
    const on = (m: { type: string; id: number; error?: string }) => {
      if (m.type !== req.type || m.id !== id) return;
      ns.child.off('message', on);
      if (m.error) reject(new Error(`probe ${req.type}: ${m.error}`));
      else resolve(m as T);
    };
    ns.child.on('message', on);
  });
  ns.child.send({ ...req, id });
  return reply;
}
