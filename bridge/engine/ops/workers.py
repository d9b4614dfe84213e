"""Workers: registration, what each serves, heartbeats, liveness, and queue statistics.

* **Served names.** A worker registers the workflow types and activity names it has handlers
  for. It is handed only those: a workflow task of another type, or an activity of another
  name, waits for a worker that serves it (assay hands any task on the queue to any worker, and
  a worker without the handler fails the workflow). A worker that registered no names at all is
  handed everything, as in assay, for clients that register nothing.
* **Live workers.** Listings show workers heard from within :data:`LIVE_WITHIN_S` (assay's health
  rule: silent for 90 s means gone).
* **Dead workers.** A worker silent for ``settings.worker_dead_after_s`` is dead: its RUNNING
  activities are retried (:func:`bridge.engine.ops.activities.retry_dead_workers`); its row is
  removed after :data:`LIVE_WITHIN_S` or the dead-after time, whichever is later.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from bridge.engine.op import Op
from bridge.engine.records import optional_json_text, worker_record
from bridge.engine.store.base import Row

#: A worker silent this long is no longer listed, and no longer counts as serving anything
#: (assay's health monitor removes such workers).
LIVE_WITHIN_S = 90.0


@dataclass(frozen=True)
class Served:
    """What one worker serves: ``None`` means anything (it registered no names)."""

    workflows: frozenset[str] | None = None
    activities: frozenset[str] | None = None

    def serves(self, kind: str, name: str) -> bool:
        """True if this worker takes a ``kind`` task (``workflow_task`` or ``activity``) of
        ``name`` (a workflow type or an activity name)."""
        names = self.workflows if kind == "workflow_task" else self.activities
        return names is None or name in names


ANYTHING = Served()


def _names(text: str | None) -> frozenset[str]:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return frozenset()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))


def served_by(row: Row | None) -> Served:
    """What the worker ``row`` serves (an unknown worker, or one with no names: anything)."""
    if row is None:
        return ANYTHING
    workflows, activities = _names(row["workflows"]), _names(row["activities"])
    if not workflows and not activities:
        return ANYTHING
    return Served(workflows, activities)


def lookup_served(op: Op, worker_id: str) -> Served:
    """What the worker ``worker_id`` serves, read from its row."""
    return served_by(op.tx.get_worker(worker_id))


def new_worker_id() -> str:
    """``"w-"`` and 16 lower-case hex digits, the shape of assay's ids (engine-api §0)."""
    return "w-" + secrets.token_hex(8)


def register_worker(op: Op, *, identity: str, queue: str, namespace: str,
                    workflows: list[str] | None, activities: list[str] | None,
                    max_concurrent_workflows: int, max_concurrent_activities: int) -> str:
    """Insert a worker row and return its new id. The lists and limits are informational."""
    worker_id = new_worker_id()
    op.tx.insert_worker({
        "id": worker_id, "namespace": namespace, "identity": identity, "task_queue": queue,
        "workflows": optional_json_text(workflows), "activities": optional_json_text(activities),
        "max_concurrent_workflows": max_concurrent_workflows,
        "max_concurrent_activities": max_concurrent_activities, "active_tasks": 0,
        "last_heartbeat": op.now, "registered_at": op.now})
    op.deadline(op.now + op.settings.worker_dead_after_s)
    return worker_id


def worker_heartbeat(op: Op, worker_id: str) -> None:
    """Set the worker's ``last_heartbeat``; an unknown id is a silent no-op (as in assay)."""
    op.tx.touch_worker(worker_id, op.now)


def live_since(op: Op) -> float:
    """Workers heard from at or after this time are live."""
    return op.now - LIVE_WITHIN_S


def list_workers(op: Op, namespace: str) -> list[dict[str, Any]]:
    """Live WorkflowWorkers of a namespace by registration time."""
    return [worker_record(r) for r in op.tx.list_workers(namespace, seen_since=live_since(op))]


def live_served(op: Op) -> dict[str, list[Served]]:
    """Each queue's live workers (of every namespace, as claims ignore namespaces), as what
    they serve."""
    by_queue: dict[str, list[Served]] = {}
    for row in op.tx.list_workers(None, seen_since=live_since(op)):
        by_queue.setdefault(row["task_queue"], []).append(served_by(row))
    return by_queue


def is_served(by_queue: dict[str, list[Served]], kind: str, name: str, queue: str) -> bool:
    """True if a live worker on ``queue`` takes a ``kind`` task of ``name``."""
    return any(s.serves(kind, name) for s in by_queue.get(queue, ()))


def list_queues(op: Op, namespace: str) -> list[dict[str, Any]]:
    """``[{queue, pending_activities, running_activities, workers}]`` sorted by queue, with
    only live workers counted."""
    return [dict(r) for r in op.tx.queue_stats(namespace, live_since(op))]


def remove_after_s(op: Op) -> float:
    """How long a worker may be silent before its row is removed."""
    return max(LIVE_WITHIN_S, op.settings.worker_dead_after_s)


def remove_dead_workers(op: Op) -> int:
    """Delete worker rows silent for :func:`remove_after_s`. Returns how many."""
    dead = op.tx.dead_workers(op.now - remove_after_s(op))
    if dead:
        op.tx.delete_workers(dead)
    return len(dead)
