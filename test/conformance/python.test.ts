/**
 * The SDK conformance suite (test/conformance/README.md) played by the Python SDK: its runner
 * (sdk/python/tests/conformance.py, run by pytest as tests/test_conformance.py) plays every scenario
 * file under test/conformance/scenarios with NameServerClient and BrokerAgent against NameServer
 * processes on loopback. One subtest per scenario; the measured numbers (failover bytes, removal
 * times, chunks) are printed as diagnostics, budgets never asserted.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runPytest } from '../interop/pytest';
import { ROOT } from '../interop/toolchain';

const SCENARIOS = path.join(ROOT, 'test', 'conformance', 'scenarios');

describe('SDK conformance: Python', () => {
  test('every scenario file, played by the Python SDK', async (t) => {
    assert.ok(existsSync(SCENARIOS), `no conformance scenarios at ${path.relative(ROOT, SCENARIOS)}`);
    const scenarios = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));
    const run = runPytest(['tests/test_conformance.py']);
    assert.equal(run.cases.length, scenarios.length, `pytest ran ${run.cases.length} scenarios of ${scenarios.length} (exit ${run.status}; ${run.reportError}):\n${run.output}`);
    for (const c of run.cases) {
      const name = /\[(.*)\]$/.exec(c.id)?.[1] ?? c.id;
      await t.test(name, (st) => {
        if (c.properties.conformance) st.diagnostic(c.properties.conformance);
        assert.notEqual(c.outcome, 'skipped', `skipped (nothing may be skipped): ${c.detail}`);
        assert.equal(c.outcome, 'passed', c.detail);
      });
    }
    assert.equal(run.status, 0, `pytest exited ${run.status}:\n${run.output}`);
  });
});
