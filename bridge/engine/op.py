"""The per-operation context every engine step receives (:class:`Op`): the open transaction,
``now``, the settings, the notifications to send after commit and the engine's set of
running workflows."""

from __future__ import annotations

from typing import Any

from bridge.engine.live import LiveWorkflows
from bridge.engine.notify import DASHBOARD_NAMES
from bridge.engine.records import parse_json_text, to_json_text
from bridge.engine.settings import Settings
from bridge.engine.store.base import TERMINAL_STATUSES, Row, Tx
from bridge.wire import NoticeKind

_ABSENT: Any = object()


class Op:
    """One engine operation in progress: use it only inside its transaction.

    Args:
        tx: the open transaction.
        now: the operation's time (epoch seconds).
        settings: the engine's settings.
        live: the engine's running workflows, when it keeps them (:mod:`bridge.engine.live`).
    """

    __slots__ = ("tx", "now", "settings", "outbox", "counts", "live", "created")

    def __init__(self, tx: Tx, now: float, settings: Settings,
                 live: LiveWorkflows | None = None) -> None:
        self.tx = tx
        self.now = now
        self.settings = settings
        self.live = live
        #: Workflows this operation created and noted in ``live``: dropped again if it does
        #: not commit.
        self.created: list[str] = []
        #: Notifications ``(kind, data)`` to deliver once this operation commits.
        self.outbox: list[tuple[NoticeKind, dict[str, Any]]] = []
        #: Counted happenings ``(name, labels)``, handed to the engine's observer after commit.
        self.counts: list[tuple[str, dict[str, str]]] = []

    def count(self, what: str, /, **labels: str) -> None:
        """Count one happening (a workflow started, an activity retried ...) once this
        operation commits; see :class:`bridge.engine.observe.Observer`."""
        self.counts.append((what, labels))

    def running(self, workflow_id: str) -> None:
        """Note a workflow this operation has just inserted as running."""
        if self.live is not None and self.live.started(workflow_id):
            self.created.append(workflow_id)

    def finished(self, workflow_id: str) -> None:
        """Note a workflow this operation is moving to a terminal status."""
        if self.live is not None:
            self.live.finished(workflow_id)

    def notify(self, kind: NoticeKind, data: dict[str, Any]) -> None:
        """Queue a notification for delivery after commit."""
        self.outbox.append((kind, data))

    def deadline(self, at: float) -> None:
        """Queue a ``deadline`` notification."""
        self.notify("deadline", {"at": at})

    def event(self, workflow_id: str, event_type: str, payload: Any = None, *,
              text: str | None | Any = _ABSENT) -> Row:
        """Append a history event and queue its ``event`` notification(s).

        Args:
            payload: a Python value serialised as the payload (None means a NULL payload).
            text: JSON text to store as it is, instead of ``payload``.
        """
        stored = text if text is not _ABSENT else (None if payload is None else to_json_text(payload))
        row = self.tx.append_event(workflow_id, event_type, stored, self.now)
        parsed = payload if text is _ABSENT else parse_json_text(stored)
        self.notify("event", {"event_type": event_type, "workflow_id": workflow_id,
                              "payload": parsed, "seq": row["seq"]})
        alias = DASHBOARD_NAMES.get(event_type)
        if alias:
            self.notify("event", {"event_type": alias, "workflow_id": workflow_id,
                                  "payload": parsed})
        return row

    def wake(self, wf: Row) -> None:
        """Mark a non-terminal workflow dispatchable (engine-api §3.1) and tell pollers.

        Idempotent, and works while a lease is held: the mark survives the release.
        """
        if wf["status"] in TERMINAL_STATUSES:
            return
        self.tx.update_workflow(wf["id"], {"needs_dispatch": 1})
        wf["needs_dispatch"] = 1
        self.announce_task(wf)

    def announce_task(self, wf: Row) -> None:
        """Tell pollers that dispatchable workflow ``wf`` has a task, unless a lease is held
        (the release announces it). For a row written dispatchable, :meth:`wake` without the
        write."""
        if wf.get("dispatch_claimed_by") is None:
            self.notify("workflow_task", {"queue": wf["task_queue"], "namespace": wf["namespace"],
                                          "workflow_id": wf["id"]})


def is_terminal(wf: Row) -> bool:
    """True if the workflow row's status is final."""
    return wf["status"] in TERMINAL_STATUSES
