"""Exponential back-off with jitter, for reconnect loops (client and broker agent)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffOptions:
    """Back-off settings, in seconds."""

    initial: float = 0.1
    """First delay."""
    max: float = 5.0
    """Largest delay."""
    jitter: float = 0.5
    """Fraction of each delay that is random (0 = none, 1 = "full jitter")."""


DEFAULT_BACKOFF = BackoffOptions()
"""Defaults: 100 ms doubling to 5 s, half of each delay random (as the TypeScript SDK)."""


class Backoff:
    """Successive delays; :meth:`reset` after a success."""

    def __init__(self, options: BackoffOptions = DEFAULT_BACKOFF, rand: Callable[[], float] = random.random) -> None:
        self._options = options
        self._rand = rand
        self._attempt = 0

    def next(self) -> float:
        """The next delay, in seconds."""
        o = self._options
        base = min(o.max, o.initial * (1 << self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return base * (1 - o.jitter * self._rand())

    def reset(self) -> None:
        """Start again from the first delay."""
        self._attempt = 0
