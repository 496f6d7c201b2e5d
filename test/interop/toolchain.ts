/**
 * The polyglot toolchains, each from its own registry: Python with grpcio, grpcio-tools and protobuf
 * from PyPI (the virtualenv .tools/venv, pinned in test/interop/requirements.txt) and Go 1.26 with
 * grpc-go and protobuf-go from the Go module proxy (examples/go/go.mod and sdk/go/go.mod, pinned by
 * go.sum). scripts/install-test-tools.sh installs them (`npm test` runs it first); nothing is fetched
 * here: the Go build runs with GOPROXY=off, so a module the install did not download is an error.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tool } from '../helpers/tools';

export { ROOT };

const INSTALL = 'bash scripts/install-test-tools.sh (npm test runs it first)';

/** The venv's Python (grpcio, grpcio-tools, grpcio-reflection, protobuf); throws naming the install command. */
export function python(): string {
  return tool('python');
}

/**
 * The Go toolchain: `go` on PATH, else /usr/local/go/bin/go (where the official archive unpacks);
 * throws naming where to get it.
 */
export function goBinary(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  const found = onPath.status === 0 ? onPath.stdout.trim() : '';
  if (found) return found;
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('go is not installed (neither on PATH nor at /usr/local/go/bin/go): install Go 1.26 from https://go.dev/dl, then run ' + INSTALL);
}

/** The versions the venv has, and what test/interop/requirements.txt pins (package name -> version). */
export function pythonVersions(): { installed: Record<string, string>; pinned: Record<string, string> } {
  const script =
    'import json, importlib.metadata as m\n' +
    'print(json.dumps({p: m.version(p) for p in ["grpcio", "grpcio-tools", "grpcio-reflection", "protobuf"]}))';
  const installed = JSON.parse(run(python(), ['-c', script], ROOT)) as Record<string, string>;
  const pinned: Record<string, string> = {};
  for (const line of readFileSync(path.join(ROOT, 'test/interop/requirements.txt'), 'utf8').split('\n')) {
    const m = /^([A-Za-z0-9_.-]+)==(\S+)/.exec(line.trim());
    if (m) pinned[m[1]!] = m[2]!;
  }
  return { installed, pinned };
}

/** Run a command; its output goes into the error when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(command, args, { cwd, env, stdio: 'pipe', encoding: 'utf8', timeout: 180_000 });
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string; message: string };
    throw new Error(`${path.basename(command)} ${args.join(' ')} (in ${path.relative(ROOT, cwd) || '.'}) failed (exit ${e.status ?? '?'}): ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/**
 * Check that the venv's Python imports the Python SDK (sdk/python, installed editable by
 * scripts/install-test-tools.sh; its stubs are generated from proto/ by `npm run generate`) and
 * return where it was found.
 */
export function pythonSdk(): string {
  return run(python(), ['-c', 'import mq_nameserver, mq_nameserver.v1.broker_registry_pb2_grpc as g; print(mq_nameserver.__file__)'], ROOT).trim();
}

/**
 * Build the Go broker (module examples/go, which uses sdk/go through a `replace`) into `dir`; returns
 * the binary's path. Offline: GOPROXY=off and GOFLAGS=-mod=readonly (go.sum must already cover every
 * module), GOTOOLCHAIN=local (no toolchain download either).
 */
export function buildGo(dir: string): string {
  const go = goBinary();
  const out = path.join(dir, 'broker');
  const env = { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local', GOWORK: 'off' };
  try {
    run(go, ['build', '-o', out, './broker'], path.join(ROOT, 'examples/go'), env);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nA module missing from Go's module cache is installed by: ${INSTALL}`, { cause: err });
  }
  return out;
}
