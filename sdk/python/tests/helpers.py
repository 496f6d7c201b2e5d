"""Test helpers: real NameServer processes (``node --import tsx src/server/main.ts``, loopback only), raw gRPC
stubs to set up and observe them independently of the SDK under test, and event recorders that tests
await instead of sleeping."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from mq_nameserver.v1 import admin_pb2_grpc
from mq_nameserver.v1 import broker_registry_pb2 as br
from mq_nameserver.v1 import broker_registry_pb2_grpc
from mq_nameserver.v1 import common_pb2 as c
from mq_nameserver.v1 import route_query_pb2 as rq
from mq_nameserver.v1 import route_query_pb2_grpc

ROOT = Path(__file__).resolve().parents[3]
"""The repository (sdk/python/tests -> ../../..)."""

NODE = os.environ.get("NAMESERVER_NODE", "node")
"""The Node.js that runs the NameServer (the TypeScript test that runs pytest passes its own)."""


class NameServerProcess:
    """A NameServer child process on 127.0.0.1 (port 0 unless ``listen`` says otherwise); ``--warmup-ms
    0`` unless the arguments set it. Its JSON log line "NameServer listening" carries the port."""

    def __init__(self, *args: str, listen: str = "127.0.0.1:0") -> None:
        self.args = list(args)
        if "--warmup-ms" not in self.args:
            self.args += ["--warmup-ms", "0"]
        self.listen = listen
        self.port = 0
        self.server_id = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._log: list[str] = []

    @property
    def address(self) -> str:
        """host:port it listens on."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> NameServerProcess:
        """Spawn it and wait for its "NameServer listening" line."""
        env = {**os.environ, "NAMESERVER_LOG_LEVEL": "info"}
        self._proc = subprocess.Popen(
            [NODE, "--import", "tsx", str(ROOT / "src" / "server" / "main.ts"), "--listen", self.listen, *self.args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(timeout) or not self.port:
            self.kill()
            raise RuntimeError(f"NameServer did not start within {timeout} s:\n" + "\n".join(self._log[-20:]))
        return self

    async def astart(self) -> NameServerProcess:
        """:meth:`start` without blocking the event loop."""
        return await asyncio.to_thread(self.start)

    def _drain(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self._log.append(line)
            del self._log[:-200]
            if not self._ready.is_set() and '"NameServer listening"' in line:
                entry = json.loads(line)
                self.port = int(entry["port"])
                self.server_id = str(entry.get("serverId", ""))
                self._ready.set()
        self._ready.set()  # exited: stop waiting

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal (SIGKILL by default: a crash)."""
        if self.running:
            assert self._proc is not None
            self._proc.send_signal(sig)

    async def wait(self, timeout: float = 20.0) -> int:
        """Wait for the exit; its code."""
        assert self._proc is not None
        return await asyncio.to_thread(self._proc.wait, timeout)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if not self.running:
            return
        self.kill(signal.SIGTERM)
        try:
            await self.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
            await self.wait()


class Api:
    """Raw stubs of one NameServer (grpc.aio), for setting up and checking without the SDK."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.aio.insecure_channel(address)
        self.routes = route_query_pb2_grpc.RouteQueryStub(self.channel)
        self.brokers = broker_registry_pb2_grpc.BrokerRegistryStub(self.channel)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def register(
        self, broker_name: str, topics: Sequence[str | c.TopicConfig], *, epoch: str = "", counter: int = 1, lease_ttl_ms: int = 300_000
    ) -> br.RegisterBrokerResponse:
        """A unary registration of c1/<broker_name>/0 with these topics (4 queues each unless configured)."""
        return await self.brokers.RegisterBroker(
            registration(broker_name, topics, epoch=epoch or f"{broker_name}-epoch", counter=counter, lease_ttl_ms=lease_ttl_ms)
        )

    async def route(self, topic: str) -> rq.Route | None:
        """The route, or None on NOT_FOUND."""
        try:
            return (await self.routes.GetRoute(rq.GetRouteRequest(topic=topic), timeout=5)).route
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise


def registration(
    broker_name: str, topics: Sequence[str | c.TopicConfig], *, epoch: str, counter: int = 1, lease_ttl_ms: int = 300_000
) -> br.RegisterBrokerRequest:
    """A RegisterBrokerRequest of c1/<broker_name>/0 at 127.0.0.1:10911."""
    cfgs = [t if isinstance(t, c.TopicConfig) else c.TopicConfig(name=t, read_queue_nums=4, write_queue_nums=4) for t in topics]
    return br.RegisterBrokerRequest(
        cluster="c1",
        broker_name=broker_name,
        broker_id=0,
        addresses=["127.0.0.1:10911"],
        data_version=c.DataVersion(epoch=epoch, counter=counter),
        topics=cfgs,
        permission=c.PERMISSION_READ_WRITE,
        lease_ttl_ms=lease_ttl_ms,
    )


def unique(prefix: str) -> str:
    """A name no other test uses (tests share one NameServer)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Events:
    """Records callback invocations as (name, args) and lets a test await the next one matching a
    predicate. ``events.cb("registered")`` is a callback that records under that name."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...]]] = []
        self._waiters: list[tuple[str, Callable[..., bool], asyncio.Future[tuple[Any, ...]]]] = []

    def cb(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.seen.append((name, args))
            for waiter in list(self._waiters):
                wname, pred, fut = waiter
                if wname == name and not fut.done() and pred(*args):
                    fut.set_result(args)
                    self._waiters.remove(waiter)

        return record

    def of(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of every recorded call of ``name``."""
        return [args for n, args in self.seen if n == name]

    def next(self, name: str, pred: Callable[..., bool] = lambda *_: True) -> asyncio.Future[tuple[Any, ...]]:
        """A future of the next call of ``name`` whose arguments satisfy ``pred`` (subscribe before acting)."""
        fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self._waiters.append((name, pred, fut))
        return fut

    async def wait(self, name: str, pred: Callable[..., bool] = lambda *_: True, timeout: float = 15.0) -> tuple[Any, ...]:
        """The first call of ``name`` (already recorded, or next) satisfying ``pred``."""
        for n, args in self.seen:
            if n == name and pred(*args):
                return args
        return await asyncio.wait_for(self.next(name, pred), timeout)


class RouteObserver:
    """One raw WatchRoutes stream on a NameServer following some topics: the server's current view,
    pushed, so a test awaits a route condition instead of polling."""

    def __init__(self, api: Api, topics: Sequence[str]) -> None:
        self.routes: dict[str, rq.Route] = {}
        self._cond = asyncio.Condition()
        self._call = api.routes.WatchRoutes(iter([rq.WatchRoutesRequest(subscribe=[rq.TopicSubscription(topic=t) for t in topics])]))
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for res in self._call:
            async with self._cond:
                for ev in res.events:
                    if ev.type == rq.ROUTE_EVENT_TYPE_UPDATED:
                        self.routes[ev.topic] = ev.route
                    elif ev.type == rq.ROUTE_EVENT_TYPE_REMOVED:
                        self.routes.pop(ev.topic, None)
                self._cond.notify_all()

    async def until(self, what: str, cond: Callable[[dict[str, rq.Route]], bool], timeout: float = 15.0) -> None:
        """Wait until ``cond(routes)`` holds."""

        async def wait() -> None:
            async with self._cond:
                await self._cond.wait_for(lambda: cond(self.routes))

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"{what}: not seen within {timeout} s (routes: {sorted(self.routes)})") from None

    async def present(self, *topics: str) -> None:
        await self.until(f"routes of {topics}", lambda r: all(t in r for t in topics))

    async def absent(self, *topics: str) -> None:
        await self.until(f"no routes of {topics}", lambda r: not any(t in r for t in topics))

    def close(self) -> None:
        self._task.cancel()
        self._call.cancel()
