/**
 * Running the Python SDK's pytest suite (sdk/python) from node's test runner: pytest in the venv
 * (.tools/venv, scripts/install-test-tools.sh) with a JUnit XML report, parsed into one case per
 * Python test, so the TypeScript tests can turn each into a subtest that names it and carries its
 * traceback. The NameServer processes the Python tests start run on this Node.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { python as venvPython, ROOT } from './toolchain';

/** The Python SDK's directory (pyproject.toml, tests/). */
export const PYTHON_SDK = path.join(ROOT, 'sdk', 'python');

/** One <testcase> of the report. */
export interface PytestCase {
  /** "module::test" (the module without its "tests." prefix). */
  id: string;
  outcome: 'passed' | 'failed' | 'skipped';
  /** The failure's message and traceback. */
  detail: string;
  /** What the test recorded with record_property. */
  properties: Record<string, string>;
}

/** What a pytest run produced. */
export interface PytestRun {
  status: number | null;
  output: string;
  cases: PytestCase[];
  /** Why no report could be read (empty when it was). */
  reportError: string;
  ms: number;
}

/** Run a tool from the venv in sdk/python; its output is kept for failure messages. */
export function runInVenv(args: string[], timeoutMs: number): { status: number | null; output: string } {
  const r = spawnSync(venvPython(), args, {
    cwd: PYTHON_SDK,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NAMESERVER_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}\n${r.stderr}`.trim() };
}

const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&');

/** The test cases of a JUnit XML report as pytest writes it. */
export function parseJunit(xml: string): PytestCase[] {
  const cases: PytestCase[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (k: string) => unescape(new RegExp(`\\b${k}="([^"]*)"`).exec(m[1]!)?.[1] ?? '');
    const body = m[2] ?? '';
    const failed = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    const message = failed ? (/\bmessage="([^"]*)"/.exec(failed[2]!)?.[1] ?? '') : '';
    const properties: Record<string, string> = {};
    for (const p of body.matchAll(/<property\b[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"/g)) properties[unescape(p[1]!)] = unescape(p[2]!);
    cases.push({
      id: `${attr('classname').replace(/^tests\./, '')}::${attr('name')}`,
      outcome: failed ? 'failed' : /<skipped\b/.test(body) ? 'skipped' : 'passed',
      detail: failed ? unescape(`${message}\n${failed[3] ?? ''}`).trim() : '',
      properties,
    });
  }
  return cases;
}

/** Run pytest with `args` (paths, -k, --ignore ...) and read its report. */
export function runPytest(args: string[], timeoutMs = 240_000): PytestRun {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ns-pytest-'));
  try {
    const report = path.join(dir, 'junit.xml');
    const started = Date.now();
    const r = runInVenv(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--junitxml', report, '-o', 'junit_family=xunit1', ...args], timeoutMs);
    const ms = Date.now() - started;
    try {
      return { ...r, cases: parseJunit(readFileSync(report, 'utf8')), reportError: '', ms };
    } catch (err) {
      return { ...r, cases: [], reportError: (err as Error).message, ms };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
