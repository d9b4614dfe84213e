"""Activities: scheduling, claim, completion, failure, retries with backoff, and timeouts.

Corrections of assay v0.11.2 (compat-policy.md):

* a retry is claimable only once its backoff has passed (the store's claim checks
  ``scheduled_at <= now``);
* start-to-close and heartbeat timeouts are enforced (``timeout_at``), and a timed-out activity,
  or one whose worker died, is retried per its policy; the final failure writes
  ``ActivityFailed`` and wakes the workflow;
* completing or failing an already-finished activity is an idempotent no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bridge.engine.op import Op, is_terminal
from bridge.engine.ops.workflows import require_workflow
from bridge.engine.records import activity_record, optional_json_text, parse_json_text
from bridge.engine.store.base import FINISHED_ACTIVITY_STATUSES, Row
from bridge.errors import ConflictError, NotFoundError

logger = logging.getLogger(__name__)

ALL_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
FINISHED = frozenset(FINISHED_ACTIVITY_STATUSES)

#: assay's retry defaults (engine-api §3.5.1).
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INITIAL_INTERVAL_S = 1.0
DEFAULT_BACKOFF = 2.0
DEFAULT_START_TO_CLOSE_S = 300.0

HEARTBEAT_TIMEOUT_ERROR = "heartbeat timeout"
START_TO_CLOSE_ERROR = "start-to-close timeout"
WORKER_LOST_ERROR = "worker lost"


def _require(op: Op, activity_id: int) -> Row:
    act = op.tx.get_activity(activity_id, lock=True)
    if act is None:
        raise NotFoundError(f"not found: activity {activity_id} not found")
    return act


def schedule(op: Op, wf: Row, *, seq: int, name: str, task_queue: str, input_text: str | None,
             max_attempts: int | None = None, initial_interval_secs: float | None = None,
             backoff_coefficient: float | None = None, start_to_close_secs: float | None = None,
             heartbeat_timeout_secs: float | None = None) -> Row:
    """Schedule activity ``seq`` of ``wf``; idempotent on (workflow_id, seq) (engine-api §3.5.1).

    A new activity is PENDING at attempt 1 and gets ``ActivityScheduled``; a PENDING workflow
    becomes RUNNING. A repeat changes nothing and returns the existing row. Never wakes the
    workflow.
    """
    act = schedule_new(op, wf, seq=seq, name=name, task_queue=task_queue, input_text=input_text,
                       max_attempts=max_attempts, initial_interval_secs=initial_interval_secs,
                       backoff_coefficient=backoff_coefficient,
                       start_to_close_secs=start_to_close_secs,
                       heartbeat_timeout_secs=heartbeat_timeout_secs)
    if act is None:
        return next(a for a in op.tx.list_activities(wf["id"], ALL_STATUSES) if a["seq"] == seq)
    found = op.tx.get_activity(act)
    assert found is not None
    return found


def schedule_new(op: Op, wf: Row, *, seq: int, name: str, task_queue: str,
                 input_text: str | None, max_attempts: int | None = None,
                 initial_interval_secs: float | None = None,
                 backoff_coefficient: float | None = None,
                 start_to_close_secs: float | None = None,
                 heartbeat_timeout_secs: float | None = None) -> int | None:
    """:func:`schedule` without reading the row back: the new activity's id, or None when
    ``seq`` was already scheduled (nothing changed). What a worker's ScheduleActivity runs."""
    row: Row = {
        "workflow_id": wf["id"], "seq": seq, "name": name, "task_queue": task_queue,
        "input": input_text, "status": "PENDING", "attempt": 1,
        "max_attempts": max(1, DEFAULT_MAX_ATTEMPTS if max_attempts is None else max_attempts),
        "initial_interval_secs": max(0.0, DEFAULT_INITIAL_INTERVAL_S
                                     if initial_interval_secs is None else initial_interval_secs),
        "backoff_coefficient": max(1.0, DEFAULT_BACKOFF
                                   if backoff_coefficient is None else backoff_coefficient),
        "start_to_close_secs": DEFAULT_START_TO_CLOSE_S
        if start_to_close_secs is None or start_to_close_secs <= 0 else start_to_close_secs,
        "heartbeat_timeout_secs": heartbeat_timeout_secs
        if heartbeat_timeout_secs is not None and heartbeat_timeout_secs > 0 else None,
        "scheduled_at": op.now,
    }
    new_id = op.tx.insert_activity(row)
    if new_id is None:
        return None
    op.event(wf["id"], "ActivityScheduled", {
        "activity_id": new_id, "activity_seq": seq, "name": name, "task_queue": task_queue,
        "input": input_text})
    if wf["status"] == "PENDING":
        op.tx.update_workflow(wf["id"], {"status": "RUNNING", "updated_at": op.now})
        wf["status"] = "RUNNING"
    op.notify("activity_task", {"queue": task_queue, "activity_id": new_id})
    return new_id


