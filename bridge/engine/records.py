"""JSON text helpers and the wire shapes of engine records (engine-api §0, §2.4).

The core stores every user value as compact JSON text. Records (workflows, events, activities,
schedules, workers) go out with those fields *as text*; the workflow-task poll parses them
(engine-api §8 item 1). This module is the one place that decides which is which.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bridge.engine.store.base import Row

logger = logging.getLogger(__name__)


# One encoder each, made once: ``json.dumps`` with any option builds a new encoder per call.
_STORED = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                           allow_nan=False)
_WIRE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def to_json_text(value: Any) -> str:
    """Compact JSON text of ``value``, keys sorted (what serde_json produces for assay)."""
    return _STORED.encode(value)


def wire_json(value: Any) -> str:
    """JSON text of ``value`` as Starlette's ``JSONResponse`` renders it (keys in order)."""
    return _WIRE.encode(value)


def optional_json_text(value: Any) -> str | None:
    """JSON text of ``value``, or None when ``value`` is None (``null`` counts as absent)."""
    return None if value is None else to_json_text(value)


def parse_json_text(text: str | None) -> Any:
    """Parse stored JSON text; None for NULL and for text that does not parse (engine-api §1.4)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        logger.warning("stored JSON text does not parse: %.80r", text)
        return None


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def workflow_record(row: Row) -> dict[str, Any]:
    """WorkflowRecord (engine-api §2.4): JSON fields as text; dispatch columns hidden."""
    return {
        "id": row["id"], "namespace": row["namespace"], "run_id": row["run_id"],
        "workflow_type": row["workflow_type"], "task_queue": row["task_queue"],
        "status": row["status"], "input": row["input"], "result": row["result"],
        "error": row["error"], "parent_id": row["parent_id"], "claimed_by": row["claimed_by"],
        "created_at": float(row["created_at"]), "updated_at": float(row["updated_at"]),
        "completed_at": _f(row["completed_at"]),
    }


def event_record(row: Row) -> dict[str, Any]:
    """WorkflowEvent as ``GET /events`` gives it: payload as JSON text."""
    return {"id": row["id"], "workflow_id": row["workflow_id"], "seq": row["seq"],
            "event_type": row["event_type"], "payload": row["payload"],
            "timestamp": float(row["timestamp"])}


#: History payload fields that workflow.lua stores in a Lua table, where a nil would vanish.
_NIL_UNSAFE = {"SignalReceived": "payload", "SideEffectRecorded": "value"}


def history_entry(row: Row) -> dict[str, Any]:
    """One ``history[]`` element of a workflow task: payload parsed (engine-api §1.4).

    A signal without payload, or a side effect whose value is nil, is sent as ``false``:
    workflow.lua keeps these values in Lua tables, where a nil is no entry at all, so the wait
    would never see its signal and the side effect would run and be recorded again on every
    replay (compat.md). ``false`` is as falsy as nil to the workflow code. Stored events and
    ``GET /events`` keep the null.
    """
    payload = parse_json_text(row["payload"])
    field = _NIL_UNSAFE.get(row["event_type"])
    if field is not None and isinstance(payload, dict) and payload.get(field) is None:
        payload = {**payload, field: False}
    return {"seq": row["seq"], "event_type": row["event_type"],
            "payload": payload, "timestamp": float(row["timestamp"])}


def activity_record(row: Row) -> dict[str, Any]:
    """WorkflowActivity (engine-api §2.4): input/result as JSON text."""
    return {
        "id": row["id"], "workflow_id": row["workflow_id"], "seq": row["seq"],
        "name": row["name"], "task_queue": row["task_queue"], "input": row["input"],
        "status": row["status"], "result": row["result"], "error": row["error"],
        "attempt": row["attempt"], "max_attempts": row["max_attempts"],
        "initial_interval_secs": float(row["initial_interval_secs"]),
        "backoff_coefficient": float(row["backoff_coefficient"]),
        "start_to_close_secs": float(row["start_to_close_secs"]),
        "heartbeat_timeout_secs": _f(row["heartbeat_timeout_secs"]),
        "claimed_by": row["claimed_by"], "scheduled_at": float(row["scheduled_at"]),
        "started_at": _f(row["started_at"]), "completed_at": _f(row["completed_at"]),
        "last_heartbeat": _f(row["last_heartbeat"]),
    }


def schedule_record(row: Row) -> dict[str, Any]:
    """WorkflowSchedule (engine-api §2.4): input as JSON text, ``paused`` a bool."""
    return {
        "name": row["name"], "namespace": row["namespace"], "workflow_type": row["workflow_type"],
        "cron_expr": row["cron_expr"], "input": row["input"], "task_queue": row["task_queue"],
        "overlap_policy": row["overlap_policy"], "paused": bool(row["paused"]),
        "last_run_at": _f(row["last_run_at"]), "next_run_at": _f(row["next_run_at"]),
        "last_workflow_id": row["last_workflow_id"], "created_at": float(row["created_at"]),
    }


def worker_record(row: Row) -> dict[str, Any]:
    """WorkflowWorker (engine-api §2.4): workflow/activity lists as JSON text."""
    return {
        "id": row["id"], "namespace": row["namespace"], "identity": row["identity"],
        "task_queue": row["task_queue"], "workflows": row["workflows"],
        "activities": row["activities"],
        "max_concurrent_workflows": row["max_concurrent_workflows"],
        "max_concurrent_activities": row["max_concurrent_activities"],
        "active_tasks": row["active_tasks"], "last_heartbeat": float(row["last_heartbeat"]),
        "registered_at": float(row["registered_at"]),
    }
