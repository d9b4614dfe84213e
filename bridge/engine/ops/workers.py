"""Workers: registration, heartbeats, liveness, and queue statistics (engine-api §1.5, §3.12).

A worker silent for ``settings.worker_dead_after_s`` is dead: its RUNNING activities are retried
(:func:`bridge.engine.ops.activities.retry_dead_workers`); its row is removed after
:data:`REMOVE_AFTER_S` (assay's 90 s) or the dead-after time, whichever is later.
"""

from __future__ import annotations

import secrets
from typing import Any

from bridge.engine.op import Op
from bridge.engine.records import optional_json_text, worker_record

#: assay's health monitor removes workers silent this long (engine-api §3.12).
REMOVE_AFTER_S = 90.0


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


def list_workers(op: Op, namespace: str) -> list[dict[str, Any]]:
    """WorkflowWorkers of a namespace by registration time."""
    return [worker_record(r) for r in op.tx.list_workers(namespace)]


def list_queues(op: Op, namespace: str) -> list[dict[str, Any]]:
    """``[{queue, pending_activities, running_activities, workers}]`` sorted by queue."""
    return [dict(r) for r in op.tx.queue_stats(namespace)]


def remove_after_s(op: Op) -> float:
    """How long a worker may be silent before its row is removed."""
    return max(REMOVE_AFTER_S, op.settings.worker_dead_after_s)


def remove_dead_workers(op: Op) -> int:
    """Delete worker rows silent for :func:`remove_after_s`. Returns how many."""
    dead = op.tx.dead_workers(op.now - remove_after_s(op))
    if dead:
        op.tx.delete_workers(dead)
    return len(dead)
