/**
 * The Go SDK (sdk/go) inside `npm test`: `go vet ./...` and `go test ./...` of the module, which runs
 * its unit and integration tests, its runnable examples, and the SDK conformance suite played by the
 * Go SDK (sdk/go/internal/conformance, the scenarios of test/conformance/scenarios), each against
 * NameServer processes the Go tests start on loopback. Offline: GOPROXY=off and GOFLAGS=-mod=readonly
 * (scripts/install-test-tools.sh, the pretest, downloaded what go.sum pins), GOTOOLCHAIN=local. A
 * missing Go fails here with where to get it. The conformance numbers the Go runner measured are
 * printed as diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { goBinary } from '../interop/toolchain';
import { ROOT } from '../helpers/tools';

const MODULE = path.join(ROOT, 'sdk', 'go');
const ENV = { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local', GOWORK: 'off' };

/** Run go (or another program) with args in a directory; resolves with the exit code and the combined output. */
function go(args: string[], cwd = MODULE, program = goBinary()): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

test('Go SDK and examples: go vet ./... is clean, gofmt finds nothing to change', async () => {
  for (const dir of [MODULE, path.join(ROOT, 'examples', 'go')]) {
    const { code, output } = await go(['vet', './...'], dir);
    assert.equal(code, 0, `go vet in ${path.relative(ROOT, dir)} failed:\n${output}`);
  }
  const gofmt = await go(['-l', 'sdk/go', 'examples/go'], ROOT, path.join(path.dirname(goBinary()), 'gofmt'));
  assert.equal(gofmt.code, 0, gofmt.output);
  assert.equal(gofmt.output.trim(), '', `not gofmt-formatted (run gofmt -w):\n${gofmt.output}`);
});

test('Go SDK: go test ./... (unit, integration against real NameServers, examples, conformance)', async (t) => {
  const { code, output } = await go(['test', '-count=1', '-v', './...']);
  const lines = output.split('\n');
  for (const l of lines) {
    const m = /conformance (\S+): (.*)$/.exec(l);
    if (m) t.diagnostic(`Go conformance ${m[1]}: ${m[2]}`);
  }
  const passed = lines.filter((l) => /^\s*--- PASS/.test(l)).length;
  const failed = lines.filter((l) => /^\s*--- FAIL/.test(l));
  t.diagnostic(`go test: ${passed} passed, ${failed.length} failed`);
  assert.equal(code, 0, `go test failed:\n${failed.join('\n')}\n${output.slice(-20_000)}`);
  assert.ok(lines.some((l) => /--- PASS: TestConformance\b/.test(l)), 'the conformance suite did not run');
  // Like test/unit/no-skips.test.ts for node:test: the Go suite never passes by skipping.
  assert.deepEqual(lines.filter((l) => /--- SKIP/.test(l)), [], 'a Go test skipped');
  assert.ok(lines.some((l) => /--- PASS: Example/.test(l)), 'no runnable example ran');
});
