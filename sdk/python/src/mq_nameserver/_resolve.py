"""NameServer address lists: "host:port" entries, where a host name expands to every address it
resolves to (a Kubernetes headless Service gives one record per replica). Shared by the client and
the broker agent."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable, Sequence

_BRACKETED = re.compile(r"^\[([^\]]+)\]:(\d+)$")
_PLAIN = re.compile(r"^([^:]+):(\d+)$")


def split_host_port(address: str) -> tuple[str, str]:
    """Split "host:port" (IPv6 in brackets); ValueError when it is not that."""
    m = _BRACKETED.match(address) or _PLAIN.match(address)
    if m is None:
        raise ValueError(f"not host:port: {address!r}")
    return m.group(1), m.group(2)


def _ip_version(host: str) -> int:
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return 0


def join_host_port(host: str, port: str | int) -> str:
    """Join host and port, bracketing IPv6."""
    return f"[{host}]:{port}" if _ip_version(host) == 6 else f"{host}:{port}"


def entries(nameservers: str | Sequence[str]) -> list[str]:
    """The non-empty entries of a list or of one comma-separated string."""
    items = nameservers.split(",") if isinstance(nameservers, str) else list(nameservers)
    return [s.strip() for s in items if s.strip()]


async def resolve_addresses(
    nameservers: str | Sequence[str],
    on_error: Callable[[str, BaseException], None] | None = None,
) -> list[str]:
    """Expand "host:port" entries (a list or one comma-separated string) into concrete addresses,
    resolving host names to all their addresses. Duplicates are removed; order is kept. A name that
    does not resolve is skipped (and reported through ``on_error``), so one bad entry does not stop
    the others."""
    loop = asyncio.get_running_loop()
    out: dict[str, None] = {}
    for entry in entries(nameservers):
        try:
            host, port = split_host_port(entry)
            if _ip_version(host):
                out[join_host_port(host, port)] = None
                continue
            for _family, _type, _proto, _canon, sockaddr in await loop.getaddrinfo(host, int(port), type=socket.SOCK_STREAM):
                out[join_host_port(str(sockaddr[0]), port)] = None
        except (OSError, ValueError) as err:
            if on_error is not None:
                on_error(entry, err)
    return list(out)
