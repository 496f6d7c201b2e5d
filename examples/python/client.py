#!/usr/bin/env python3
"""An example NameServer client on the Python SDK (``mq_nameserver.NameServerClient``, sdk/python):
``get_route`` for each topic, then a watch that follows them, printing one JSON line per result and
event:

  {"event": "get_route", "topic": "orders", "version": "...", "brokers": [...], "route": {...}}
  {"event": "get_route", "topic": "nope", "code": "NOT_FOUND", "details": "..."}
  {"event": "route", "topic": "orders", "type": "ROUTE_EVENT_TYPE_UPDATED", "version": "...", "brokers": [...], "route": {...},
   "may_be_incomplete": false}     (true: a warming replica sent it; it comes again, false, once warm)
  {"event": "route", "topic": "orders", "type": "ROUTE_EVENT_TYPE_REMOVED", "version": "", "brokers": []}
  {"event": "progress", "nameserver": "127.0.0.1:9876", "server_id": "..."}   (the watch is in sync)

The SDK keeps one WatchRoutes stream; when it breaks it moves to the next NameServer and re-subscribes
with the versions it holds (unchanged routes cost nothing). Runs until SIGTERM/SIGINT.

  .tools/venv/bin/python examples/python/client.py --nameservers 127.0.0.1:9876 --topic orders --topic audit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

import grpc.aio
from google.protobuf import json_format

from mq_nameserver import NameServerClient, Route, RouteChange


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout (the interop test reads these)."""
    sys.stdout.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
    sys.stdout.flush()


def describe(route: Route) -> dict[str, Any]:
    # Canonical proto3 JSON (lowerCamelCase names, enum names, defaults omitted): what every language's
    # protobuf runtime prints, so routes compare across languages.
    return {"version": route.version, "brokers": [b.broker_name for b in route.brokers], "route": json_format.MessageToDict(route)}


def on_change(ch: RouteChange) -> None:
    if ch.route is None:
        emit("route", topic=ch.topic, type="ROUTE_EVENT_TYPE_REMOVED", version="", brokers=[])
    else:
        emit("route", topic=ch.topic, type="ROUTE_EVENT_TYPE_UPDATED", may_be_incomplete=ch.may_be_incomplete, **describe(ch.route))


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="Example NameServer client: get_route, then watch.")
    p.add_argument("--nameservers", required=True, help="NameServer addresses, comma-separated (a host name expands to all its addresses)")
    p.add_argument("--topic", action="append", default=[], help="topic to follow (repeatable; need not exist yet)")
    args = p.parse_args(argv)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)

    async with NameServerClient(
        args.nameservers,
        on_connected=lambda ns, server_id: emit("progress", nameserver=ns, server_id=server_id),
        on_disconnected=lambda ns, err: emit("disconnected", nameserver=ns, error=str(err)),
        on_route_too_large=lambda topic, error: emit("route_error", topic=topic, error=error),
    ) as ns:
        for topic in args.topic:
            try:
                emit("get_route", topic=topic, **describe(await ns.get_route(topic)))
            except grpc.aio.AioRpcError as err:
                emit("get_route", topic=topic, code=err.code().name, details=err.details())
        with ns.watch(args.topic, on_change):
            emit("watching", topics=sorted(args.topic))
            await stop.wait()
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
