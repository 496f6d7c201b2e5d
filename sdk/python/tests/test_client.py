"""NameServerClient against real NameServer processes: route cache, watch (with a listener and as an
async iterator), GetRoute failover past a dead and a warming replica, DNS expansion, and failover of
the watch stream between NameServer processes with nothing re-sent for unchanged topics."""

from __future__ import annotations

import asyncio
import signal

import grpc
import grpc.aio
import pytest
from conftest import Spawn
from helpers import Api, Events, NameServerProcess, unique

from mq_nameserver import BackoffOptions, NameServerClient, Route, RouteChange
from mq_nameserver.v1 import common_pb2 as c

FAST = BackoffOptions(initial=0.05, max=1.0)


async def test_get_route_watch_cache_removal_and_unsubscribe(nameserver: NameServerProcess, api: Api) -> None:
    broker, later_broker = unique("sdk-b"), unique("sdk-b2")
    topic, later, missing = unique("sdk-t"), unique("sdk-later"), unique("sdk-missing")
    await api.register(broker, [topic])
    events = Events()
    async with NameServerClient([nameserver.address], on_route=events.cb("route")) as ns:
        assert (await ns.get_route(topic)).topic == topic
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ns.get_route(missing)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND

        seen: list[RouteChange] = []
        w = ns.watch([topic, later], seen.append)
        await events.wait("route", lambda ch: ch.topic == topic)
        assert seen[0].route is not None and seen[0].route.topic == topic
        assert ns.cached(topic) == seen[0].route

        await api.register(later_broker, [later])
        await events.wait("route", lambda ch: ch.topic == later and ch.route is not None)
        assert ns.cached(later) is not None
        from mq_nameserver.v1 import broker_registry_pb2 as br

        await api.brokers.UnregisterBroker(br.UnregisterBrokerRequest(cluster="c1", broker_name=later_broker, broker_id=0))
        await events.wait("route", lambda ch: ch.topic == later and ch.route is None)
        assert ns.cached(later) is None
        assert [ch.topic for ch in seen if ch.route is None] == [later]

        # A watched, cached topic is answered from the cache (the very object held).
        assert await ns.get_route(topic) is ns.cached(topic)
        w.close()
        assert ns.cached(topic) is None
        assert ns.stats.connects == 1 and ns.stats.failovers == 0
        assert ns.address == nameserver.address


async def test_watch_without_listener_is_an_async_iterator_and_a_late_watcher_gets_the_cached_route(api: Api, nameserver: NameServerProcess) -> None:
    topic = unique("iter-t")
    await api.register(unique("iter-b"), [topic])
    async with NameServerClient(nameserver.address) as ns:
        first = ns.watch([topic])
        change = await asyncio.wait_for(anext(first), 15)
        assert change.topic == topic and change.route is not None
        # A second watcher of a cached topic gets the current route at once, without a new subscription.
        second = ns.watch([topic])
        again = await asyncio.wait_for(anext(second), 15)
        assert again.route is ns.cached(topic)
        assert ns.stats.route_events == 1
        first.close()
        second.close()
        assert [ch async for ch in second] == []


async def test_a_listener_that_raises_does_not_break_the_watch(api: Api, nameserver: NameServerProcess) -> None:
    t1, t2 = unique("raise-1"), unique("raise-2")
    await api.register(unique("raise-b"), [t1])
    errors: list[BaseException] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx["exception"]))
    events = Events()

    def bad(_: RouteChange) -> None:
        raise RuntimeError("listener bug")

    async with NameServerClient(nameserver.address, on_route=events.cb("route")) as ns:
        ns.watch([t1, t2], bad)
        await events.wait("route", lambda ch: ch.topic == t1)
        await api.register(unique("raise-b2"), [t2])
        await events.wait("route", lambda ch: ch.topic == t2)
        assert ns.stats.connects == 1, "the stream survived the listener's exceptions"
    assert [str(e) for e in errors] == ["listener bug", "listener bug"]


