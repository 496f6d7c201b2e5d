/**
 * The SDK conformance suite (test/conformance/README.md) played by the TypeScript SDKs: every scenario
 * file under test/conformance/scenarios, with NameServerClient and BrokerAgent against NameServer
 * processes on loopback. Measured numbers (failover bytes, removal times, chunks) are printed as
 * diagnostics; budgets are never asserted.
 */
import { describe, test } from 'node:test';
import { loadScenarios, ScenarioRun } from './runner';

describe('SDK conformance: TypeScript', () => {
  for (const scenario of loadScenarios()) {
    test(`${scenario.name}: ${scenario.title}`, async (t) => {
      const run = new ScenarioRun(scenario);
      await run.run();
      t.diagnostic(`conformance ${scenario.name}: ${run.reportLine() || '(no reports)'}`);
    });
  }
});
