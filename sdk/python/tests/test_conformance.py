"""The SDK conformance suite (test/conformance/README.md) played by the Python SDK: every scenario file
under test/conformance/scenarios, with NameServerClient and BrokerAgent against NameServer processes
on loopback. Measured numbers (failover bytes, removal times, chunks) are recorded as the test's
"conformance" property (the TypeScript runner prints them); budgets are never asserted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conformance import ScenarioRun, load_scenarios

SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
async def test_scenario(scenario: dict[str, Any], record_property: Callable[[str, object], None]) -> None:
    run = ScenarioRun(scenario)
    try:
        await run.run()
    finally:
        line = f"conformance {scenario['name']}: {run.report_line() or '(no reports)'}"
        record_property("conformance", line)
        print(line)