async def test_get_route_skips_a_replica_that_is_down(api: Api, nameserver: NameServerProcess, spawn: Spawn) -> None:
    dead = await spawn()
    await dead.stop()
    topic = unique("skip-t")
    await api.register(unique("skip-b"), [topic])
    async with NameServerClient([dead.address, nameserver.address], call_timeout=2) as ns:
        assert (await ns.get_route(topic)).topic == topic


async def test_get_route_tries_the_next_replica_while_one_warms_up(api: Api, nameserver: NameServerProcess, spawn: Spawn) -> None:
    warming = await spawn("--warmup-ms", "120000")
    topic = unique("warm-t")
    await api.register(unique("warm-b"), [topic])
    wapi = Api(warming.address)
    try:
        # The warming replica has not heard of the topic: UNAVAILABLE, not NOT_FOUND ...
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await wapi.route(topic)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await wapi.close()
    # ... so the client asks the warm one.
    async with NameServerClient([warming.address, nameserver.address]) as ns:
        route = await ns.get_route(topic)
        assert route.topic == topic and route.brokers[0].read_queue_nums == 4


async def test_a_host_name_expands_to_its_addresses(api: Api, nameserver: NameServerProcess) -> None:
    topic = unique("dns-t")
    await api.register(unique("dns-b"), [topic])
    async with NameServerClient(f"localhost:{nameserver.port}") as ns:
        assert (await ns.get_route(topic)).topic == topic


async def test_sigkill_of_the_replica_fails_over_with_zero_route_messages_for_100_unchanged_topics(spawn: Spawn) -> None:
    replicas = list(await asyncio.gather(spawn(), spawn(), spawn()))
    topics = [f"fo-{i}" for i in range(100)]
    apis = [Api(r.address) for r in replicas]
    events = Events()
    ns = NameServerClient(
        [r.address for r in replicas],
        backoff=FAST,
        on_connected=events.cb("connected"),
        on_disconnected=events.cb("disconnected"),
        on_route=events.cb("route"),
    )
    try:
        for a in apis:
            await a.register("fo-a", topics[:60], epoch="fo-a-1")
            await a.register("fo-b", topics[40:], epoch="fo-b-1")
        ns.watch(topics, lambda _: None)
        (first, _) = await events.wait("connected")
        assert first == replicas[0].address
        await events.wait("route", lambda _: all(ns.cached(t) for t in topics))
        assert ns.stats.route_events == 100
        bytes_before = ns.stats.route_event_bytes

        moved = events.next("connected")
        replicas[0].kill(signal.SIGKILL)
        (address, _) = await asyncio.wait_for(moved, 15)
        assert address != replicas[0].address
        assert ns.stats.failovers == 1
        # "connected" comes with the new replica's first progress message, which follows its answers
        # to the resubscription: nothing was re-sent.
        assert ns.stats.route_events == 100, "zero route messages for unchanged topics"
        assert ns.stats.route_event_bytes == bytes_before

        changed = c.TopicConfig(name="fo-0", read_queue_nums=4, write_queue_nums=3)
        for a in apis[1:]:
            await a.register("fo-a", [changed, *topics[1:60]], epoch="fo-a-1", counter=2)
        await events.wait("route", lambda ch: ch.topic == "fo-0" and ch.route is not None and ch.route.brokers[0].write_queue_nums == 3)
        assert ns.stats.route_events == 101, "exactly the one real change"
    finally:
        await ns.close()
        for a in apis:
            await a.close()


