"""The dispatch rules: workflow-task claim, lease release and expiry, and every command a worker
submits (engine-api §3.1-§3.4, §7).

* **Claim** (:func:`poll_workflow_task`): the dispatchable, unleased, live workflow on the queue
  with the oldest ``updated_at``; PENDING becomes RUNNING; the whole history comes back with
  ``input`` and payloads parsed.
* **Commands** (:func:`submit_commands`), corrected per compat-policy.md:

  - the batch is checked first: an unknown ``type`` rejects it whole (400), nothing applied;
  - the submitter must hold the lease, else 409 (fencing), nothing applied;
  - commands run in order inside one transaction; once the workflow is terminal the rest of
    the batch is ignored (terminal states are final);
  - then the lease is released, and a wake-up that arrived meanwhile dispatches again.

* **Lease expiry** (:func:`release_expired_leases`): a lease older than ``dispatch_timeout_s``
  is dropped and the workflow made dispatchable again.

Command fields are read leniently, as assay does: a missing or wrongly typed field takes its
default. Queues default to ``"default"`` inside commands (engine-api §3.4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bridge.engine.op import Op, is_terminal
from bridge.engine.history import HistoryCache
from bridge.engine.ops import activities, timers_signals, workflows
from bridge.engine.records import parse_json_text, to_json_text, wire_json
from bridge.engine.store.base import Row
from bridge.errors import InvalidRequestError, LeaseLostError
from bridge.wire import DEFAULT_QUEUE

logger = logging.getLogger(__name__)

DEFAULT_COMMAND_QUEUE = DEFAULT_QUEUE
DEFAULT_FAIL_ERROR = "workflow handler raised an error"


# -- claim and lease ------------------------------------------------------------------------
def _claim_workflow_task(op: Op, queue: str, worker_id: str,
                         types: Sequence[str] | None) -> Row | None:
    wf = op.tx.claim_workflow_task(queue=queue, worker_id=worker_id, now=op.now, types=types,
                                   start=True)  # PENDING becomes RUNNING in the claim itself
    if wf is None:
        return None
    op.deadline(op.now + op.settings.dispatch_timeout_s)
    return wf


def poll_workflow_task(op: Op, queue: str, worker_id: str, histories: HistoryCache,
                       types: Sequence[str] | None = None) -> str | None:
    """Claim one workflow task on ``queue`` for ``worker_id`` (engine-api §1.4, §3.2), of one of
    ``types`` when given (the types the worker registered): the JSON text of
    ``{workflow_id, namespace, workflow_type, task_queue, input, history}``, the same text
    ``JSONResponse`` makes of that dict, with the history kept in ``histories``; None when
    there is none."""
    wf = _claim_workflow_task(op, queue, worker_id, types)
    if wf is None:
        return None
    head = wire_json({
        "workflow_id": wf["id"], "namespace": wf["namespace"],
        "workflow_type": wf["workflow_type"], "task_queue": wf["task_queue"],
        "input": parse_json_text(wf["input"]),
    })
    return head[:-1] + ',"history":' + histories.render(op.tx, wf["id"]) + "}"


def poll_or_see_activity(op: Op, queue: str, worker_id: str, histories: HistoryCache,
                         types: Sequence[str] | None,
                         names: Sequence[str] | None) -> tuple[str | None, bool]:
    """:func:`poll_workflow_task`, and when there is no workflow task, whether an activity of
    one of ``names`` (None: any) is claimable on ``queue``, in the same transaction:
    ``(task, activity_ready)``."""
    task = poll_workflow_task(op, queue, worker_id, histories, types)
    if task is not None:
        return task, False
    return None, bool(op.tx.has_ready_activity(queue, op.now, names))


def ready_tasks(op: Op, queue: str, types: Sequence[str] | None,
                names: Sequence[str] | None) -> tuple[bool, bool]:
    """``(workflow_task, activity)``: whether :func:`poll_workflow_task` would find a task
    (of one of ``types``) on ``queue``, and whether an activity (of ``names``) is claimable
    there, in one read that claims nothing."""
    return op.tx.ready_tasks(queue, op.now, types, names)


def _release(op: Op, wf: Row) -> None:
    """Drop the lease; the decision to dispatch again is taken on the row as released."""
    if is_terminal(wf) and wf.get("dispatch_claimed_by") is None:
        return  # finishing dropped the lease in this transaction: nothing to release
    released = op.tx.release_workflow_task(wf["id"])
    if released is not None:
        wf.update(released)
    wf["dispatch_claimed_by"] = None
    if wf.get("needs_dispatch") and not is_terminal(wf):
        op.notify("workflow_task", {"queue": wf["task_queue"], "namespace": wf["namespace"],
                                    "workflow_id": wf["id"]})


def release_expired_leases(op: Op, limit: int) -> int:
    """Drop leases older than the dispatch timeout and make those workflows dispatchable."""
    rows = op.tx.expired_leases(op.now - op.settings.dispatch_timeout_s, limit)
    for wf in rows:
        logger.warning("workflow %s: lease of %s expired; dispatching again", wf["id"],
                       wf["dispatch_claimed_by"],
                       extra={"workflow_id": wf["id"], "run_id": wf["run_id"],
                              "worker_id": wf["dispatch_claimed_by"]})
        if is_terminal(wf):
            _release(op, wf)
            continue
        op.tx.update_workflow(wf["id"], {"needs_dispatch": 1})
        wf["needs_dispatch"] = 1
        _release(op, wf)
    return len(rows)


# -- lenient field readers ------------------------------------------------------------------
def _int(cmd: dict[str, Any], key: str, default: int | None) -> int | None:
    v = cmd.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _num(cmd: dict[str, Any], key: str, default: float | None) -> float | None:
    v = cmd.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default


def _str(cmd: dict[str, Any], key: str, default: str) -> str:
    v = cmd.get(key)
    return v if isinstance(v, str) else default


def _input_text(cmd: dict[str, Any]) -> str | None:
    """Present key: its JSON text (``null`` stays the text ``"null"``); absent: NULL."""
    return to_json_text(cmd["input"]) if "input" in cmd else None


def _int_seq(cmd: dict[str, Any]) -> int:
    seq = _int(cmd, "seq", 0)
    assert seq is not None
    return seq


# -- the commands ---------------------------------------------------------------------------
def _schedule_activity(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    activities.schedule_new(
        op, wf, seq=_int_seq(cmd), name=_str(cmd, "name", ""),
        task_queue=_str(cmd, "task_queue", DEFAULT_COMMAND_QUEUE), input_text=_input_text(cmd),
        max_attempts=_int(cmd, "max_attempts", None),
        initial_interval_secs=_num(cmd, "initial_interval_secs", None),
        backoff_coefficient=_num(cmd, "backoff_coefficient", None),
        start_to_close_secs=_num(cmd, "start_to_close_secs", None),
        heartbeat_timeout_secs=_num(cmd, "heartbeat_timeout_secs", None))


def _schedule_timer(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    timers_signals.schedule_timer(op, wf, _int_seq(cmd), _num(cmd, "duration_secs", 0.0) or 0.0)


def _record_side_effect(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    timers_signals.record_side_effect(op, wf, _int_seq(cmd), _str(cmd, "name", ""),
                                      cmd.get("value"))


def _wait_for_signal(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    timers_signals.wait_for_signal(op, wf, _str(cmd, "name", "?"))


def _start_child(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    """StartChildWorkflow: idempotent on the (global) child id (engine-api §3.4).

    If the id belongs to a workflow that is not this parent's child, the parent gets
    ``ChildWorkflowFailed`` instead of waiting forever.
    """
    child_id = _str(cmd, "workflow_id", "")
    child_type = _str(cmd, "workflow_type", "")
    if not child_id or not child_type:
        raise InvalidRequestError("StartChildWorkflow needs workflow_id and workflow_type")
    existing = op.tx.get_workflow(child_id)
    if existing is not None:
        if existing.get("parent_id") != wf["id"]:
            op.event(wf["id"], "ChildWorkflowFailed", {
                "child_workflow_id": child_id,
                "error": f"workflow id {child_id} is already in use"})
            op.wake(wf)
        return
    workflows.create_run(
        op, workflow_id=child_id, workflow_type=child_type, input_text=_input_text(cmd),
        task_queue=_str(cmd, "task_queue", DEFAULT_COMMAND_QUEUE), namespace=wf["namespace"],
        run_id=workflows.rest_run_id(child_id, op.now), parent_id=wf["id"])
    op.event(wf["id"], "ChildWorkflowStarted",
             {"child_workflow_id": child_id, "workflow_type": child_type})


def _complete(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    workflows.complete(op, wf, to_json_text(cmd["result"]) if "result" in cmd else None)


def _fail(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    workflows.fail(op, wf, _str(cmd, "error", DEFAULT_FAIL_ERROR))


def _cancel(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    workflows.cancelled(op, wf)


def _continue_as_new(op: Op, wf: Row, cmd: dict[str, Any]) -> None:
    """ContinueAsNew (an extension; assay ignores it): ``{input?, workflow_type?, task_queue?}``."""
    wtype = cmd.get("workflow_type")
    queue = cmd.get("task_queue")
    workflows.continue_run(op, wf, _input_text(cmd),
                           workflow_type=wtype if isinstance(wtype, str) and wtype else None,
                           task_queue=queue if isinstance(queue, str) and queue else None)


CommandHandler = Callable[[Op, Row, dict[str, Any]], None]

#: Every command type the engine understands, by its wire name.
COMMANDS: dict[str, CommandHandler] = {
    "ScheduleActivity": _schedule_activity,
    "ScheduleTimer": _schedule_timer,
    "RecordSideEffect": _record_side_effect,
    "WaitForSignal": _wait_for_signal,
    "StartChildWorkflow": _start_child,
    "CompleteWorkflow": _complete,
    "FailWorkflow": _fail,
    "CancelWorkflow": _cancel,
    "ContinueAsNew": _continue_as_new,
}


def check_commands(commands: list[dict[str, Any]]) -> None:
    """Reject the batch (InvalidRequestError) if any command has an unknown or missing type."""
    for i, cmd in enumerate(commands):
        kind = cmd.get("type") if isinstance(cmd, dict) else None
        if not isinstance(kind, str) or kind not in COMMANDS:
            raise InvalidRequestError(
                f"unknown command type {kind!r} at index {i}; known: {', '.join(COMMANDS)}")


def submit_commands(op: Op, workflow_id: str, worker_id: str,
                    commands: list[dict[str, Any]]) -> None:
    """Apply a worker's commands and release its lease (see the module docstring)."""
    check_commands(commands)
    wf = workflows.require_workflow(op, workflow_id)
    if wf.get("dispatch_claimed_by") != worker_id:
        raise LeaseLostError(
            f"worker {worker_id} does not hold the workflow task of {workflow_id}")
    for i, cmd in enumerate(commands):
        if is_terminal(wf):
            logger.info("workflow %s is %s; ignoring %s", workflow_id, wf["status"], cmd["type"],
                        extra={"workflow_id": workflow_id, "run_id": wf["run_id"]})
            break
        COMMANDS[cmd["type"]](op, wf, cmd)
        if i + 1 < len(commands):  # after the last one, the release reads the row back
            fresh = op.tx.get_workflow(workflow_id, lock=True)
            assert fresh is not None
            wf = fresh
    _release(op, wf)