def schedule_activity(op: Op, workflow_id: str, **fields: Any) -> dict[str, Any]:
    """POST /workflows/{id}/activities: :func:`schedule` with 404 for an unknown workflow and
    409 for a finished one (assay: 500 and silently scheduled)."""
    wf = require_workflow(op, workflow_id)
    input_value = fields.pop("input", None)
    if is_terminal(wf):
        raise ConflictError(f"workflow {workflow_id} is already {wf['status']}")
    act = schedule(op, wf, input_text=optional_json_text(input_value), **fields)
    return activity_record(act)


def get_activity(op: Op, activity_id: int) -> dict[str, Any]:
    """One WorkflowActivity or 404 ``not found: activity <id> not found``."""
    act = op.tx.get_activity(activity_id)
    if act is None:
        raise NotFoundError(f"not found: activity {activity_id} not found")
    return activity_record(act)


def poll_activity_task(op: Op, queue: str, worker_id: str,
                       names: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Claim the oldest ready activity on ``queue`` (input as JSON text), named one of
    ``names`` when given (the names the worker registered), or None."""
    act = op.tx.claim_activity_task(queue=queue, worker_id=worker_id, now=op.now, names=names)
    if act is None:
        return None
    if act.get("timeout_at") is not None:
        op.deadline(act["timeout_at"])
    op.count("activity_attempt", name=act["name"], task_queue=act["task_queue"])
    return activity_record(act)


def complete_activity(op: Op, activity_id: int, result: Any) -> None:
    """Record an activity's result, append ``ActivityCompleted`` and wake the workflow.

    A finished activity is left as it is (idempotent no-op). A late result for an activity
    that was requeued after a timeout is still accepted: the work was done.
    """
    text = optional_json_text(result)
    act = op.tx.finish_activity(activity_id, {"status": "COMPLETED", "result": text,
                                              "error": None, "completed_at": op.now,
                                              "timeout_at": None})
    if act is None:
        act = _require(op, activity_id)
        logger.info("activity %s already %s; completion ignored", activity_id, act["status"],
                    extra={"activity_id": activity_id, "workflow_id": act["workflow_id"]})
        return
    wf = op.tx.wake_workflow(act["workflow_id"])  # None: gone or finished, nothing to tell
    if wf is None:
        return
    op.event(wf["id"], "ActivityCompleted", {
        "activity_id": activity_id, "activity_seq": act["seq"], "name": act["name"],
        "result": parse_json_text(text), "error": None})
    op.announce_task(wf)


def fail_activity(op: Op, activity_id: int, error: str) -> None:
    """POST /tasks/{id}/fail: apply the retry policy (engine-api §3.5.3), with backoff enforced."""
    act = _require(op, activity_id)
    if act["status"] in FINISHED:
        logger.info("activity %s already %s; failure ignored", activity_id, act["status"],
                    extra={"activity_id": activity_id, "workflow_id": act["workflow_id"]})
        return
    retry_or_fail(op, act, error)


def retry_delay_s(act: Row) -> float:
    """``initial_interval × coefficient^(attempt−1)`` for the attempt that just failed."""
    return float(act["initial_interval_secs"]) * float(act["backoff_coefficient"]) ** (
        int(act["attempt"]) - 1)


def retry_or_fail(op: Op, act: Row, error: str) -> None:
    """Requeue ``act`` after its backoff if attempts remain, else fail it for good.

    A requeue writes no event and does not wake the workflow (as in assay). The final failure
    sets FAILED, appends ``ActivityFailed {…, final_attempt}`` and wakes the workflow. An
    activity of a finished workflow is CANCELLED instead of retried.
    """
    attempt = int(act["attempt"])
    wf = op.tx.get_workflow(act["workflow_id"], lock=True)
    if wf is None or is_terminal(wf):
        # Nobody waits for it any more: never run it again.
        op.tx.update_activity(act["id"], {"status": "CANCELLED", "error": error,
                                          "completed_at": op.now, "timeout_at": None})
        return
    if attempt < int(act["max_attempts"]):
        at = op.now + retry_delay_s(act)
        op.tx.update_activity(act["id"], {
            "status": "PENDING", "attempt": attempt + 1, "scheduled_at": at, "claimed_by": None,
            "started_at": None, "last_heartbeat": None, "timeout_at": None, "error": error})
        op.deadline(at)
        op.count("activity_retry", name=act["name"], task_queue=act["task_queue"])
        return
    op.tx.update_activity(act["id"], {"status": "FAILED", "error": error, "result": None,
                                      "completed_at": op.now, "timeout_at": None})
    op.event(wf["id"], "ActivityFailed", {
        "activity_id": act["id"], "activity_seq": act["seq"], "name": act["name"],
        "error": error, "final_attempt": attempt})
    op.wake(wf)


def heartbeat_activity(op: Op, activity_id: int, details: Any) -> None:
    """Record a heartbeat of a RUNNING activity and push its heartbeat deadline forward.

    ``details`` may be any JSON value (compat-policy); it is not stored.
    """
    act = _require(op, activity_id)
    if act["status"] != "RUNNING":
        return
    fields: dict[str, Any] = {"last_heartbeat": op.now}
    hb = act["heartbeat_timeout_secs"]
    if hb is not None:
        started = act["started_at"] if act["started_at"] is not None else op.now
        fields["timeout_at"] = min(started + float(act["start_to_close_secs"]), op.now + float(hb))
    op.tx.update_activity(activity_id, fields)


def expire_timed_out(op: Op, limit: int) -> int:
    """Retry (or finally fail) RUNNING activities past their start-to-close or heartbeat
    deadline. Returns how many were handled."""
    rows = op.tx.timed_out_activities(op.now, limit)
    for act in rows:
        started = act["started_at"] if act["started_at"] is not None else op.now
        by_close = started + float(act["start_to_close_secs"]) <= op.now
        op.count("activity_timeout", name=act["name"], task_queue=act["task_queue"])
        retry_or_fail(op, act, START_TO_CLOSE_ERROR if by_close else HEARTBEAT_TIMEOUT_ERROR)
    return len(rows)


def retry_dead_workers(op: Op, limit: int) -> int:
    """Retry RUNNING activities whose worker and the activity itself went silent for
    ``settings.worker_dead_after_s``. Returns how many were handled."""
    cutoff = op.now - op.settings.worker_dead_after_s
    rows = op.tx.activities_of_dead_workers(cutoff, limit)
    for act in rows:
        logger.warning("activity %s: worker %s is gone; retrying", act["id"], act["claimed_by"],
                       extra={"activity_id": act["id"], "workflow_id": act["workflow_id"],
                              "worker_id": act["claimed_by"]})
        retry_or_fail(op, act, WORKER_LOST_ERROR)
    return len(rows)
