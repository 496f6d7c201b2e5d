"""NameServerClient: what producers and consumers embed to find brokers. It follows routes by push (one
WatchRoutes stream to one replica), keeps a local route cache, and fails over to another replica with
jittered back-off when its replica goes away. On every (re)connect it subscribes with the versions it
holds, so a failover re-sends nothing that did not change: replicas derive versions from content, so
the same routes have the same versions everywhere.

A replica that is warming up (started recently, may not have heard from every broker) answers with
routes flagged ``may_be_incomplete``. The client prefers warm replicas: ``get_route`` asks the others
and keeps a warming answer only when no warm replica answers; the watch stream moves on from a warming
replica unless every other replica is warming or unreachable. Route changes say whether the route may
be incomplete, and a flagged route is delivered again, unflagged, once its replica is warm.

.. code-block:: python

    async with NameServerClient(["10.0.0.1:9876", "10.0.0.2:9876"]) as ns:
        route = await ns.get_route("orders")
        watch = ns.watch(["orders"], lambda ch: print(ch.topic, ch.route.version if ch.route else "removed"))
        ...
        watch.close()

The same API as the TypeScript SDK (``mq-nameserver/client``), in snake_case, with durations in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from mq_nameserver._backoff import DEFAULT_BACKOFF, Backoff, BackoffOptions
from mq_nameserver._callbacks import run_callback
from mq_nameserver._resolve import resolve_addresses
from mq_nameserver.v1 import route_query_pb2 as rq
from mq_nameserver.v1.route_query_pb2 import Route
from mq_nameserver.v1.route_query_pb2_grpc import RouteQueryStub

if TYPE_CHECKING:
    from mq_nameserver.v1.route_query_pb2_grpc import RouteQueryAsyncStub

__all__ = ["ClientStats", "NameServerClient", "Route", "RouteChange", "RouteListener", "Watch"]

Metadata = Sequence[tuple[str, str]]

# Codes after which GetRoute tries the next replica: it is down, slow, warming up, or shedding load.
_RETRY_ON = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
    }
)

# Find a replica that vanished without closing TCP (host down, network cut).
KEEPALIVE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


@dataclass(frozen=True)
class RouteChange:
    """A route that changed (``route`` None: the topic has no route any more)."""

    topic: str
    route: Route | None
    may_be_incomplete: bool = False
    """True when a warming replica sent the route (no warm replica was reachable): it may lack replica
    sets. The same route comes again with False once that replica is warm, or after a later change."""


RouteListener = Callable[[RouteChange], None]
"""Receives route changes of watched topics."""


@dataclass
class ClientStats:
    """Counters, for tests, benchmarks and metrics."""

    connects: int = 0
    """Watch streams opened."""
    failovers: int = 0
    """Times the watch stream was lost and moved on."""
    route_events: int = 0
    """Route events received (updates and removals)."""
    route_event_bytes: int = 0
    """Encoded bytes of the route events received."""
    warming_skipped: int = 0
    """Watch streams left for another replica because this one was warming up."""


class _WarmingUp(Exception):
    """The replica's first progress said it is warming up, and another replica may be warm."""


class StreamEnded(ConnectionError):
    """The server ended a stream with status OK (it should not: a watch lasts until the client leaves)."""


