#!/usr/bin/env python3
"""An example broker on the Python SDK (``mq_nameserver.BrokerAgent``, sdk/python): it registers its
topics and groups with every NameServer, reports simulated offsets, and applies admin commands to an
in-memory store. Everything it does is printed as one JSON object per line on stdout ("event":
"registered", "command", "delta", "command_result", ...), which the interop test follows.

  .tools/venv/bin/python examples/python/broker.py --nameservers 127.0.0.1:9876 --cluster c1 \\
      --broker-name py-broker --address 127.0.0.1:10911 --topic orders:8 --topic audit:4 --group billing

The virtualenv .tools/venv (``bash scripts/install-test-tools.sh``) has the package installed; elsewhere
``pip install ./sdk/python``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from mq_nameserver import (
    BrokerAgent,
    CommandHandler,
    CommandReply,
    ConsumerPosition,
    GroupConfig,
    PositionsReport,
    QueuePosition,
    RetryPolicy,
    Subscription,
    TopicConfig,
    same_group_config,
    same_topic_config,
)
from mq_nameserver.v1 import broker_registry_pb2 as br
from mq_nameserver.v1 import common_pb2 as c


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout (the interop test reads these)."""
    sys.stdout.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
    sys.stdout.flush()


class Store(CommandHandler):
    """The broker's configuration (what a real broker persists). Each command is applied here; when the
    answer is OK the agent reports the change to every NameServer (a delta) and only then answers."""

    def __init__(self, topics: list[TopicConfig], groups: list[GroupConfig]) -> None:
        self.topics = {t.name: t for t in topics}
        self.groups = {g.name: g for g in groups}
        self.started = time.time()

    async def create_topic(self, topic: TopicConfig) -> CommandReply:
        held = self.topics.get(topic.name)
        if held is not None:
            if same_topic_config(held, topic):
                return CommandReply(c.COMMAND_OUTCOME_OK)
            return CommandReply(c.COMMAND_OUTCOME_ALREADY_EXISTS, f"topic {topic.name} exists with another configuration")
        self.topics[topic.name] = topic
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def update_topic(self, topic: TopicConfig) -> CommandReply:
        if topic.name not in self.topics:
            return CommandReply(c.COMMAND_OUTCOME_NOT_FOUND, f"no topic {topic.name}")
        self.topics[topic.name] = topic
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def delete_topic(self, name: str) -> CommandReply:
        if self.topics.pop(name, None) is None:
            return CommandReply(c.COMMAND_OUTCOME_NOT_FOUND, f"no topic {name}")
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def create_group(self, group: GroupConfig) -> CommandReply:
        held = self.groups.get(group.name)
        if held is not None:
            if same_group_config(held, group):
                return CommandReply(c.COMMAND_OUTCOME_OK)
            return CommandReply(c.COMMAND_OUTCOME_ALREADY_EXISTS, f"group {group.name} exists with another configuration")
        self.groups[group.name] = group
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def update_group(self, group: GroupConfig) -> CommandReply:
        if group.name not in self.groups:
            return CommandReply(c.COMMAND_OUTCOME_NOT_FOUND, f"no group {group.name}")
        self.groups[group.name] = group
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def delete_group(self, name: str) -> CommandReply:
        if self.groups.pop(name, None) is None:
            return CommandReply(c.COMMAND_OUTCOME_NOT_FOUND, f"no group {name}")
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def set_permission(self, permission: c.Permission.ValueType) -> CommandReply:
        return CommandReply(c.COMMAND_OUTCOME_OK)  # the agent re-registers: the permission travels in the registration

    def positions(self) -> PositionsReport:
        """Simulated offsets: every queue grows a little with time; groups lag 10 messages behind."""
        grown = int((time.time() - self.started) * 10)
        qp, cp = [], []
        for name in sorted(self.topics):
            for q in range(self.topics[name].read_queue_nums):
                max_offset = 100 * (q + 1) + grown
                qp.append(QueuePosition(topic=name, queue_id=q, min_offset=0, max_offset=max_offset))
                cp += [ConsumerPosition(group=g, topic=name, queue_id=q, committed_offset=max(0, max_offset - 10)) for g in sorted(self.groups)]
        emit("positions", queue_positions=len(qp), consumer_positions=len(cp))
        return PositionsReport(queue_positions=qp, consumer_positions=cp)


