/**
 * The Python SDK (sdk/python, package mq_nameserver) inside `npm test`: `mypy --strict` over the
 * package, its tests and examples/python, then its pytest suite (which starts real NameServer
 * processes on 127.0.0.1:0 with this Node). Each pytest case becomes a subtest here, so a failure
 * names the Python test and carries its traceback. The conformance scenarios run from
 * test/conformance/python.test.ts instead.
 *
 * The venv and its pinned tools come from scripts/install-test-tools.sh (`npm test` runs it first);
 * a missing tool fails here with the command that installs it. A skipped or uncollected Python test
 * fails too: nothing is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInVenv, runPytest } from '../interop/pytest';

test('Python SDK: mypy --strict is clean (package, tests, examples/python)', (t) => {
  const started = Date.now();
  const r = runInVenv(['-m', 'mypy'], 180_000);
  assert.equal(r.status, 0, `mypy --strict (sdk/python/pyproject.toml [tool.mypy]) failed:\n${r.output}`);
  assert.match(r.output, /Success: no issues found in \d+ source files/);
  t.diagnostic(`${r.output.split('\n').pop()} (${Date.now() - started} ms)`);
});

test('Python SDK: pytest against real NameServer processes', async (t) => {
  const run = runPytest(['--ignore', 'tests/test_conformance.py']);
  assert.ok(run.cases.length > 0, `pytest collected no test (exit ${run.status}; ${run.reportError}):\n${run.output}`);
  for (const c of run.cases) {
    await t.test(c.id, () => {
      assert.notEqual(c.outcome, 'skipped', `skipped (nothing may be skipped): ${c.detail}`);
      assert.equal(c.outcome, 'passed', c.detail);
    });
  }
  assert.equal(run.status, 0, `pytest exited ${run.status}:\n${run.output}`);
  t.diagnostic(`${run.cases.length} Python tests in ${run.ms} ms`);
});
