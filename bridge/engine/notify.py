"""Notifications from the engine core to the layer above (long-polls, SSE, the due-work loop).

The core collects notifications while an operation's transaction is open and hands them to the
:class:`Notifier` only **after** it commits, so a listener never sees state that was rolled back.

Kinds and their data:

* ``"workflow_task"`` ``{"queue", "namespace", "workflow_id"}``: a workflow became dispatchable.
* ``"activity_task"`` ``{"queue", "activity_id"}``: an activity is claimable now.
* ``"deadline"`` ``{"at"}``: a new timer / timeout / backoff / lease / schedule deadline exists;
  ``Engine.run_due`` should run at (or after) ``at``.
* ``"event"`` ``{"event_type", "workflow_id", "payload"}``: a history event was appended
  (payload parsed), plus the dashboard names of engine-api §1.8 (``workflow_started``,
  ``workflow_completed``, ``workflow_failed``, ``workflow_cancelled``, ``task_completed``,
  ``task_failed``, ``signal_received``, ``schedule_triggered``).
* ``"workflow_terminal"`` ``{"workflow_id", "status", "record"}``: a workflow reached a terminal
  status; ``record`` is its WorkflowRecord as committed (with ``waiting_on: []``), the answer
  of a ``/wait`` it wakes. Other instances get the first two fields only.

With several engine instances on one database (PostgreSQL), the wake-up kinds
(:data:`SHARED_KINDS`) are also published to the other instances inside the transaction
(``Tx.publish``), so a task created through one instance wakes a worker polling another.
``"deadline"`` stays local: every instance's runner learns the next deadline from the database
after each ``run_due``. ``"event"`` (SSE) stays local too: a stream shows what its own
instance did.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol
from bridge.wire import NoticeKind

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    """Receives engine notifications after commit. Must be cheap and thread-safe."""

    def notify(self, kind: NoticeKind, data: dict[str, Any]) -> None:
        """Handle one notification; must not raise."""
        ...


class NullNotifier:
    """A notifier that drops everything (the default)."""

    def notify(self, kind: NoticeKind, data: dict[str, Any]) -> None:
        """Drop the notification."""


class RecordingNotifier:
    """A notifier that keeps every notification in ``.sent`` (for tests)."""

    def __init__(self) -> None:
        self.sent: list[tuple[NoticeKind, dict[str, Any]]] = []

    def notify(self, kind: NoticeKind, data: dict[str, Any]) -> None:
        """Record the notification."""
        self.sent.append((kind, data))

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        """The data of every notification of ``kind``, in order."""
        return [d for k, d in self.sent if k == kind]


#: History event types that also get the dashboard's lower-case SSE name (engine-api §1.8).
DASHBOARD_NAMES: dict[str, str] = {
    "WorkflowStarted": "workflow_started",
    "WorkflowCompleted": "workflow_completed",
    "WorkflowFailed": "workflow_failed",
    "WorkflowTerminated": "workflow_failed",
    "WorkflowCancelled": "workflow_cancelled",
    "ActivityCompleted": "task_completed",
    "ActivityFailed": "task_failed",
    "SignalReceived": "signal_received",
}


def deliver(notifier: Notifier, pending: Sequence[tuple[NoticeKind, dict[str, Any]]]) -> None:
    """Send collected notifications; a failing notifier is logged, never propagated."""
    for kind, data in pending:
        try:
            notifier.notify(kind, data)
        except Exception:
            logger.exception("notifier failed on %s", kind)


#: Notification kinds other engine instances on the same database need (to wake their polls).
SHARED_KINDS: dict[NoticeKind, tuple[str, ...]] = {
    "workflow_task": ("queue",),
    "activity_task": ("queue",),
    "workflow_terminal": ("workflow_id", "status"),
}


def shared_notices(pending: Sequence[tuple[NoticeKind, dict[str, Any]]]
                   ) -> list[tuple[NoticeKind, dict[str, Any]]]:
    """The notices of ``pending`` worth sending to other instances: the wake-up kinds, reduced
    to the fields a waiter keys on, without duplicates, in order."""
    out: list[tuple[NoticeKind, dict[str, Any]]] = []
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for kind, data in pending:
        fields = SHARED_KINDS.get(kind)
        if fields is None:
            continue
        values = tuple(data.get(f) for f in fields)
        if (kind, values) in seen:
            continue
        seen.add((kind, values))
        out.append((kind, dict(zip(fields, values))))
    return out
