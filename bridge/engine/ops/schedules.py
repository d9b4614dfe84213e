"""Cron schedules (engine-api §1.6, §3.11), evaluated with the ``croniter`` library in UTC.

Corrections of assay v0.11.2 (compat-policy.md):

* both the 5-field form (minute first) and assay's 6/7-field form (seconds first, optional
  year; day-of-week 1-7 with Sunday = 1) work; an invalid expression is rejected with 400;
* the first run is the next matching time after creation, not "at once";
* schedules can be paused and resumed; resuming recomputes the next run from now;
* overlap policies: ``skip`` (no new run while the previous one is live), ``cancel_old``
  (cancel the previous run, then start), anything else starts a run every time (assay's
  ``allow_all``). Missed periods are not caught up: one run, then the next time after now.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from croniter import croniter

from bridge.engine.op import Op, is_terminal
from bridge.engine.ops import workflows
from bridge.engine.records import optional_json_text, schedule_record
from bridge.engine.store.base import Row
from bridge.errors import ConflictError, InvalidRequestError, NotFoundError

_DOW_NUMBER = re.compile(r"(?<![/#\d])(\d+)")


def _assay_dow(field: str) -> str:
    """Translate a day-of-week field from Sunday = 1..Saturday = 7 to croniter's 0..6."""
    def shift(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= 7:
            raise InvalidRequestError(f"day-of-week {n} is out of range 1-7 (Sunday = 1)")
        return str(n - 1)
    return _DOW_NUMBER.sub(shift, field)


def _croniter(expr: str, start: float) -> croniter:
    fields = expr.split()
    if expr.strip().startswith("@") and len(fields) == 1:
        return croniter(expr.strip(), start)
    if len(fields) == 5:
        return croniter(" ".join(fields), start)
    if len(fields) in (6, 7):
        fields[5] = _assay_dow(fields[5])
        return croniter(" ".join(fields), start, second_at_beginning=True)
    raise InvalidRequestError(
        f"cron expression {expr!r} needs 5 fields (minute first) or 6-7 (seconds first)")


def next_run_after(expr: str, after: float) -> float:
    """The first time strictly after ``after`` (epoch seconds) that ``expr`` matches, in UTC.

    Raises:
        InvalidRequestError: the expression does not parse or never matches.
    """
    try:
        it = _croniter(expr, after)
        nxt = it.get_next(datetime)
    except InvalidRequestError:
        raise
    except Exception as exc:  # croniter raises several unrelated types for bad input
        raise InvalidRequestError(f"invalid cron expression {expr!r}: {exc}") from exc
    assert isinstance(nxt, datetime)
    if nxt.tzinfo is None:
        nxt = nxt.replace(tzinfo=timezone.utc)
    return nxt.timestamp()


def _require(op: Op, namespace: str, name: str) -> Row:
    row = op.tx.get_schedule(namespace, name)
    if row is None:
        raise NotFoundError(f"not found: schedule {name}")
    return row


def create_schedule(op: Op, *, name: str, workflow_type: str, cron_expr: str, namespace: str,
                    input: Any, task_queue: str, overlap_policy: str) -> dict[str, Any]:
    """Create a schedule whose first run is the next matching time; 400 for a bad expression,
    409 for a duplicate (namespace, name)."""
    next_at = next_run_after(cron_expr, op.now)
    row: Row = {"namespace": namespace, "name": name, "workflow_type": workflow_type,
                "cron_expr": cron_expr, "input": optional_json_text(input),
                "task_queue": task_queue, "overlap_policy": overlap_policy, "paused": 0,
                "last_run_at": None, "next_run_at": next_at, "last_workflow_id": None,
                "created_at": op.now}
    if not op.tx.insert_schedule(row):
        raise ConflictError(f"schedule {name} already exists in namespace {namespace}")
    op.deadline(next_at)
    return schedule_record(row)


def list_schedules(op: Op, namespace: str) -> list[dict[str, Any]]:
    """WorkflowSchedules of a namespace by name."""
    return [schedule_record(r) for r in op.tx.list_schedules(namespace)]


def get_schedule(op: Op, name: str, namespace: str) -> dict[str, Any]:
    """One WorkflowSchedule or 404."""
    return schedule_record(_require(op, namespace, name))


def delete_schedule(op: Op, name: str, namespace: str) -> None:
    """Delete a schedule (404 if unknown); workflows it started are not touched."""
    if not op.tx.delete_schedule(namespace, name):
        raise NotFoundError(f"not found: schedule {name}")


def pause_schedule(op: Op, name: str, namespace: str) -> dict[str, Any]:
    """Stop firing until resumed. Idempotent."""
    _require(op, namespace, name)
    op.tx.update_schedule(namespace, name, {"paused": 1})
    return schedule_record(_require(op, namespace, name))


def resume_schedule(op: Op, name: str, namespace: str) -> dict[str, Any]:
    """Fire again from the next matching time after now. Idempotent."""
    row = _require(op, namespace, name)
    if row["paused"]:
        next_at = next_run_after(row["cron_expr"], op.now)
        op.tx.update_schedule(namespace, name, {"paused": 0, "next_run_at": next_at})
        op.deadline(next_at)
    return schedule_record(_require(op, namespace, name))


def fire_due_schedules(op: Op, limit: int) -> int:
    """Start a run of every unpaused schedule whose ``next_run_at`` has come. Returns the count."""
    rows = op.tx.due_schedules(op.now, limit)
    for sched in rows:
        _fire(op, sched)
    return len(rows)


def _fire(op: Op, sched: Row) -> None:
    fields: dict[str, Any] = {"last_run_at": op.now}
    try:
        fields["next_run_at"] = next_run_after(sched["cron_expr"], op.now)
    except InvalidRequestError:  # stored before validation existed: stop instead of spinning
        fields["paused"] = 1
    previous = op.tx.get_workflow(sched["last_workflow_id"]) if sched["last_workflow_id"] else None
    live = previous is not None and not is_terminal(previous)
    if live and sched["overlap_policy"] == "skip":
        op.tx.update_schedule(sched["namespace"], sched["name"], fields)
        return
    if live and sched["overlap_policy"] == "cancel_old" and previous is not None:
        workflows.cancel_workflow(op, previous["id"])
    wid = workflows.unique_workflow_id(op, f"{sched['name']}-{int(op.now)}")
    workflows.create_run(op, workflow_id=wid, workflow_type=sched["workflow_type"],
                         input_text=sched["input"], task_queue=sched["task_queue"],
                         namespace=sched["namespace"], run_id=f"run-{wid}")
    fields["last_workflow_id"] = wid
    op.tx.update_schedule(sched["namespace"], sched["name"], fields)
    op.notify("event", {"event_type": "schedule_triggered", "workflow_id": wid,
                        "payload": {"schedule": sched["name"], "namespace": sched["namespace"]}})
