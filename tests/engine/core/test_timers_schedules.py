"""Durable timers through run_due, and cron schedules (compat-policy fixes)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.ops.schedules import next_run_after
from bridge.errors import ConflictError, InvalidRequestError, NotFoundError
from tests.helpers import poll_task

# 2024-01-01 00:00:00 UTC, a Monday.
MONDAY = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()


def test_timer_fires_through_run_due_and_wakes(engine: Engine, clock: FakeClock) -> None:
    engine.start_workflow(workflow_type="T", workflow_id="w1")
    assert poll_task(engine, queue="default", worker_id="k") is not None
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 10}])
    t0 = clock.now()
    assert engine.run_due() == t0 + 10
    scheduled = engine.list_events("w1")[-1]
    assert scheduled["payload"] == (
        f'{{"duration_secs":10.0,"fire_at":{t0 + 10},"timer_id":1,"timer_seq":1}}')
    clock.advance(9.5)
    engine.run_due()
    assert poll_task(engine, queue="default", worker_id="k") is None
    clock.advance(0.5)
    assert engine.run_due() is None
    task = poll_task(engine, queue="default", worker_id="k")
    assert task is not None
    assert task["history"][-1]["event_type"] == "TimerFired"
    assert task["history"][-1]["payload"] == {"timer_seq": 1, "fire_at": t0 + 10}
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 10}])
    assert [e["event_type"] for e in engine.list_events("w1")].count("TimerScheduled") == 1


def test_run_due_with_nothing_to_do(engine: Engine) -> None:
    assert engine.run_due() is None


@pytest.mark.parametrize(("expr", "expected"), [
    ("*/5 * * * *", MONDAY + 300),                # 5 fields, minute first
    ("*/10 * * * * *", MONDAY + 10),              # 6 fields, seconds first
    ("0 0 12 * * MON-FRI", MONDAY + 12 * 3600),
    ("0 0 12 * * 2", MONDAY + 12 * 3600),         # assay: Sunday = 1, so 2 = Monday
    ("0 0 12 * * 1", MONDAY + 6 * 86400 + 12 * 3600),
    ("0 0 0 1 1 * 2030", datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()),
    ("@hourly", MONDAY + 3600),
])
def test_cron_forms(expr: str, expected: float) -> None:
    assert next_run_after(expr, MONDAY) == expected


@pytest.mark.parametrize("expr", ["", "* * *", "61 * * * *", "0 0 0 * * 8", "nonsense"])
def test_invalid_cron_is_rejected(engine: Engine, expr: str) -> None:
    with pytest.raises(InvalidRequestError):
        engine.create_schedule(name="s", workflow_type="T", cron_expr=expr)


def test_schedule_first_runs_at_the_next_match_then_repeats(engine: Engine,
                                                            clock: FakeClock) -> None:
    clock.set(MONDAY + 1)
    sched = engine.create_schedule(name="tick", workflow_type="T", cron_expr="0 * * * *",
                                   input={"k": 1}, overlap_policy="allow_all")
    assert sched["next_run_at"] == MONDAY + 3600 and sched["paused"] is False
    assert sched["input"] == '{"k":1}' and sched["task_queue"] == "default"
    assert engine.run_due() == MONDAY + 3600
    assert engine.list_workflows() == []
    clock.set(MONDAY + 3600)
    engine.run_due()
    wid = f"tick-{int(MONDAY + 3600)}"
    wf = engine.get_workflow(wid)
    assert wf["run_id"] == f"run-{wid}" and wf["input"] == '{"k":1}'
    got = engine.get_schedule("tick")
    assert got["last_run_at"] == MONDAY + 3600 and got["last_workflow_id"] == wid
    assert got["next_run_at"] == MONDAY + 7200
    clock.set(MONDAY + 5 * 3600 + 5)  # missed runs are not caught up
    engine.run_due()
    assert len(engine.list_workflows()) == 2


def test_skip_overlap_policy(engine: Engine, clock: FakeClock) -> None:
    clock.set(MONDAY)
    engine.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *")
    clock.set(MONDAY + 60)
    engine.run_due()
    clock.set(MONDAY + 120)
    engine.run_due()
    assert len(engine.list_workflows()) == 1
    assert engine.get_schedule("s")["last_run_at"] == MONDAY + 120


def test_cancel_old_overlap_policy(engine: Engine, clock: FakeClock) -> None:
    clock.set(MONDAY)
    engine.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *",
                           overlap_policy="cancel_old")
    clock.set(MONDAY + 60)
    engine.run_due()
    clock.set(MONDAY + 120)
    engine.run_due()
    first, second = f"s-{int(MONDAY + 60)}", f"s-{int(MONDAY + 120)}"
    assert engine.get_workflow(first)["status"] == "CANCELLED"
    assert engine.get_workflow(second)["status"] == "PENDING"


def test_pause_resume_delete(engine: Engine, clock: FakeClock) -> None:
    clock.set(MONDAY)
    engine.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *",
                           namespace="ns")
    with pytest.raises(ConflictError):
        engine.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *",
                               namespace="ns")
    assert engine.pause_schedule("s", namespace="ns")["paused"] is True
    clock.set(MONDAY + 600)
    assert engine.run_due() is None
    assert engine.list_workflows(namespace="ns") == []
    resumed = engine.resume_schedule("s", namespace="ns")
    assert resumed["paused"] is False and resumed["next_run_at"] == MONDAY + 660
    assert [s["name"] for s in engine.list_schedules(namespace="ns")] == ["s"]
    assert engine.list_schedules() == []
    engine.delete_schedule("s", namespace="ns")
    for call in (engine.get_schedule, engine.delete_schedule, engine.pause_schedule):
        with pytest.raises(NotFoundError, match="not found: schedule s"):
            call("s", namespace="ns")
