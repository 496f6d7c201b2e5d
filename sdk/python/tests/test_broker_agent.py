"""BrokerAgent against real NameServer processes: sessions with every replica, deltas on the held
version, reconnect after a NameServer restart, re-register when a NameServer lost the broker,
positions and instances, graceful leave, re-resolution, bearer tokens, and admin commands applied by
the broker's handler with the change reported before the result. (The 100,000-topic registration in
chunks is the conformance scenario chunked-registration-100k, tests/test_conformance.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import grpc
import grpc.aio
import pytest
from conftest import Spawn
from helpers import Api, Events, NameServerProcess, RouteObserver, unique

from mq_nameserver import (
    BackoffOptions,
    BrokerAgent,
    ClientInstance,
    CommandHandler,
    CommandReply,
    ConsumerPosition,
    GroupConfig,
    PositionsReport,
    QueuePosition,
    Subscription,
    TopicConfig,
    same_topic_config,
)
from mq_nameserver.v1 import admin_pb2 as adm
from mq_nameserver.v1 import broker_registry_pb2 as br
from mq_nameserver.v1 import common_pb2 as c

FAST = BackoffOptions(initial=0.02, max=0.3)


def new_agent(nameservers: Sequence[str], events: Events | None = None, **over: Any) -> BrokerAgent:
    """An agent for c1/<broker_name>/0 with fast reconnects and no timers unless a test asks for them."""
    ev = events or Events()
    options: dict[str, Any] = {
        "nameservers": nameservers,
        "cluster": "c1",
        "broker_name": "b1",
        "addresses": ["127.0.0.1:10911"],
        "backoff": FAST,
        "heartbeat_interval": 0,
        "report_interval": 60,
        "resolve_interval": 0,
        "on_registered": ev.cb("registered"),
        "on_disconnected": ev.cb("disconnected"),
        "on_resync": ev.cb("resync"),
        "on_rejected": ev.cb("rejected"),
        "on_reported": ev.cb("reported"),
        "on_command": ev.cb("command"),
        "on_delta": ev.cb("delta"),
        "on_command_result": ev.cb("command_result"),
        "on_warning": ev.cb("warning"),
    }
    options.update(over)
    return BrokerAgent(**options)


async def registered_with(events: Events, addresses: Sequence[str]) -> None:
    for address in addresses:
        await events.wait("registered", lambda a, _: a == address)


def stats(agent: BrokerAgent, address: str) -> Any:
    found = [s for s in agent.session_stats() if s.address == address]
    assert found, f"no session for {address}"
    return found[0]


async def test_registers_with_two_nameservers_and_both_serve_the_route(spawn: Spawn) -> None:
    s1, s2 = await asyncio.gather(spawn(), spawn())
    events = Events()
    agent = new_agent([s1.address, s2.address], events, topics=["a", TopicConfig(name="b", read_queue_nums=2)], groups=["g"])
    apis = [Api(s1.address), Api(s2.address)]
    try:
        await agent.start()
        await registered_with(events, [s1.address, s2.address])
        for a in apis:
            route = await a.route("b")
            assert route is not None
            assert [(x.broker_name, x.read_queue_nums, x.write_queue_nums) for x in route.brokers] == [("b1", 2, 8)]
            brokers = (await a.admin.ListBrokers(adm.ListBrokersRequest(cluster="c1"))).brokers
            assert [(b.broker_name, b.data_version.epoch, b.topic_count, b.group_count) for b in brokers] == [("b1", agent.epoch, 2, 1)]
        assert {s.address: (s.phase, s.held_counter, s.registrations) for s in agent.session_stats()} == {
            s1.address: ("ready", 1, 1),
            s2.address: ("ready", 1, 1),
        }
    finally:
        await agent.stop()
        for a in apis:
            await a.close()


async def test_upsert_and_delete_reach_every_nameserver_as_deltas_on_the_held_version(spawn: Spawn) -> None:
    s1, s2 = await asyncio.gather(spawn(), spawn())
    events = Events()
    agent = new_agent([s1.address, s2.address], events, topics=["a"])
    apis = [Api(s1.address), Api(s2.address)]
    observers: list[RouteObserver] = []
    try:
        await agent.start()
        await registered_with(events, [s1.address, s2.address])
        observers = [RouteObserver(a, ["a", "b", "c"]) for a in apis]
        agent.upsert_topics(["b", TopicConfig(name="c", read_queue_nums=3, write_queue_nums=3)])
        agent.upsert_topics(["b"])  # unchanged: no delta, no new version
        agent.delete_topics(["a"])
        for o in observers:
            await o.until("b and c present, a gone", lambda r: "b" in r and "c" in r and "a" not in r)
            assert o.routes["c"].brokers[0].read_queue_nums == 3
        assert agent.counter == 3
        assert sorted((a, d.base_counter, d.data_version.counter, [t.name for t in d.upsert_topics], list(d.delete_topics)) for a, d in events.of("delta")) == sorted(
            (a.address, base, base + 1, up, down) for a in apis for base, up, down in ((1, ["b", "c"], []), (2, [], ["a"]))
        )
        for s in agent.session_stats():
            assert (s.deltas_sent, s.registrations, s.held_counter) == (2, 1, 3)
        for a in apis:
            brokers = (await a.admin.ListBrokers(adm.ListBrokersRequest(cluster="c1"))).brokers
            assert [b.data_version.counter for b in brokers] == [3]
    finally:
        for o in observers:
            o.close()
        await agent.stop()
        for a in apis:
            await a.close()


async def test_nameserver_restart_the_agent_reconnects_with_backoff_and_registers_again(spawn: Spawn) -> None:
    s1 = await spawn("--shutdown-grace-ms", "100")
    events = Events()
    agent = new_agent([s1.address], events, topics=["a"])
    try:
        await agent.start()
        await registered_with(events, [s1.address])
        lost = events.next("disconnected", lambda a, _: a == s1.address)
        await s1.stop()
        await asyncio.wait_for(lost, 15)
        again = events.next("registered", lambda a, _: a == s1.address)
        s1b = await spawn(listen=s1.address)
        (_, info) = await asyncio.wait_for(again, 15)
        assert info.server_id == s1b.server_id, "registered with the new process"
        a = Api(s1b.address)
        try:
            assert await a.route("a") is not None
        finally:
            await a.close()
        st = stats(agent, s1.address)
        assert st.connects >= 2
        assert st.registrations >= 2, "a full registration on the new stream"
    finally:
        await agent.stop()


async def test_a_delta_the_nameserver_cannot_apply_is_answered_reregister_required_full_reregister(nameserver: NameServerProcess, api: Api) -> None:
    name = unique("lost-b")
    events = Events()
    agent = new_agent([nameserver.address], events, broker_name=name, topics=[unique("lost-a")])
    topic_a, topic_c = agent.topics()[0].name, unique("lost-c")
    observer = RouteObserver(api, [topic_a, topic_c])
    try:
        await agent.start()
        await registered_with(events, [nameserver.address])
        await observer.present(topic_a)
        # The NameServer forgets the broker while the stream stays up (as after an expiry).
        res = await api.brokers.UnregisterBroker(br.UnregisterBrokerRequest(cluster="c1", broker_name=name, broker_id=0))
        assert res.removed
        await observer.absent(topic_a)
        resync = events.next("resync")
        agent.upsert_topics([topic_c])
        (address, reason) = await asyncio.wait_for(resync, 15)
        assert address == nameserver.address and "not registered" in reason
        await observer.present(topic_a, topic_c)
        st = stats(agent, nameserver.address)
        assert (st.resyncs, st.registrations) == (1, 2)
        brokers = (await api.admin.ListBrokers(adm.ListBrokersRequest(cluster="c1"))).brokers
        assert [b.data_version.counter for b in brokers if b.broker_name == name] == [agent.counter]
    finally:
        observer.close()
        await agent.stop()


async def test_a_heartbeat_finds_a_nameserver_that_lost_the_broker_and_the_agent_reregisters(nameserver: NameServerProcess, api: Api) -> None:
    name, topic = unique("hb-b"), unique("hb-a")
    events = Events()
    agent = new_agent([nameserver.address], events, broker_name=name, topics=[topic], heartbeat_interval=0.025)
    observer = RouteObserver(api, [topic])
    try:
        await agent.start()
        await registered_with(events, [nameserver.address])
        await observer.present(topic)
        resync = events.next("resync")
        await api.brokers.UnregisterBroker(br.UnregisterBrokerRequest(cluster="c1", broker_name=name, broker_id=0))
        await asyncio.wait_for(resync, 15)
        await observer.present(topic)
        assert stats(agent, nameserver.address).heartbeats_sent >= 1
    finally:
        observer.close()
        await agent.stop()


async def test_positions_and_instances_are_reported_on_schedule(nameserver: NameServerProcess, api: Api) -> None:
    name, topic, group = unique("pos-b"), unique("pos-a"), unique("pos-g")
    calls = 0

    def positions() -> PositionsReport:
        nonlocal calls
        calls += 1
        return PositionsReport(
            queue_positions=[QueuePosition(topic=topic, queue_id=q, min_offset=0, max_offset=100) for q in (0, 1)],
            consumer_positions=[ConsumerPosition(group=group, topic=topic, queue_id=q, committed_offset=90) for q in (0, 1)],
        )

    async def instances() -> list[ClientInstance]:
        return [
            ClientInstance(client_id=f"{name}@1#p", role=c.CLIENT_ROLE_PRODUCER, topics=[topic], host="10.0.0.9", language="JAVA"),
            ClientInstance(client_id=f"{name}@2#c", role=c.CLIENT_ROLE_CONSUMER, group=group, topics=[topic], host="10.0.0.8", language="PYTHON"),
        ]

    events = Events()
    agent = new_agent(
        [nameserver.address],
        events,
        broker_name=name,
        topics=[topic],
        groups=[GroupConfig(name=group, subscriptions=[Subscription(topic=topic, expression="*")])],
        report_interval=0.025,
        positions=positions,
        instances=instances,
    )
    try:
        await agent.start()
        for kind in ("positions", "instances"):
            for n in range(3):
                await events.wait("reported", lambda _a, k, want=kind, n=n: k == want and len([e for e in events.of("reported") if e[1] == want]) > n)
        assert calls >= 3, "the provider is called on every tick"
        lag = await api.admin.GetConsumerLag(adm.GetConsumerLagRequest(group=group))
        assert lag.total_lag == 20
        assert [(t.topic, t.lag) for t in lag.topics] == [(topic, 20)]
        listed = await api.admin.ListInstances(adm.ListInstancesRequest(topic=topic))
        assert sorted(i.instance.client_id for i in listed.instances) == [f"{name}@1#p", f"{name}@2#c"]
    finally:
        await agent.stop()


async def test_stop_unregisters_routes_disappear_at_once_on_every_nameserver(spawn: Spawn) -> None:
    s1, s2 = await asyncio.gather(spawn("--stream-grace-ms", "60000"), spawn("--stream-grace-ms", "60000"))
    events = Events()
    agent = new_agent(
        [s1.address, s2.address], events, topics=["a"], heartbeat_interval=0.01, report_interval=0.01, positions=lambda: PositionsReport()
    )
    apis = [Api(s1.address), Api(s2.address)]
    try:
        await agent.start()
        await registered_with(events, [s1.address, s2.address])
        await agent.stop()
        # With a 60 s stream grace, only the unregister can have removed them by now.
        for a in apis:
            assert await a.route("a") is None
            assert list((await a.admin.ListBrokers(adm.ListBrokersRequest())).brokers) == []
        assert agent.session_stats() == []
        await agent.stop()  # idempotent
        assert events.of("warning") == []
    finally:
        for a in apis:
            await a.close()


async def test_nameserver_list_host_names_expand_and_re_resolution_adds_and_drops_sessions(spawn: Spawn) -> None:
    s1, s2 = await asyncio.gather(spawn("--stream-grace-ms", "300"), spawn())
    current = [s1.address]

    async def resolve() -> list[str]:
        return list(current)

    events, by_name_events = Events(), Events()
    agent = new_agent([], events, topics=["a"], resolve=resolve, resolve_interval=0.02)
    by_name = new_agent([f"localhost:{s1.port}"], by_name_events, broker_name="b2", topics=["n"])
    apis = [Api(s1.address), Api(s2.address)]
    try:
        await agent.start()
        await registered_with(events, [s1.address])
        current = [s1.address, s2.address]
        await registered_with(events, [s2.address])
        assert await apis[1].route("a") is not None
        observer = RouteObserver(apis[0], ["a"])
        await observer.present("a")
        dropped = events.next("disconnected", lambda a, _: a == s1.address)
        current = [s2.address]
        await asyncio.wait_for(dropped, 15)
        assert agent.nameservers() == [s2.address]
        await observer.absent("a")  # the stream ended; s1 drops the broker after its grace
        observer.close()
        # A DNS name: "localhost" expands (at least) to 127.0.0.1.
        await by_name.start()
        assert s1.address in by_name.nameservers(), by_name.nameservers()
        await registered_with(by_name_events, [s1.address])
        assert await apis[0].route("n") is not None
    finally:
        await agent.stop()
        await by_name.stop()
        for a in apis:
            await a.close()


async def test_bearer_token_the_right_one_registers_a_wrong_one_is_refused(spawn: Spawn) -> None:
    s = await spawn("--broker-token", "broker-secret")
    good_events, bad_events = Events(), Events()
    good = new_agent([s.address], good_events, topics=["a"], token="broker-secret")
    bad = new_agent([s.address], bad_events, broker_name="b2", topics=["z"], token="wrong")
    a = Api(s.address)
    try:
        await good.start()
        await bad.start()
        await registered_with(good_events, [s.address])
        (_, err) = await bad_events.wait("disconnected")
        assert isinstance(err, grpc.aio.AioRpcError) and err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert await a.route("a") is not None
        assert await a.route("z") is None
        assert bad_events.of("registered") == []
    finally:
        await good.stop()
        await bad.stop()
        await a.close()


async def refused(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    """The error an admin write fails with (when a broker did not apply it)."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


