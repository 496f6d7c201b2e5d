"""The README's Python section runs as written: its broker registers (and unregisters on Ctrl-C), its
client prints the route and then the pushed changes. The snippets are taken from README.md, with only
the NameServer address replaced by a test NameServer's."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

from conftest import Spawn
from helpers import ROOT, Api, RouteObserver


def python_snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


async def test_the_readme_broker_and_client_run_as_written(spawn: Spawn) -> None:
    client_code, broker_code = python_snippets()
    assert "NameServerClient" in client_code and "BrokerAgent" in broker_code
    # A long stream grace: only the broker's unregister on Ctrl-C removes its route at once.
    ns = await spawn("--stream-grace-ms", "60000")
    api = Api(ns.address)
    observer = RouteObserver(api, ["orders"])
    broker = await asyncio.create_subprocess_exec(sys.executable, "-c", broker_code.replace("127.0.0.1:9876", ns.address))
    client: asyncio.subprocess.Process | None = None
    try:
        await observer.present("orders")
        route = observer.routes["orders"]
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-u", "-c", client_code.replace("127.0.0.1:9876", ns.address), stdout=asyncio.subprocess.PIPE
        )
        assert client.stdout is not None
        first = (await asyncio.wait_for(client.stdout.readline(), 15)).decode()
        assert first == f"{route.version} ['py-broker']\n"
        second = (await asyncio.wait_for(client.stdout.readline(), 15)).decode()
        assert second == f"orders {route.version}\n"

        broker.send_signal(signal.SIGINT)  # Ctrl-C
        await asyncio.wait_for(broker.wait(), 15)
        await observer.absent("orders")  # unregistered, not waiting out the 60 s grace
        third = (await asyncio.wait_for(client.stdout.readline(), 15)).decode()
        assert third == "orders removed\n"
    finally:
        for p in (broker, client):
            if p is not None and p.returncode is None:
                p.kill()
                await p.wait()
        observer.close()
        await api.close()
