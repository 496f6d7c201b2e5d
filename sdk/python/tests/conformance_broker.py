"""A Python broker agent in a process of its own, for conformance steps that SIGKILL a broker
(``start_broker`` with ``"process": true``). Configuration: one JSON argument (nameservers, cluster,
broker_name, addresses, topics, chunk_size). Prints ``{"event": "registered", "address": ...}`` for
every NameServer that accepted the registration. It has no command handler: killed brokers only
register. SIGTERM (a cleanup, not a kill) leaves gracefully."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

from mq_nameserver import BackoffOptions, BrokerAgent, SessionInfo, TopicConfig


def registered(address: str, _info: SessionInfo) -> None:
    sys.stdout.write(json.dumps({"event": "registered", "address": address}) + "\n")
    sys.stdout.flush()


async def main(config: dict[str, Any]) -> None:
    extra: dict[str, Any] = {"chunk_size": config["chunk_size"]} if config.get("chunk_size") else {}
    agent = BrokerAgent(
        nameservers=config["nameservers"],
        cluster=config["cluster"],
        broker_name=config["broker_name"],
        addresses=config["addresses"],
        topics=[TopicConfig(**t) for t in config["topics"]],
        backoff=BackoffOptions(initial=0.05, max=1.0),
        on_registered=registered,
        on_warning=lambda err: print(f"conformance_broker: {err}", file=sys.stderr),
        **extra,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await agent.start()
    await stop.wait()
    await agent.stop()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
