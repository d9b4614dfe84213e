"""Clocks for the engine core.

The core and the stores never call :func:`time.time` themselves; they ask a :class:`Clock`.
Production code uses :class:`SystemClock`; tests use :class:`FakeClock` and jump forward with
:meth:`FakeClock.advance`, then call ``Engine.run_due()`` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> float:
        """Return the current time as Unix epoch seconds (fractional)."""
        ...


class SystemClock:
    """The wall clock (:func:`time.time`)."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()


class FakeClock:
    """A clock that only moves when told to. Thread-safe.

    Args:
        start: the initial time in epoch seconds (default 1_700_000_000.0, a fixed, recent date).
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the current fake time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a FakeClock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, t: float) -> None:
        """Set the clock to the epoch time ``t``."""
        with self._lock:
            self._now = float(t)
