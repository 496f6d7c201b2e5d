/**
 * The Python SDK (sdk/python, package mq_nameserver) inside `npm test`: `mypy --strict` over the
 * package, its tests and examples/python, then its pytest suite (which starts real NameServer
 * processes on 127.0.0.1:0 with this Node). Each pytest case becomes a subtest here, so a failure
 * names the Python test and carries its traceback.
 *
 * The venv and its pinned tools come from scripts/install-test-tools.sh (`npm test` runs it first);
 * a missing tool fails here with the command that installs it. A skipped or uncollected Python test
 * fails too: nothing is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { python as venvPython, ROOT } from '../interop/toolchain';

const SDK = path.join(ROOT, 'sdk', 'python');

/** Run a tool from the venv in sdk/python; its output is kept for the failure message. */
function runPython(args: string[], timeoutMs: number): { status: number | null; output: string } {
  const r = spawnSync(venvPython(), args, {
    cwd: SDK,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NAMESERVER_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}\n${r.stderr}`.trim() };
}

/** One <testcase> of a JUnit XML report. */
interface Case {
  name: string;
  classname: string;
  seconds: number;
  outcome: 'passed' | 'failed' | 'skipped';
  detail: string;
}

const unescape = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

/** The test cases of pytest's --junitxml report. */
function parseJunit(xml: string): Case[] {
  const cases: Case[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (k: string) => unescape(new RegExp(`\\b${k}="([^"]*)"`).exec(m[1]!)?.[1] ?? '');
    const body = m[2] ?? '';
    const failed = /<(failure|error)\b[^>]*?(?:message="([^"]*)")?[^>]*>([\s\S]*?)<\/\1>/.exec(body) ?? /<(failure|error)\b[^>]*?message="([^"]*)"[^>]*\/>/.exec(body);
    const skipped = /<skipped\b/.test(body);
    cases.push({
      name: attr('name'),
      classname: attr('classname'),
      seconds: Number(attr('time')),
      outcome: failed ? 'failed' : skipped ? 'skipped' : 'passed',
      detail: failed ? unescape(`${failed[2] ?? ''}\n${failed[3] ?? ''}`).trim() : '',
    });
  }
  return cases;
}

test('Python SDK: mypy --strict is clean (package, tests, examples/python)', (t) => {
  const started = Date.now();
  const r = runPython(['-m', 'mypy'], 180_000);
  assert.equal(r.status, 0, `mypy --strict (sdk/python/pyproject.toml [tool.mypy]) failed:\n${r.output}`);
  assert.match(r.output, /Success: no issues found in \d+ source files/);
  t.diagnostic(`${r.output.split('\n').pop()} (${Date.now() - started} ms)`);
});

test('Python SDK: pytest against real NameServer processes', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ns-pytest-'));
  try {
    const report = path.join(dir, 'junit.xml');
    const started = Date.now();
    const r = runPython(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--junitxml', report, '-o', 'junit_family=xunit1'], 240_000);
    const elapsed = Date.now() - started;
    let cases: Case[] = [];
    try {
      cases = parseJunit(readFileSync(report, 'utf8'));
    } catch (err) {
      assert.fail(`pytest wrote no report (exit ${r.status}): ${(err as Error).message}\n${r.output}`);
    }
    assert.ok(cases.length > 0, `pytest collected no test (exit ${r.status}):\n${r.output}`);
    for (const c of cases) {
      await t.test(`${c.classname.replace(/^tests\./, '')}::${c.name}`, () => {
        assert.notEqual(c.outcome, 'skipped', `skipped (nothing may be skipped): ${c.detail}`);
        assert.equal(c.outcome, 'passed', c.detail);
      });
    }
    assert.equal(r.status, 0, `pytest exited ${r.status}:\n${r.output}`);
    t.diagnostic(`${cases.length} Python tests in ${elapsed} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
