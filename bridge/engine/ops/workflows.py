"""Workflow lifecycle: start, read, cancel, terminate, continue-as-new, and how a run finishes.

Every function takes an open :class:`~bridge.engine.op.Op`. Where assay v0.11.2 has a bug
(engine-api §6) the correct behaviour of compat-policy.md is implemented and the docstring says so.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.engine.op import Op, is_terminal
from bridge.engine.ops import waits
from bridge.engine.records import event_record, parse_json_text, workflow_record
from bridge.engine.store.base import Row
from bridge.errors import ConflictError, WorkflowAlreadyExistsError, WorkflowNotFoundError

logger = logging.getLogger(__name__)

#: Activities not yet taken by a worker (cancelled when cancellation is requested).
OPEN_ACTIVITY = ("PENDING",)
#: Activities cancelled when their workflow finishes: nobody waits for their result any more,
#: and a late completion of a running one is ignored.
UNFINISHED_ACTIVITY = ("PENDING", "RUNNING")


def rest_run_id(workflow_id: str, now: float) -> str:
    """The run id assay gives REST starts, children and continue-as-new (engine-api §0)."""
    return f"run-{workflow_id}-{int(now)}"


def require_workflow(op: Op, workflow_id: str) -> Row:
    """The workflow row, locked for the transaction, or :class:`WorkflowNotFoundError`."""
    wf = op.tx.get_workflow(workflow_id, lock=True)
    if wf is None:
        raise WorkflowNotFoundError(f"not found: workflow {workflow_id}")
    return wf


def _require_live(op: Op, workflow_id: str) -> Row:
    wf = op.tx.get_workflow(workflow_id, lock=True)
    if wf is None or is_terminal(wf):
        raise WorkflowNotFoundError(
            f"not found: workflow {workflow_id} not found or already terminal")
    return wf


def unique_workflow_id(op: Op, candidate: str) -> str:
    """``candidate``, or ``candidate-2``, ``-3``... if taken (generated ids must not collide)."""
    wid, n = candidate, 1
    while op.tx.get_workflow(wid) is not None:
        n += 1
        wid = f"{candidate}-{n}"
    return wid


def _labels(wf: Row) -> dict[str, str]:
    return {"namespace": wf["namespace"], "workflow_type": wf["workflow_type"],
            "task_queue": wf["task_queue"]}


def create_run(op: Op, *, workflow_id: str, workflow_type: str, input_text: str | None,
               task_queue: str, namespace: str, run_id: str, parent_id: str | None = None,
               origin_id: str | None = None) -> Row | None:
    """Insert a PENDING workflow, dispatchable (one write), and append ``WorkflowStarted``
    (seq 1).

    Returns the new row, or None (nothing changed) if the id is taken.
    """
    row: Row = {
        "id": workflow_id, "namespace": namespace, "run_id": run_id,
        "workflow_type": workflow_type, "task_queue": task_queue, "status": "PENDING",
        "input": input_text, "result": None, "error": None, "parent_id": parent_id,
        "origin_id": origin_id, "claimed_by": None, "needs_dispatch": 1,
        "dispatch_claimed_by": None, "dispatch_last_heartbeat": None,
        "created_at": op.now, "updated_at": op.now, "completed_at": None,
    }
    if not op.tx.insert_workflow(row):
        return None
    op.running(workflow_id)
    op.event(workflow_id, "WorkflowStarted", text=input_text)
    op.count("workflow_started", **_labels(row))
    op.announce_task(row)
    return row


def start_workflow(op: Op, *, workflow_type: str, workflow_id: str, input_text: str | None,
                   task_queue: str, namespace: str) -> dict[str, Any]:
    """POST /workflows (engine-api §1.2). compat-policy: a duplicate id is 409, not 500."""
    run_id = rest_run_id(workflow_id, op.now)
    if create_run(op, workflow_id=workflow_id, workflow_type=workflow_type,
                  input_text=input_text, task_queue=task_queue, namespace=namespace,
                  run_id=run_id) is None:
        raise WorkflowAlreadyExistsError(f"workflow {workflow_id} already exists")
    return {"workflow_id": workflow_id, "run_id": run_id, "status": "PENDING"}


def get_workflow(op: Op, workflow_id: str, *, waiting_on: bool = True) -> dict[str, Any]:
    """One WorkflowRecord with ``waiting_on`` (what a live workflow waits on, see
    :mod:`bridge.engine.ops.waits`), or :class:`WorkflowNotFoundError`. Without
    ``waiting_on``, a live workflow's record has no ``waiting_on`` (one statement, no more)."""
    wf = op.tx.get_workflow(workflow_id)
    if wf is None:
        raise WorkflowNotFoundError(f"not found: workflow {workflow_id}")
    record = workflow_record(wf)
    if waiting_on or is_terminal(wf):
        record["waiting_on"] = waits.waiting_on(op, wf)
    return record


