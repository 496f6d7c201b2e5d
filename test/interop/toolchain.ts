/**
 * The interop toolchain (Debian packages installed by scripts/install-interop-deps.sh): find it, say
 * exactly what is missing, and build the Python stubs and the Go broker into a scratch directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const GOCODE = process.env.DEB_GOCODE ?? '/usr/share/gocode';

/** Where each missing piece comes from (Debian package names). */
const PROVIDERS: Record<string, string> = {
  python: 'python3 + python3-grpcio + python3-protobuf',
  protoc: 'protobuf-compiler',
  grpc_python_plugin: 'protobuf-compiler-grpc',
  go: 'golang-go',
  'protoc-gen-go': 'protoc-gen-go',
  'protoc-gen-go-grpc': 'protoc-gen-go-grpc',
  'google.golang.org/grpc': 'golang-google-grpc-dev',
  'google.golang.org/protobuf': 'golang-google-protobuf-dev',
  'github.com/golang/protobuf v1.5': 'golang-github-golang-protobuf-1-5-dev',
};

export interface Toolchain {
  /** A Python 3 that can `import grpc, google.protobuf` (Debian's /usr/bin/python3 first). */
  python: string | undefined;
  /** Missing pieces, each with the Debian package that provides it. */
  missing: string[];
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
}

/**
 * A Python that has the Debian gRPC modules. $INTEROP_PYTHON wins; then /usr/bin/python3 (pyenv or a
 * virtualenv first on PATH would not see Debian's dist-packages), then whatever python3 is on PATH.
 */
function findPython(): string | undefined {
  const candidates = [process.env.INTEROP_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import grpc, google.protobuf'], { stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  return undefined;
}

/** Look for every tool the interop test needs. */
export function detectToolchain(): Toolchain {
  const missing: string[] = [];
  const python = findPython();
  if (!python) missing.push('python');
  for (const tool of ['protoc', 'grpc_python_plugin', 'go', 'protoc-gen-go', 'protoc-gen-go-grpc']) {
    if (!onPath(tool)) missing.push(tool);
  }
  for (const dir of ['google.golang.org/grpc', 'google.golang.org/protobuf']) {
    if (!existsSync(path.join(GOCODE, 'src', dir))) missing.push(dir);
  }
  const golangProtobuf = path.join(GOCODE, 'src', 'github.com/golang/protobuf/proto');
  if (!existsSync(golangProtobuf) || existsSync(path.join(golangProtobuf, 'table_marshal.go'))) missing.push('github.com/golang/protobuf v1.5');
  return { python, missing: missing.map((m) => `${m} (Debian: ${PROVIDERS[m] ?? '?'})`) };
}

/** Run a build script; its output goes into the error when it fails. */
function runScript(script: string, args: string[]): void {
  try {
    execFileSync('bash', [script, ...args], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8', timeout: 180_000 });
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string; message: string };
    throw new Error(`${path.relative(ROOT, script)} failed (exit ${e.status ?? '?'}): ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Generate the Python stubs into `dir` (examples/python/gen.sh). */
export function buildPython(dir: string): void {
  runScript(path.join(ROOT, 'examples/python/gen.sh'), [dir]);
}

/** Generate and build the Go broker into `dir`; returns the binary's path (examples/go/build.sh). */
export function buildGo(dir: string): string {
  runScript(path.join(ROOT, 'examples/go/build.sh'), [dir]);
  return path.join(dir, 'bin', 'broker');
}
