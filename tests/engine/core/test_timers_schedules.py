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


def test_timer_fires_through_run_due_and_wakes(core: Engine, clock: FakeClock) -> None:
    core.start_workflow(workflow_type="T", workflow_id="w1")
    assert poll_task(core, queue="default", worker_id="k") is not None
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 10}])
    t0 = clock.now()
    assert core.run_due() == t0 + 10
    scheduled = core.list_events("w1")[-1]
    assert scheduled["payload"] == (
        f'{{"duration_secs":10.0,"fire_at":{t0 + 10},"timer_id":1,"timer_seq":1}}')
    clock.advance(9.5)
    core.run_due()
    assert poll_task(core, queue="default", worker_id="k") is None
    clock.advance(0.5)
    assert core.run_due() is None
    task = poll_task(core, queue="default", worker_id="k")
    assert task is not None
    assert task["history"][-1]["event_type"] == "TimerFired"
    assert task["history"][-1]["payload"] == {"timer_seq": 1, "fire_at": t0 + 10}
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 10}])
    assert [e["event_type"] for e in core.list_events("w1")].count("TimerScheduled") == 1


def test_run_due_with_nothing_to_do(core: Engine) -> None:
    assert core.run_due() is None


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
def test_invalid_cron_is_rejected(core: Engine, expr: str) -> None:
    with pytest.raises(InvalidRequestError):
        core.create_schedule(name="s", workflow_type="T", cron_expr=expr)


def test_schedule_first_runs_at_the_next_match_then_repeats(core: Engine,
                                                            clock: FakeClock) -> None:
    clock.set(MONDAY + 1)
    sched = core.create_schedule(name="tick", workflow_type="T", cron_expr="0 * * * *",
                                   input={"k": 1}, overlap_policy="allow_all")
    assert sched["next_run_at"] == MONDAY + 3600 and sched["paused"] is False
    assert sched["input"] == '{"k":1}' and sched["task_queue"] == "default"
    assert core.run_due() == MONDAY + 3600
    assert core.list_workflows() == []
    clock.set(MONDAY + 3600)
    core.run_due()
    wid = f"tick-{int(MONDAY + 3600)}"
    wf = core.get_workflow(wid)
    assert wf["run_id"] == f"run-{wid}" and wf["input"] == '{"k":1}'
    got = core.get_schedule("tick")
    assert got["last_run_at"] == MONDAY + 3600 and got["last_workflow_id"] == wid
    assert got["next_run_at"] == MONDAY + 7200
    clock.set(MONDAY + 5 * 3600 + 5)  # missed runs are not caught up
    core.run_due()
    assert len(core.list_workflows()) == 2


def test_skip_overlap_policy(core: Engine, clock: FakeClock) -> None:
    clock.set(MONDAY)
    core.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *")
    clock.set(MONDAY + 60)
    core.run_due()
    clock.set(MONDAY + 120)
    core.run_due()
    assert len(core.list_workflows()) == 1
    assert core.get_schedule("s")["last_run_at"] == MONDAY + 120


def test_cancel_old_overlap_policy(core: Engine, clock: FakeClock) -> None:
    clock.set(MONDAY)
    core.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *",
                           overlap_policy="cancel_old")
    clock.set(MONDAY + 60)
    core.run_due()
    clock.set(MONDAY + 120)
    core.run_due()
    first, second = f"s-{int(MONDAY + 60)}", f"s-{int(MONDAY + 120)}"
    assert core.get_workflow(first)["status"] == "CANCELLED"
    assert core.get_workflow(second)["status"] == "PENDING"


def test_pause_resume_delete(core: Engine, clock: FakeClock) -> None:
    clock.set(MONDAY)
    core.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *",
                           namespace="ns")
    with pytest.raises(ConflictError):
        core.create_schedule(name="s", workflow_type="T", cron_expr="* * * * *",
                               namespace="ns")
    assert core.pause_schedule("s", namespace="ns")["paused"] is True
    clock.set(MONDAY + 600)
    assert core.run_due() is None
    assert core.list_workflows(namespace="ns") == []
    resumed = core.resume_schedule("s", namespace="ns")
    assert resumed["paused"] is False and resumed["next_run_at"] == MONDAY + 660
    assert [s["name"] for s in core.list_schedules(namespace="ns")] == ["s"]
    assert core.list_schedules() == []
    core.delete_schedule("s", namespace="ns")
    for call in (core.get_schedule, core.delete_schedule, core.pause_schedule):
        with pytest.raises(NotFoundError, match="not found: schedule s"):
            call("s", namespace="ns")


def test_next_idle_deadline_is_the_next_wait_on_time_once_nothing_is_in_hand(
        core: Engine, clock: FakeClock) -> None:
    assert core.next_idle_deadline() is None  # nothing scheduled
    core.start_workflow(workflow_type="T", workflow_id="w1")
    assert core.next_idle_deadline() is None  # a workflow task to take
    assert poll_task(core, queue="default", worker_id="k") is not None
    assert core.next_idle_deadline() is None  # one in hand
    t0 = clock.now()
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 86400}])
    assert core.next_idle_deadline() == t0 + 86400
    core.start_workflow(workflow_type="T", workflow_id="w2")
    assert core.next_idle_deadline() is None  # w2's task is ready
    assert poll_task(core, queue="default", worker_id="k") is not None
    assert core.next_idle_deadline() is None  # and now in hand
    core.submit_commands("w2", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "task_queue": "default"}])
    assert core.next_idle_deadline() is None  # its activity is ready
    act = core.poll_activity_task(queue="default", worker_id="k")
    assert act is not None
    assert core.next_idle_deadline() is None  # and running
    core.fail_activity(act["id"], "boom")  # retried after a backoff: a wait on time
    retry_at = core.get_activity(act["id"])["scheduled_at"]
    assert t0 < retry_at < t0 + 86400
    assert core.next_idle_deadline() == retry_at
    core.terminate_workflow("w2")
    assert core.next_idle_deadline() == t0 + 86400
    core.create_schedule(name="hourly", workflow_type="T", cron_expr="0 * * * *")
    nxt = core.get_schedule("hourly")["next_run_at"]
    assert core.next_idle_deadline() == min(t0 + 86400, nxt)