def list_workflows(op: Op, *, namespace: str, status: str | None, workflow_type: str | None,
                   limit: int, offset: int, stalled: bool = False) -> list[dict[str, Any]]:
    """WorkflowRecords of a namespace, newest first; with ``stalled``, only those waiting on a
    workflow type or activity that no live worker serves."""
    limit, offset = max(0, limit), max(0, offset)
    if not stalled:
        rows = op.tx.list_workflows(namespace=namespace, status=status,
                                    workflow_type=workflow_type, limit=limit, offset=offset)
        return [workflow_record(r) for r in rows]
    found = [wf for wf in map(op.tx.get_workflow, waits.stalled_ids(op, namespace))
             if wf is not None and (status is None or wf["status"] == status)
             and (workflow_type is None or wf["workflow_type"] == workflow_type)]
    found.sort(key=lambda wf: (-float(wf["created_at"]), wf["id"]))
    return [workflow_record(r) for r in found[offset:offset + limit]]


def list_events(op: Op, workflow_id: str) -> list[dict[str, Any]]:
    """The history as ``GET /events`` gives it (``[]`` for an unknown workflow, as in assay)."""
    return [event_record(r) for r in op.tx.list_events(workflow_id)]


def list_children(op: Op, workflow_id: str) -> list[dict[str, Any]]:
    """Child WorkflowRecords, oldest first."""
    return [workflow_record(r) for r in op.tx.list_children(workflow_id)]


def finish(op: Op, wf: Row, status: str, *, event_type: str, payload: Any = None,
           text: str | None = None, use_text: bool = False, result_text: str | None = None,
           error: str | None = None, parent_error: str | None = None,
           tell_parent: bool = True) -> None:
    """Move a live workflow to a terminal ``status``, once (compat-policy: terminal is final).

    Appends ``event_type``; cancels the run's pending activities and unfired timers; drops
    its workflow-task lease; tells the parent (``ChildWorkflowCompleted`` for COMPLETED, else
    ``ChildWorkflowFailed`` with ``parent_error`` or ``error``), which assay does only for
    CompleteWorkflow/FailWorkflow (engine-api §3.9, §6.1 item 3).
    """
    if is_terminal(wf):
        return
    fields = {"status": status, "updated_at": op.now, "completed_at": op.now,
              "needs_dispatch": 0, "dispatch_claimed_by": None, "dispatch_last_heartbeat": None}
    if result_text is not None:
        fields["result"] = result_text
    if error is not None:
        fields["error"] = error
    op.tx.update_workflow(wf["id"], fields)
    op.finished(wf["id"])
    wf.update(fields)
    if use_text:
        op.event(wf["id"], event_type, text=text)
    else:
        op.event(wf["id"], event_type, payload)
    for act in op.tx.list_activities(wf["id"], UNFINISHED_ACTIVITY):
        op.tx.update_activity(act["id"], {"status": "CANCELLED", "completed_at": op.now,
                                          "timeout_at": None})
    op.tx.cancel_timers(wf["id"])
    record = workflow_record(wf)
    record["waiting_on"] = waits.waiting_on(op, wf)  # [] once finished, as a read gives it
    op.notify("workflow_terminal", {"workflow_id": wf["id"], "status": status, "record": record})
    op.count("workflow_" + status.lower(), **_labels(wf))
    if tell_parent and wf.get("parent_id"):
        _tell_parent(op, wf, status, result_text, parent_error or error or status.lower())


def _tell_parent(op: Op, child: Row, status: str, result_text: str | None, error: str) -> None:
    parent = op.tx.get_workflow(child["parent_id"], lock=True)
    if parent is None or is_terminal(parent):
        return
    # A continued-as-new child reports under the id the parent started it with.
    child_id = child.get("origin_id") or child["id"]
    if status == "COMPLETED":
        op.event(parent["id"], "ChildWorkflowCompleted",
                 {"child_workflow_id": child_id, "result": parse_json_text(result_text)})
    else:
        op.event(parent["id"], "ChildWorkflowFailed",
                 {"child_workflow_id": child_id, "error": error})
    op.wake(parent)


