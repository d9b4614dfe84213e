"""Durable timers, signals, signal waits and side effects (engine-api §3.4, §3.6, §3.7).

Corrections of assay v0.11.2 (compat-policy.md): a signal to an unknown workflow is 404 and to
a finished one 409; ``WaitForSignal`` and ``RecordSideEffect`` are idempotent (per wait / per
seq; the first recorded value wins), so a replay never duplicates their events.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.op import Op, is_terminal
from bridge.engine.ops.workflows import require_workflow
from bridge.engine.records import optional_json_text
from bridge.engine.store.base import Row
from bridge.errors import ConflictError


def schedule_timer(op: Op, wf: Row, seq: int, duration_secs: float) -> None:
    """ScheduleTimer: idempotent on (workflow_id, seq); appends ``TimerScheduled``."""
    duration = max(0.0, float(duration_secs))
    fire_at = op.now + duration
    timer_id = op.tx.insert_timer(wf["id"], seq, fire_at)
    if timer_id is None:
        return
    op.event(wf["id"], "TimerScheduled", {"timer_id": timer_id, "timer_seq": seq,
                                          "fire_at": fire_at, "duration_secs": duration})
    op.deadline(fire_at)


def fire_due_timers(op: Op, limit: int) -> int:
    """Fire every unfired timer with ``fire_at <= now``: ``TimerFired`` and a wake-up.

    Timers of finished workflows are marked fired without an event. Returns the count.
    """
    rows = op.tx.take_due_timers(op.now, limit)
    for timer in rows:
        wf = op.tx.get_workflow(timer["workflow_id"], lock=True)
        if wf is None or is_terminal(wf):
            continue
        op.event(wf["id"], "TimerFired", {"timer_seq": timer["seq"], "fire_at": timer["fire_at"]})
        op.wake(wf)
    return len(rows)


def signal_workflow(op: Op, workflow_id: str, name: str, payload: Any) -> None:
    """Buffer a signal in history as ``SignalReceived {signal, payload}`` and wake the workflow."""
    wf = require_workflow(op, workflow_id)
    if is_terminal(wf):
        raise ConflictError(f"workflow {workflow_id} is already {wf['status']}")
    op.tx.insert_signal(workflow_id, name, optional_json_text(payload), op.now)
    op.event(workflow_id, "SignalReceived", {"signal": name, "payload": payload})
    op.wake(wf)


def wait_for_signal(op: Op, wf: Row, name: str) -> None:
    """WaitForSignal: ``WorkflowAwaitingSignal`` once per wait.

    A wait is identified by the signal name and how many signals of that name had arrived; a
    replay that reaches the same wait again appends nothing. Never wakes the workflow.
    """
    count = op.tx.count_signals(wf["id"], name)
    if op.tx.insert_signal_wait(wf["id"], name, count):
        op.event(wf["id"], "WorkflowAwaitingSignal", {"signal": name})


def record_side_effect(op: Op, wf: Row, seq: int, name: str, value: Any) -> None:
    """RecordSideEffect: ``SideEffectRecorded`` once per seq (first value wins), then wake the
    workflow so the replay continues past it (engine-api §7)."""
    if op.tx.insert_side_effect(wf["id"], seq):
        op.event(wf["id"], "SideEffectRecorded",
                 {"side_effect_seq": seq, "name": name, "value": value})
    op.wake(wf)
