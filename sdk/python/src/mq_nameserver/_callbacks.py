"""User callbacks, run so that what they raise never reaches the session or stream that delivered the
event (the client's watches and the broker agent's events share this)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


def run_callback(callback: Callable[..., None] | None, *args: Any) -> None:
    """Run a user callback; what it raises goes to the event loop's exception handler."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception as exc:  # noqa: BLE001 (a user callback may raise anything)
        asyncio.get_running_loop().call_exception_handler(
            {"message": f"mq_nameserver: callback {callback!r} raised", "exception": exc}
        )