def complete(op: Op, wf: Row, result_text: str | None) -> None:
    """The CompleteWorkflow outcome: COMPLETED, ``WorkflowCompleted`` (payload = raw result)."""
    finish(op, wf, "COMPLETED", event_type="WorkflowCompleted", text=result_text,
           use_text=True, result_text=result_text)


def fail(op: Op, wf: Row, error: str) -> None:
    """The FailWorkflow outcome: FAILED, ``WorkflowFailed {error}``."""
    finish(op, wf, "FAILED", event_type="WorkflowFailed", payload={"error": error}, error=error)


def cancelled(op: Op, wf: Row) -> None:
    """Finalise a cancellation: CANCELLED, ``WorkflowCancelled`` (payload null)."""
    finish(op, wf, "CANCELLED", event_type="WorkflowCancelled", parent_error="cancelled")


def cancel_workflow(op: Op, workflow_id: str) -> None:
    """POST /cancel: the two-phase cancel of engine-api §3.8, cascading to children.

    A PENDING workflow nobody has claimed is finalised at once; otherwise the next replay
    sees ``WorkflowCancelRequested`` and submits ``CancelWorkflow``. Unlike assay, the parent is
    told when a child ends cancelled.
    """
    _request_cancel(op, _require_live(op, workflow_id))


def _request_cancel(op: Op, wf: Row) -> None:
    for act in op.tx.list_activities(wf["id"], UNFINISHED_ACTIVITY):
        op.tx.update_activity(act["id"], {"status": "CANCELLED", "completed_at": op.now,
                                          "timeout_at": None})
    op.tx.cancel_timers(wf["id"])
    op.event(wf["id"], "WorkflowCancelRequested")
    op.wake(wf)
    for child in op.tx.list_children(wf["id"]):
        if not is_terminal(child):
            _request_cancel(op, child)
    if wf["status"] == "PENDING" and wf.get("dispatch_claimed_by") is None:
        cancelled(op, wf)


def terminate_workflow(op: Op, workflow_id: str, reason: str | None) -> None:
    """POST /terminate. compat-policy: besides FAILED with ``error = reason or "terminated"``,
    writes ``WorkflowTerminated {reason}``, cancels pending activities and timers, fences the
    lease holder, tells the parent and terminates live children."""
    _terminate(op, _require_live(op, workflow_id), reason or "terminated")


def _terminate(op: Op, wf: Row, reason: str) -> None:
    finish(op, wf, "FAILED", event_type="WorkflowTerminated", payload={"reason": reason},
           error=reason)
    for child in op.tx.list_children(wf["id"]):
        if not is_terminal(child):
            _terminate(op, child, f"parent workflow {wf['id']} terminated")


def continue_run(op: Op, wf: Row, input_text: str | None, *, workflow_type: str | None = None,
                 task_queue: str | None = None) -> Row:
    """Close ``wf`` as COMPLETED and start its next run ``{id}-continued-{secs}``.

    The new run keeps namespace, type and queue (unless given), and the parent link, so the
    parent hears of the chain's final outcome under the original child id (``origin_id``).
    The old run gets ``WorkflowContinuedAsNew {new_workflow_id, new_run_id}``.
    """
    new_id = unique_workflow_id(op, f"{wf['id']}-continued-{int(op.now)}")
    run_id = rest_run_id(new_id, op.now)
    finish(op, wf, "COMPLETED", event_type="WorkflowContinuedAsNew",
           payload={"new_workflow_id": new_id, "new_run_id": run_id}, tell_parent=False)
    new = create_run(op, workflow_id=new_id, workflow_type=workflow_type or wf["workflow_type"],
                     input_text=input_text, task_queue=task_queue or wf["task_queue"],
                     namespace=wf["namespace"], run_id=run_id, parent_id=wf.get("parent_id"),
                     origin_id=wf.get("origin_id") or wf["id"])
    assert new is not None  # the id was checked free inside this transaction
    return new


def continue_as_new(op: Op, workflow_id: str, input_text: str | None) -> dict[str, Any]:
    """POST /continue-as-new. compat-policy: 404 for an unknown id and 409 for a finished
    run (assay re-completes it); the id never collides."""
    wf = require_workflow(op, workflow_id)
    if is_terminal(wf):
        raise ConflictError(f"workflow {workflow_id} is already {wf['status']}")
    new = continue_run(op, wf, input_text)
    return {"workflow_id": new["id"], "run_id": new["run_id"], "status": "PENDING"}