class DurableHandler(CommandHandler):
    """A broker's store: records every call; creates are idempotent."""

    def __init__(self) -> None:
        self.topics: dict[str, TopicConfig] = {}
        self.calls: list[str] = []

    async def create_topic(self, topic: TopicConfig) -> CommandReply:
        self.calls.append(f"create_topic {topic.name}")
        held = self.topics.get(topic.name)
        if held is not None and not same_topic_config(held, topic):
            return CommandReply(c.COMMAND_OUTCOME_ALREADY_EXISTS, f"topic {topic.name} exists with another configuration")
        self.topics[topic.name] = topic
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def delete_topic(self, name: str) -> CommandReply:
        self.calls.append(f"delete_topic {name}")
        if self.topics.pop(name, None) is None:
            return CommandReply(c.COMMAND_OUTCOME_NOT_FOUND, f"no topic {name}")
        return CommandReply(c.COMMAND_OUTCOME_OK)

    async def create_group(self, group: GroupConfig) -> CommandReply:
        raise OSError("disk full")

    async def set_permission(self, permission: c.Permission.ValueType) -> CommandReply:
        self.calls.append(f"set_permission {c.Permission.Name(permission)}")
        return CommandReply(c.COMMAND_OUTCOME_OK)


async def test_admin_commands_the_handler_applies_them_and_the_route_is_there_when_the_call_returns(spawn: Spawn) -> None:
    s1, s2 = await asyncio.gather(spawn(), spawn())
    handler = DurableHandler()
    events = Events()
    name = "cmd-b"
    agent = new_agent([s1.address, s2.address], events, broker_name=name, topics=["held"], handler=handler)
    apis = [Api(s1.address), Api(s2.address)]
    try:
        await agent.start()
        await registered_with(events, [s1.address, s2.address])
        made = TopicConfig(name="made", read_queue_nums=3, write_queue_nums=3, permission=c.PERMISSION_READ_WRITE, message_type=c.MESSAGE_TYPE_NORMAL)
        res = await apis[0].admin.CreateTopic(adm.CreateTopicRequest(topic=made, broker_names=[name]))
        assert [(r.broker_name, r.outcome, r.message) for r in res.results] == [(name, c.COMMAND_OUTCOME_OK, "")]
        # The delta went out before the result: the route is on both replicas as the call returns.
        for a in apis:
            route = await a.route("made")
            assert route is not None and [(b.broker_name, b.read_queue_nums) for b in route.brokers] == [(name, 3)]
        assert [x.name for x in agent.topics()] == ["held", "made"]
        # On the agent's side too: the command, the delta to both replicas, then the result.
        assert [(n, args[0] if n != "command" else "") for n, args in events.seen if n in ("command", "delta", "command_result")] == [
            ("command", ""),
            ("delta", s1.address),
            ("delta", s2.address),
            ("command_result", s1.address),
        ]

        # Idempotent create; a conflicting one is ALREADY_EXISTS and changes nothing.
        again = await apis[1].admin.CreateTopic(adm.CreateTopicRequest(topic=made, broker_names=[name]))
        assert [r.outcome for r in again.results] == [c.COMMAND_OUTCOME_OK]
        other = TopicConfig(name="made", read_queue_nums=5, write_queue_nums=5)
        conflict = await refused(apis[0].admin.CreateTopic(adm.CreateTopicRequest(topic=other, broker_names=[name])))
        assert conflict.code() == grpc.StatusCode.ALREADY_EXISTS
        assert "c1/cmd-b/0 ALREADY_EXISTS (topic made exists with another configuration)" in str(conflict.details())

        # Not overridden: FAILED "not supported"; raising: FAILED with the message.
        upd = await refused(apis[0].admin.UpdateTopic(adm.UpdateTopicRequest(topic=other, broker_names=[name])))
        assert "c1/cmd-b/0 FAILED (update_topic is not supported by this broker)" in str(upd.details()), upd.details()
        grp = await refused(apis[0].admin.CreateGroup(adm.CreateGroupRequest(group=GroupConfig(name="g"), broker_names=[name])))
        assert "c1/cmd-b/0 FAILED (disk full)" in str(grp.details()), grp.details()

        # Drain: the permission travels in a full registration; the route shows it on return.
        drain = await apis[0].admin.SetBrokerPermission(adm.SetBrokerPermissionRequest(cluster="c1", broker_name=name, permission=c.PERMISSION_READ))
        assert [r.outcome for r in drain.results] == [c.COMMAND_OUTCOME_OK]
        assert agent.permission == c.PERMISSION_READ
        for a in apis:
            route = await a.route("held")
            assert route is not None and route.brokers[0].permission == c.PERMISSION_READ

        deleted = await apis[1].admin.DeleteTopic(adm.DeleteTopicRequest(topic="made"))
        assert [r.outcome for r in deleted.results] == [c.COMMAND_OUTCOME_OK]
        for a in apis:
            assert await a.route("made") is None
        assert handler.calls == [
            "create_topic made",
            "create_topic made",
            "create_topic made",
            "set_permission PERMISSION_READ",
            "delete_topic made",
        ]
        assert [cmd.WhichOneof("action") for (cmd,) in events.of("command")] == [
            "create_topic",
            "create_topic",
            "create_topic",
            "update_topic",
            "create_group",
            "set_permission",
            "delete_topic",
        ]
    finally:
        await agent.stop()
        for a in apis:
            await a.close()


def test_bad_options_and_names_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nameservers"):
        BrokerAgent(nameservers=" , ", cluster="c1", broker_name="b", addresses=["127.0.0.1:1"])
    with pytest.raises(ValueError, match="addresses"):
        BrokerAgent(nameservers="127.0.0.1:1", cluster="c1", broker_name="b", addresses=[])
    with pytest.raises(ValueError, match="invalid topic name 'no spaces'"):
        BrokerAgent(nameservers="127.0.0.1:1", cluster="c1", broker_name="b", addresses=["127.0.0.1:1"], topics=["no spaces"])
    agent = BrokerAgent(nameservers="127.0.0.1:1", cluster="c1", broker_name="b", addresses=["127.0.0.1:1"], max_queue_nums=16)
    with pytest.raises(ValueError, match=r"read_queue_nums must be an integer in 1\.\.16, got 17"):
        agent.upsert_topics([TopicConfig(name="t", read_queue_nums=17)])
    with pytest.raises(ValueError, match="unknown permission 99"):
        agent.set_permission(99)  # type: ignore[arg-type]
    assert agent.counter == 1 and agent.topics() == []
