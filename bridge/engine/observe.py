"""What the engine core reports about itself for metrics, without knowing any metrics library.

The core calls an :class:`Observer` after each transaction: how long it took and how many
attempts it needed (a conflict with another transaction is retried), and, once it committed,
the happenings its steps counted (``Op.count``). :mod:`bridge.engine.api.metrics` turns these
into Prometheus series.

Counted names and their labels:

* ``workflow_started``, ``workflow_completed``, ``workflow_failed``, ``workflow_cancelled``:
  ``namespace``, ``workflow_type``, ``task_queue``;
* ``activity_attempt`` (a worker took it), ``activity_retry`` (requeued after a failure or a
  timeout), ``activity_timeout``: ``name``, ``task_queue``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Observer(Protocol):
    """Receives the core's reports; must be cheap, thread-safe and never raise."""

    def transaction(self, operation: str, seconds: float, attempts: int, ok: bool) -> None:
        """One core operation's transaction: its duration (all attempts), attempts, outcome."""
        ...

    def counted(self, counts: Sequence[tuple[str, dict[str, str]]]) -> None:
        """Happenings of one committed operation."""
        ...


class NullObserver:
    """Drops every report (the default)."""

    def transaction(self, operation: str, seconds: float, attempts: int, ok: bool) -> None:
        """Drop it."""

    def counted(self, counts: Sequence[tuple[str, dict[str, str]]]) -> None:
        """Drop them."""
