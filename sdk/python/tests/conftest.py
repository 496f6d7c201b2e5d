"""Fixtures: one NameServer process shared by the tests that only add their own uniquely named brokers
and topics, and a factory for tests that need NameServers of their own (killed, restarted, flags)."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio

from helpers import Api, NameServerProcess

Spawn = Callable[..., Awaitable[NameServerProcess]]


@pytest.fixture(scope="session")
def nameserver() -> Iterator[NameServerProcess]:
    """A NameServer shared by the whole session (stream grace 300 ms, no warm-up)."""
    ns = NameServerProcess("--stream-grace-ms", "300").start()
    yield ns
    ns.kill(signal.SIGTERM)


@pytest_asyncio.fixture
async def api(nameserver: NameServerProcess) -> AsyncIterator[Api]:
    """Raw stubs of the shared NameServer."""
    a = Api(nameserver.address)
    yield a
    await a.close()


@pytest_asyncio.fixture
async def spawn() -> AsyncIterator[Spawn]:
    """``await spawn(*flags, listen=...)``: a NameServer of this test's own, stopped after it."""
    started: list[NameServerProcess] = []

    async def start(*args: str, listen: str = "127.0.0.1:0") -> NameServerProcess:
        ns = NameServerProcess(*args, listen=listen)
        started.append(ns)
        return await ns.astart()

    yield start
    for ns in started:
        await ns.stop()
