"""What a live workflow waits on, and which workflows wait on something no live worker serves.

A RUNNING (or PENDING) workflow is always waiting for something: a worker to take its
workflow task, an activity to be taken or to finish, a timer, a signal, a child. assay shows
none of it, so a workflow whose type or activity no live worker serves looks exactly like a
slow one. :func:`waiting_on` lists each wait with a line a person can read; a wait that needs
a worker carries ``served``, whether a live worker on that queue registered the name.
:func:`stalled_ids` finds the workflows with at least one wait that nobody serves.
"""

from __future__ import annotations

import time
from typing import Any

from bridge.engine.op import Op, is_terminal
from bridge.engine.ops.workers import Served, is_served, live_served
from bridge.engine.store.base import Row

_NOBODY = ": no live worker serves it"


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))


def waiting_on(op: Op, wf: Row) -> list[dict[str, Any]]:
    """The waits of workflow ``wf``, each ``{kind, text, ...}``; ``[]`` once it is finished.

    Kinds: ``workflow_task`` (a worker must take its next decision), ``activity``, ``timer``,
    ``signal``, ``child``.
    """
    if is_terminal(wf):
        return []
    waits: list[dict[str, Any]] = []
    by_queue = live_served(op)
    queue, wf_type = wf["task_queue"], wf["workflow_type"]
    if wf.get("dispatch_claimed_by"):
        waits.append({"kind": "workflow_task", "queue": queue, "workflow_type": wf_type,
                      "claimed_by": wf["dispatch_claimed_by"], "served": True,
                      "text": f"worker {wf['dispatch_claimed_by']} is running its next step"})
    elif wf.get("needs_dispatch"):
        served = is_served(by_queue, "workflow_task", wf_type, queue)
        waits.append({"kind": "workflow_task", "queue": queue, "workflow_type": wf_type,
                      "served": served,
                      "text": f"a worker for workflow type '{wf_type}' on queue '{queue}'"
                              + ("" if served else _NOBODY)})
    for act in op.tx.list_activities(wf["id"], ("PENDING", "RUNNING")):
        waits.append(_activity_wait(op, act, by_queue))
    for timer in op.tx.list_open_timers(wf["id"]):
        waits.append({"kind": "timer", "seq": timer["seq"], "fire_at": float(timer["fire_at"]),
                      "text": f"timer until {_when(float(timer['fire_at']))}"})
    for wait in op.tx.list_signal_waits(wf["id"]):
        if op.tx.count_signals(wf["id"], wait["name"]) <= int(wait["signal_count"]):
            waits.append({"kind": "signal", "name": wait["name"],
                          "text": f"signal '{wait['name']}'"})
    for child in op.tx.list_children(wf["id"]):
        if not is_terminal(child):
            waits.append({"kind": "child", "workflow_id": child["id"],
                          "workflow_type": child["workflow_type"], "status": child["status"],
                          "text": f"child workflow {child['id']} ({child['workflow_type']}, "
                                  f"{child['status']})"})
    return waits


def _activity_wait(op: Op, act: Row, by_queue: dict[str, list[Served]]) -> dict[str, Any]:
    name, queue = act["name"], act["task_queue"]
    wait: dict[str, Any] = {"kind": "activity", "activity_id": act["id"], "name": name,
                            "queue": queue, "status": act["status"], "attempt": act["attempt"]}
    if act["status"] == "RUNNING":
        wait.update(served=True, claimed_by=act["claimed_by"],
                    text=f"activity '{name}' running on worker {act['claimed_by']}")
        return wait
    served = is_served(by_queue, "activity", name, queue)
    text = f"activity '{name}' on queue '{queue}'"
    if float(act["scheduled_at"]) > op.now:
        text += f", attempt {act['attempt']} from {_when(float(act['scheduled_at']))}"
    wait.update(served=served, text=text + ("" if served else _NOBODY))
    return wait


def stalled_ids(op: Op, namespace: str) -> set[str]:
    """Ids of live workflows of ``namespace`` with a workflow task or a ready activity that no
    live worker serves."""
    by_queue = live_served(op)
    return {row["workflow_id"] for row in op.tx.dispatch_waits(namespace, op.now)
            if not is_served(by_queue, row["kind"], row["name"], row["task_queue"])}