class Watch:
    """A watch handle: :meth:`close` stops it. Made without a listener, it is an async iterator of
    :class:`RouteChange` (ending when closed)."""

    def __init__(self, client: NameServerClient, topics: list[str], listener: RouteListener | None) -> None:
        self._client = client
        self._topics = topics
        self._open = True
        self._queue: asyncio.Queue[RouteChange | None] | None = None
        if listener is None:
            queue: asyncio.Queue[RouteChange | None] = asyncio.Queue()
            self._queue = queue
            listener = queue.put_nowait
        self.listener: RouteListener = listener

    @property
    def topics(self) -> list[str]:
        """The topics this watch follows."""
        return list(self._topics)

    def close(self) -> None:
        """Stop this listener (topics nobody watches any more are unsubscribed). Idempotent."""
        if not self._open:
            return
        self._open = False
        self._client._unwatch(self)  # noqa: SLF001 (the client owns the bookkeeping)
        if self._queue is not None:
            self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[RouteChange]:
        return self

    async def __anext__(self) -> RouteChange:
        if self._queue is None:
            raise TypeError("this watch has a listener; only a watch made without one is iterable")
        change = await self._queue.get()
        if change is None:
            raise StopAsyncIteration
        return change

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class NameServerClient:
    """See the module comment.

    :param nameservers: "host:port" addresses, a list or one comma-separated string; a host name
        expands to all its addresses.
    :param credentials: channel credentials (default: insecure, for loopback and trusted networks).
    :param metadata: called for the metadata of every call (e.g. ``[("authorization", "Bearer …")]``).
    :param call_timeout: deadline of unary calls, seconds (default 3).
    :param backoff: reconnect back-off (default 100 ms doubling to 5 s, half jitter).
    :param channel_options: extra grpc channel options.
    :param on_connected: ``(address, server_id)`` when the watch stream is in sync with a replica.
    :param on_disconnected: ``(address, error)`` when the watch stream was lost (it moves on).
    :param on_route: every change of a watched topic, after the watch's own listeners.
    :param on_route_too_large: ``(topic, error)`` when a watched topic's route is larger than the
        replica sends in one message (the cached route, if any, is kept).
    """

    def __init__(
        self,
        nameservers: str | Sequence[str],
        *,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Callable[[], Metadata] | None = None,
        call_timeout: float = 3.0,
        backoff: BackoffOptions = DEFAULT_BACKOFF,
        channel_options: Sequence[tuple[str, Any]] = (),
        on_connected: Callable[[str, str], None] | None = None,
        on_disconnected: Callable[[str, BaseException], None] | None = None,
        on_route: RouteListener | None = None,
        on_route_too_large: Callable[[str, str], None] | None = None,
    ) -> None:
        self._nameservers = nameservers
        self._credentials = credentials
        self._metadata = metadata
        self._call_timeout = call_timeout
        self._channel_options = tuple(channel_options)
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.on_route = on_route
        self.on_route_too_large = on_route_too_large
        self.stats = ClientStats()
        self._backoff = Backoff(backoff)
        self._addresses: list[str] = []
        self._next = 0
        self._channels: dict[str, tuple[grpc.aio.Channel, RouteQueryAsyncStub]] = {}
        self._cache: dict[str, Route] = {}
        # Cached topics whose route came flagged may_be_incomplete and is not confirmed yet.
        self._incomplete: set[str] = set()
        # Attempts since the watch stream last settled on a replica (failures and warming replicas left).
        self._searching = 0
        self._watchers: dict[str, list[Watch]] = {}
        self._outbox: asyncio.Queue[rq.WatchRoutesRequest] | None = None
        self._stream_address: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def address(self) -> str | None:
        """The replica the watch stream is connected to (None while reconnecting)."""
        return self._stream_address

    def cached(self, topic: str) -> Route | None:
        """The cached route of a watched topic."""
        return self._cache.get(topic)

    async def get_route(self, topic: str) -> Route:
        """The route of a topic: from the cache when the topic is watched and known (and not flagged as
        possibly incomplete), otherwise by GetRoute, trying the replicas in turn while they answer
        UNAVAILABLE (down, or warming up) and the like, or answer a route flagged ``may_be_incomplete``
        (warming up): the first warm replica's answer wins (a route, or NOT_FOUND), and a warming
        replica's route is returned only when no warm replica answers. NOT_FOUND and INVALID_ARGUMENT
        are raised as :class:`grpc.aio.AioRpcError`."""
        hit = self._cache.get(topic)
        if hit is not None and topic in self._watchers and topic not in self._incomplete:
            return hit
        addresses = await self._known_addresses()
        last: BaseException = LookupError("no NameServer address resolved")
        warming: Route | None = None
        for i in range(len(addresses)):
            address = addresses[(self._next + i) % len(addresses)]
            try:
                res = await self._stub(address).GetRoute(
                    rq.GetRouteRequest(topic=topic), timeout=self._call_timeout, metadata=self._call_metadata()
                )
            except grpc.aio.AioRpcError as err:
                last = err
                # Anything else (NOT_FOUND ...) is a warm replica's answer, and a warm answer wins.
                if err.code() not in _RETRY_ON:
                    raise
                continue
            if not res.HasField("route"):
                raise LookupError(f"{address}: empty GetRoute answer for {topic!r}")
            if not res.may_be_incomplete:
                return res.route
            if warming is None:
                warming = res.route  # keep looking for a warm replica
        if warming is not None:
            return warming
        raise last

    def watch(self, topics: Iterable[str], listener: RouteListener | None = None) -> Watch:
        """Follow topics. The listener gets every later change, and the current route of topics already
        cached. Topics need not exist yet: their route arrives when they appear. Without a listener the
        returned :class:`Watch` is an async iterator of the changes. Needs a running event loop."""
        loop = asyncio.get_running_loop()
        names = list(dict.fromkeys(topics))
        w = Watch(self, names, listener)
        added: list[str] = []
        for topic in names:
            watchers = self._watchers.get(topic)
            if watchers is None:
                watchers = self._watchers[topic] = []
                added.append(topic)
            watchers.append(w)
            route = self._cache.get(topic)
            if route is not None:
                loop.call_soon(self._deliver, w, RouteChange(topic, route, topic in self._incomplete))
        if added:
            if self._outbox is not None:
                self._outbox.put_nowait(self._subscribe_request(added))
            self._ensure_stream()
        return w

    async def close(self) -> None:
        """Close the stream and every channel."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        channels = list(self._channels.values())
        self._channels.clear()
        await asyncio.gather(*(ch.close() for ch, _ in channels), return_exceptions=True)

    async def __aenter__(self) -> NameServerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # --- internals ------------------------------------------------------------------------------

    def _unwatch(self, w: Watch) -> None:
        dropped: list[str] = []
        for topic in w.topics:
            watchers = self._watchers.get(topic)
            if watchers is None or w not in watchers:
                continue
            watchers.remove(w)
            if not watchers:
                del self._watchers[topic]
                self._cache.pop(topic, None)
                self._incomplete.discard(topic)
                dropped.append(topic)
        if dropped and self._outbox is not None:
            self._outbox.put_nowait(rq.WatchRoutesRequest(unsubscribe=dropped))

    def _call_metadata(self) -> Metadata | None:
        return self._metadata() if self._metadata is not None else None

    def _stub(self, address: str) -> RouteQueryAsyncStub:
        entry = self._channels.get(address)
        if entry is None:
            options = (*KEEPALIVE_OPTIONS, *self._channel_options)
            if self._credentials is not None:
                channel = grpc.aio.secure_channel(address, self._credentials, options=options)
            else:
                channel = grpc.aio.insecure_channel(address, options=options)
            entry = self._channels[address] = (channel, RouteQueryStub(channel))
        return entry[1]

    async def _known_addresses(self) -> list[str]:
        if not self._addresses:
            self._addresses = await resolve_addresses(self._nameservers)
        return self._addresses

    def _subscribe_request(self, topics: Iterable[str]) -> rq.WatchRoutesRequest:
        subscribe = []
        for topic in topics:
            held = self._cache.get(topic)
            subscribe.append(rq.TopicSubscription(topic=topic, version=held.version if held is not None else ""))
        return rq.WatchRoutesRequest(subscribe=subscribe)

    def _ensure_stream(self) -> None:
        if self._closed or self._task is not None or not self._watchers:
            return
        self._task = asyncio.get_running_loop().create_task(self._follow_loop(), name="mq_nameserver watch")

    async def _follow_loop(self) -> None:
        while not self._closed:
            # Re-resolve once per round over the replicas (a DNS name may now list other pods).
            if self._next % max(1, len(self._addresses)) == 0:
                fresh = await resolve_addresses(self._nameservers)
                if fresh:
                    self._addresses = fresh
            if not self._addresses:
                await asyncio.sleep(self._backoff.next())
                continue
            address = self._addresses[self._next % len(self._addresses)]
            err = await self._follow(address)
            if isinstance(err, _WarmingUp):
                # Another replica may be warm: try the next one now (neither a failure nor a back-off).
                self._next += 1
                continue
            self.stats.failovers += 1
            self._next += 1
            self._notify(self.on_disconnected, address, err)
            await asyncio.sleep(self._backoff.next())

    async def _follow(self, address: str) -> BaseException:
        """One watch stream to one replica, until it fails; returns why."""
        call = self._stub(address).WatchRoutes(metadata=self._call_metadata())
        outbox: asyncio.Queue[rq.WatchRoutesRequest] = asyncio.Queue()
        outbox.put_nowait(self._subscribe_request(self._watchers))
        self._outbox = outbox
        self._stream_address = None
        self.stats.connects += 1
        writer = asyncio.get_running_loop().create_task(_write_all(call, outbox))
        greeted = False
        # Events that come before the first progress message wait for it: it says whether the replica
        # is warming up, and then the client may prefer another replica and drop them.
        early: list[rq.RouteEvent] = []
        try:
            while True:
                res = await call.read()
                if res is grpc.aio.EOF:
                    raise StreamEnded("watch stream ended by the server")
                assert isinstance(res, rq.WatchRoutesResponse)
                if greeted:
                    for ev in res.events:
                        self._apply(ev)
                    if res.HasField("progress"):
                        self._confirm(res.progress.warming_up)
                    continue
                early.extend(res.events)
                if not res.HasField("progress"):
                    continue
                if res.progress.warming_up and self._searching < len(self._addresses) - 1:
                    self._searching += 1
                    self.stats.warming_skipped += 1
                    return _WarmingUp(address)
                greeted = True
                self._searching = 0
                self._stream_address = address
                self._backoff.reset()
                self._notify(self.on_connected, address, res.progress.server_id)
                for ev in early:
                    self._apply(ev)
                early = []
                self._confirm(res.progress.warming_up)
        except Exception as err:  # noqa: BLE001 (AioRpcError mostly; whatever it is, move on)
            if not greeted:
                self._searching += 1
            return err
        finally:
            if self._outbox is outbox:
                self._outbox = None
            self._stream_address = None
            writer.cancel()
            call.cancel()

    def _apply(self, ev: rq.RouteEvent) -> None:
        self.stats.route_events += 1
        self.stats.route_event_bytes += ev.ByteSize()
        watchers = self._watchers.get(ev.topic)
        if watchers is None:
            return  # unsubscribed meanwhile
        if ev.type == rq.ROUTE_EVENT_TYPE_TOO_LARGE:
            self._notify(self.on_route_too_large, ev.topic, ev.error)
            return
        route = ev.route if ev.type == rq.ROUTE_EVENT_TYPE_UPDATED else None
        if route is not None:
            self._cache[ev.topic] = route
        else:
            self._cache.pop(ev.topic, None)
        may_be_incomplete = route is not None and ev.may_be_incomplete
        if may_be_incomplete:
            self._incomplete.add(ev.topic)
        else:
            self._incomplete.discard(ev.topic)
        self._publish(RouteChange(ev.topic, route, may_be_incomplete), watchers)

    def _confirm(self, warming_up: bool) -> None:
        """A progress message from a warm replica confirms the flagged routes it sent before it."""
        if warming_up or not self._incomplete:
            return
        for topic in list(self._incomplete):
            self._incomplete.discard(topic)
            route = self._cache.get(topic)
            watchers = self._watchers.get(topic)
            if route is not None and watchers:
                self._publish(RouteChange(topic, route, False), watchers)

    def _publish(self, change: RouteChange, watchers: list[Watch]) -> None:
        for w in list(watchers):
            self._deliver(w, change)
        self._notify(self.on_route, change)

    def _deliver(self, w: Watch, change: RouteChange) -> None:
        self._notify(w.listener, change)

    _notify = staticmethod(run_callback)  # what a user callback raises never reaches the stream


async def _write_all(
    call: grpc.aio.StreamStreamCall[rq.WatchRoutesRequest, rq.WatchRoutesResponse], outbox: asyncio.Queue[rq.WatchRoutesRequest]
) -> None:
    """The stream's only writer (grpc.aio allows one write at a time), in queue order."""
    try:
        while True:
            await call.write(await outbox.get())
    except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
        return  # the stream is gone; the reader sees why