async def test_a_replica_shut_down_gracefully_the_client_moves_on_with_no_gap(spawn: Spawn) -> None:
    pair = list(await asyncio.gather(spawn(), spawn()))
    topics = ["gs-1", "gs-2", "gs-3"]
    apis = [Api(r.address) for r in pair]
    events = Events()
    removals: list[str] = []
    ns = NameServerClient(
        [r.address for r in pair], backoff=FAST, on_connected=events.cb("connected"), on_disconnected=events.cb("disconnected"), on_route=events.cb("route")
    )
    try:
        for a in apis:
            await a.register("gs", topics)
        ns.watch(topics, lambda ch: removals.append(ch.topic) if ch.route is None else None)
        await events.wait("connected")
        await events.wait("route", lambda _: all(ns.cached(t) for t in topics))
        before = ns.stats.route_events
        moved, lost = events.next("connected"), events.next("disconnected")
        pair[0].kill(signal.SIGTERM)
        (_, err) = await asyncio.wait_for(lost, 15)
        assert isinstance(err, grpc.aio.AioRpcError) and err.code() == grpc.StatusCode.UNAVAILABLE
        assert all(ns.cached(t) for t in topics), "routes stay known while moving"
        (address, _) = await asyncio.wait_for(moved, 15)
        assert address == pair[1].address
        assert await pair[0].wait() == 0
        assert removals == []
        assert ns.stats.route_events == before, "nothing re-sent"
    finally:
        await ns.close()
        for a in apis:
            await a.close()


async def test_a_warming_replica_is_not_trusted_while_a_warm_one_answers(api: Api, nameserver: NameServerProcess, spawn: Spawn) -> None:
    warming = await spawn("--warmup-ms", "120000")
    wapi = Api(warming.address)
    shared, x, y = unique("wu-shared"), unique("wu-x"), unique("wu-y")
    # The warm replica heard from both brokers, the warming one only from x.
    await api.register(x, [shared])
    await api.register(y, [shared])
    await wapi.register(x, [shared])
    events = Events()
    try:
        async with NameServerClient([warming.address, nameserver.address], on_connected=events.cb("connected"), on_route=events.cb("route")) as ns:
            route = await ns.get_route(shared)
            assert sorted(b.broker_name for b in route.brokers) == sorted([x, y]), "the warm replica's answer"
            changes: list[RouteChange] = []
            ns.watch([shared], changes.append)
            (address, _) = await events.wait("connected")
            assert address == nameserver.address and ns.stats.warming_skipped == 1
            await events.wait("route", lambda ch: ch.topic == shared)
            assert [(sorted(b.broker_name for b in ch.route.brokers), ch.may_be_incomplete) for ch in changes if ch.route] == [(sorted([x, y]), False)]
        # With no warm replica, the warming one's route is better than nothing, and says so.
        async with NameServerClient([warming.address], on_route=events.cb("alone")) as alone:
            only = await alone.get_route(shared)
            assert [b.broker_name for b in only.brokers] == [x]
            alone.watch([shared], lambda _: None)
            (change,) = await events.wait("alone")
            assert change.may_be_incomplete and [b.broker_name for b in change.route.brokers] == [x]
            assert alone.stats.warming_skipped == 0
    finally:
        await wapi.close()


async def test_a_route_flagged_during_warm_up_is_delivered_again_unflagged_once_the_replica_is_warm(spawn: Spawn) -> None:
    ns_proc = await spawn("--warmup-ms", "1500")
    a = Api(ns_proc.address)
    events = Events()
    try:
        await a.register("wb", ["wt"])
        async with NameServerClient(ns_proc.address, on_route=events.cb("route")) as ns:
            ns.watch(["wt"], lambda _: None)
            (first,) = await events.wait("route")
            assert first.may_be_incomplete and first.route is not None
            (confirmed,) = await events.wait("route", lambda ch: not ch.may_be_incomplete)
            route: Route | None = confirmed.route
            assert route is not None and first.route is not None and route.version == first.route.version
            assert route is ns.cached("wt")
            assert ns.stats.route_events == 1, "confirmed by a progress message, not re-sent"
            assert await ns.get_route("wt") is ns.cached("wt")
    finally:
        await a.close()