def describe(cmd: br.Command) -> dict[str, Any]:
    """The interesting part of a command, for the log line."""
    action = cmd.WhichOneof("action")
    if action == "create_topic" or action == "update_topic":
        t = getattr(cmd, action).topic
        return {"topic": t.name, "read_queue_nums": t.read_queue_nums, "write_queue_nums": t.write_queue_nums}
    if action == "create_group" or action == "update_group":
        return {"group": getattr(cmd, action).group.name}
    if action == "delete_topic" or action == "delete_group":
        return {"name": getattr(cmd, action).name}
    if action == "set_permission":
        return {"permission": cmd.set_permission.permission}
    return {}


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="Example broker on the Python SDK's BrokerAgent.")
    p.add_argument("--nameservers", required=True, help="NameServer addresses, comma-separated (one session each)")
    p.add_argument("--cluster", default="c1")
    p.add_argument("--broker-name", required=True)
    p.add_argument("--broker-id", type=int, default=0, help="0 = leader of the replica set")
    p.add_argument("--address", action="append", default=[], help="host:port clients use (repeatable)")
    p.add_argument("--zone", default="")
    p.add_argument("--topic", action="append", default=[], help="NAME[:QUEUES] (repeatable; QUEUES default 4)")
    p.add_argument("--group", action="append", default=[], help="consumer group subscribed to every topic (repeatable)")
    p.add_argument("--heartbeat-ms", type=int, default=10000, help="heartbeat interval on the stream")
    p.add_argument("--positions-ms", type=int, default=5000, help="positions report interval")
    args = p.parse_args(argv)

    topics = []
    for spec in args.topic:
        name, _, queues = spec.partition(":")
        n = int(queues) if queues else 4
        topics.append(TopicConfig(name=name, read_queue_nums=n, write_queue_nums=n, permission=c.PERMISSION_READ_WRITE, message_type=c.MESSAGE_TYPE_NORMAL))
    groups = [
        GroupConfig(
            name=g,
            consume_mode=c.CONSUME_MODE_CLUSTERING,
            subscriptions=[Subscription(topic=t.name, expression="*", filter_type=c.FILTER_TYPE_TAG) for t in topics],
            retry_policy=RetryPolicy(max_attempts=16, initial_backoff_ms=1000, max_backoff_ms=60000),
        )
        for g in args.group
    ]
    store = Store(topics, groups)
    agent = BrokerAgent(
        nameservers=args.nameservers,
        cluster=args.cluster,
        broker_name=args.broker_name,
        broker_id=args.broker_id,
        addresses=args.address or ["127.0.0.1:10911"],
        zone=args.zone,
        software_version="python-example-2.0",
        topics=topics,
        groups=groups,
        handler=store,
        positions=store.positions,
        report_interval=args.positions_ms / 1000,
        heartbeat_interval=args.heartbeat_ms / 1000,
        on_registered=lambda ns, info: emit(
            "registered", nameserver=ns, session_id=info.session_id, server_id=info.server_id, grace_ms=round(info.grace * 1000),
            broker_name=args.broker_name, epoch=agent.epoch, counter=agent.counter, topics=sorted(store.topics),
        ),
        on_disconnected=lambda ns, err: emit("disconnected", nameserver=ns, error=str(err)),
        on_delta=lambda ns, d: emit(
            "delta", nameserver=ns, counter=d.data_version.counter, upsert_topics=[t.name for t in d.upsert_topics],
            delete_topics=list(d.delete_topics), upsert_groups=[g.name for g in d.upsert_groups], delete_groups=list(d.delete_groups),
        ),
        on_command=lambda cmd: emit("command", command_id=cmd.command_id, action=cmd.WhichOneof("action"), detail=describe(cmd)),
        on_command_result=lambda ns, r: emit(
            "command_result", nameserver=ns, command_id=r.command_id, outcome=c.CommandOutcome.Name(r.outcome), message=r.message
        ),
        on_resync=lambda ns, reason: emit("reregister", nameserver=ns, reason=reason),
        on_warning=lambda err: emit("warning", error=str(err)),
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await agent.start()
    await stop.wait()
    await agent.stop()  # UnregisterBroker everywhere: its routes go at once
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
