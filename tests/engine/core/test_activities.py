"""Activities: claim, completion, retries with backoff, timeouts, dead workers."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.notify import RecordingNotifier
from bridge.errors import ConflictError, NotFoundError, WorkflowNotFoundError
from tests.helpers import poll_task

T0 = 1_700_000_000.0


def scheduled(core: Engine, **opts: Any) -> int:
    """Start w1 and schedule activity seq 1 through a workflow task; returns its id."""
    core.start_workflow(workflow_type="T", workflow_id="w1")
    assert poll_task(core, queue="default", worker_id="k") is not None
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": {"i": 1}, **opts}])
    return 1


def claim(core: Engine, worker: str = "k") -> dict[str, Any]:
    act = core.poll_activity_task(queue="default", worker_id=worker)
    assert act is not None
    return act


def types(core: Engine) -> list[str]:
    return [e["event_type"] for e in core.list_events("w1")]


def test_claim_shape_and_idle(core: Engine) -> None:
    assert core.poll_activity_task(queue="default", worker_id="k") is None
    scheduled(core)
    assert core.has_ready_activity("default")
    act = claim(core)
    assert act["status"] == "RUNNING" and act["claimed_by"] == "k"
    assert act["input"] == '{"i":1}' and act["attempt"] == 1 and act["started_at"] == T0
    assert not core.has_ready_activity("default")


def test_complete_records_result_and_wakes_once(core: Engine) -> None:
    aid = scheduled(core)
    claim(core)
    core.complete_activity(aid, {"rows": 3})
    core.complete_activity(aid, {"rows": 4})
    assert types(core).count("ActivityCompleted") == 1
    assert core.get_activity(aid)["result"] == '{"rows":3}'
    task = poll_task(core, queue="default", worker_id="k")
    assert task is not None
    assert task["history"][-1]["payload"] == {"activity_id": aid, "activity_seq": 1,
                                              "name": "a", "result": {"rows": 3},
                                              "error": None}


def test_complete_with_nil_result(core: Engine) -> None:
    aid = scheduled(core)
    claim(core)
    core.complete_activity(aid, None)
    assert core.get_activity(aid)["status"] == "COMPLETED"
    assert core.get_activity(aid)["result"] is None


def test_unknown_activity_is_404(core: Engine) -> None:
    with pytest.raises(NotFoundError, match="not found: activity 9 not found"):
        core.get_activity(9)
    with pytest.raises(NotFoundError):
        core.complete_activity(9, None)


def test_failure_retries_after_backoff_then_fails_for_good(
        core: Engine, clock: FakeClock, notifier: RecordingNotifier) -> None:
    aid = scheduled(core, max_attempts=3, initial_interval_secs=2.0, backoff_coefficient=3.0)
    claim(core)
    core.fail_activity(aid, "boom 1")
    act = core.get_activity(aid)
    assert (act["status"], act["attempt"], act["scheduled_at"]) == ("PENDING", 2, T0 + 2)
    assert core.poll_activity_task(queue="default", worker_id="k") is None
    assert core.run_due() == T0 + 2
    clock.advance(2)
    core.run_due()
    assert notifier.kinds("activity_task")[-1] == {"queue": "default", "activity_id": aid}
    claim(core)
    core.fail_activity(aid, "boom 2")
    assert core.get_activity(aid)["scheduled_at"] == T0 + 2 + 6
    clock.advance(6)
    claim(core)
    assert "ActivityFailed" not in types(core)
    core.fail_activity(aid, "boom 3")
    act = core.get_activity(aid)
    assert act["status"] == "FAILED" and act["error"] == "boom 3"
    assert core.list_events("w1")[-1]["payload"] == (
        '{"activity_id":1,"activity_seq":1,"error":"boom 3","final_attempt":3,"name":"a"}')
    assert poll_task(core, queue="default", worker_id="k") is not None
    core.fail_activity(aid, "again")
    assert core.get_activity(aid)["status"] == "FAILED"


def test_max_attempts_one_fails_at_once(core: Engine) -> None:
    aid = scheduled(core, max_attempts=1)
    claim(core)
    core.fail_activity(aid, "x")
    assert core.get_activity(aid)["status"] == "FAILED"


def test_start_to_close_is_enforced(core: Engine, clock: FakeClock) -> None:
    aid = scheduled(core, start_to_close_secs=10.0, max_attempts=2)
    claim(core)
    assert core.run_due() == T0 + 10
    clock.advance(10)
    core.run_due()
    act = core.get_activity(aid)
    assert act["status"] == "PENDING" and act["attempt"] == 2
    assert act["error"] == "start-to-close timeout"
    clock.advance(1)
    claim(core, worker="k2")
    clock.advance(10)
    core.run_due()
    assert core.get_activity(aid)["status"] == "FAILED"
    assert types(core)[-1] == "ActivityFailed"


def test_heartbeat_timeout_requeues_and_heartbeats_extend_it(core: Engine,
                                                             clock: FakeClock) -> None:
    aid = scheduled(core, heartbeat_timeout_secs=5.0)
    claim(core)
    clock.advance(4)
    core.heartbeat_activity(aid, {"progress": 1})
    assert core.get_activity(aid)["last_heartbeat"] == T0 + 4
    clock.advance(4)
    core.run_due()
    assert core.get_activity(aid)["status"] == "RUNNING"
    clock.advance(2)
    core.run_due()
    act = core.get_activity(aid)
    assert act["status"] == "PENDING" and act["error"] == "heartbeat timeout"


def test_late_completion_after_a_timeout_is_accepted(core: Engine, clock: FakeClock) -> None:
    aid = scheduled(core, start_to_close_secs=1.0)
    claim(core)
    clock.advance(1)
    core.run_due()
    core.complete_activity(aid, "late but done")
    assert core.get_activity(aid)["status"] == "COMPLETED"
    assert types(core)[-1] == "ActivityCompleted"


def test_activities_of_a_dead_worker_are_retried(core: Engine, clock: FakeClock) -> None:
    wid = core.register_worker(identity="w", queue="default")
    aid = scheduled(core)
    claim(core, worker=wid)
    clock.advance(59)
    core.run_due()
    assert core.get_activity(aid)["status"] == "RUNNING"
    clock.advance(2)
    core.run_due()
    act = core.get_activity(aid)
    assert act["status"] == "PENDING" and act["error"] == "worker lost"
    clock.advance(30)
    core.run_due()
    assert core.list_workers() == []


def test_a_live_worker_keeps_its_activity(core: Engine, clock: FakeClock) -> None:
    wid = core.register_worker(identity="w", queue="default")
    aid = scheduled(core)
    claim(core, worker=wid)
    for _ in range(4):
        clock.advance(30)
        core.worker_heartbeat(wid)
        core.run_due()
    assert core.get_activity(aid)["status"] == "RUNNING"


def test_rest_scheduling(core: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError):
        core.schedule_activity("nope", name="a", seq=1, task_queue="q")
    core.start_workflow(workflow_type="T", workflow_id="w1")
    act = core.schedule_activity("w1", name="a", seq=1, task_queue="q", input=[1])
    assert act["status"] == "PENDING" and act["input"] == "[1]" and act["task_queue"] == "q"
    assert core.get_workflow("w1")["status"] == "RUNNING"
    again = core.schedule_activity("w1", name="b", seq=1, task_queue="q")
    assert again["id"] == act["id"] and again["name"] == "a"
    core.terminate_workflow("w1")
    with pytest.raises(ConflictError):
        core.schedule_activity("w1", name="a", seq=2, task_queue="q")


def test_completion_of_a_finished_workflows_activity_writes_no_event(core: Engine) -> None:
    aid = scheduled(core)
    claim(core)
    core.terminate_workflow("w1")
    core.complete_activity(aid, 1)
    assert types(core)[-1] == "WorkflowTerminated"


def test_a_finished_workflows_running_activity_is_not_retried(core: Engine,
                                                              clock: FakeClock) -> None:
    aid = scheduled(core, start_to_close_secs=5.0)
    claim(core)
    core.terminate_workflow("w1")
    clock.advance(5)
    core.run_due()
    assert core.get_activity(aid)["status"] == "CANCELLED"
    assert core.poll_activity_task(queue="default", worker_id="k") is None
