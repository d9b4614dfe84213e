"""Dispatch by registered names, what a workflow waits on, stalled workflows, live workers."""

from __future__ import annotations

from typing import Any

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.ops.workers import LIVE_WITHIN_S
from tests.helpers import poll_task


def start(core: Engine, wid: str, wtype: str, queue: str = "q") -> None:
    core.start_workflow(workflow_type=wtype, workflow_id=wid, task_queue=queue)


def waits(core: Engine, wid: str) -> list[dict[str, Any]]:
    return list(core.get_workflow(wid)["waiting_on"])


def test_a_workflow_task_goes_only_to_a_worker_that_registered_its_type(core: Engine) -> None:
    a = core.register_worker(identity="a", queue="q", workflows=["A"], activities=["x"])
    b = core.register_worker(identity="b", queue="q", workflows=["B"], activities=[])
    start(core, "wa", "A")
    start(core, "wb", "B")
    start(core, "wc", "C")
    got_b = poll_task(core, queue="q", worker_id=b)
    assert got_b is not None and got_b["workflow_id"] == "wb"
    assert poll_task(core, queue="q", worker_id=b) is None
    got_a = poll_task(core, queue="q", worker_id=a)
    assert got_a is not None and got_a["workflow_id"] == "wa"
    assert poll_task(core, queue="q", worker_id=a) is None
    # nobody serves C: it waits, untouched, instead of being failed by a wrong worker
    wc = core.get_workflow("wc")
    assert wc["status"] == "PENDING" and wc["claimed_by"] is None
    # a worker that registered no names takes anything, as in assay
    anyone = core.register_worker(identity="old", queue="q")
    got = poll_task(core, queue="q", worker_id=anyone)
    assert got is not None and got["workflow_id"] == "wc"


def test_an_activity_goes_only_to_a_worker_that_registered_its_name(core: Engine) -> None:
    wf_only = core.register_worker(identity="w", queue="q", workflows=["A"], activities=[])
    pricer = core.register_worker(identity="p", queue="q", workflows=[], activities=["price"])
    start(core, "w1", "A")
    core.schedule_activity("w1", name="price", seq=1, task_queue="q")
    core.schedule_activity("w1", name="ship", seq=2, task_queue="q")
    assert core.poll_activity_task(queue="q", worker_id=wf_only) is None
    assert not core.has_ready_activity("q", worker_id=wf_only)
    assert core.has_ready_activity("q", worker_id=pricer)
    got = core.poll_activity_task(queue="q", worker_id=pricer)
    assert got is not None and got["name"] == "price"
    assert core.poll_activity_task(queue="q", worker_id=pricer) is None
    # an activity-only worker never takes workflow tasks
    assert poll_task(core, queue="q", worker_id=pricer) is None
    assert core.has_ready_activity("q")  # "ship" is still there for whoever serves it


def test_a_worker_registered_through_another_instance_is_read_from_the_store(
        core: Engine, backend_url: str, clock: FakeClock) -> None:
    other = Engine.open(backend_url, clock=clock)
    try:
        b = other.register_worker(identity="b", queue="q", workflows=["B"], activities=[])
    finally:
        other.close()
    start(core, "wa", "A")
    assert poll_task(core, queue="q", worker_id=b) is None
    start(core, "wb", "B")
    got = poll_task(core, queue="q", worker_id=b)
    assert got is not None and got["workflow_id"] == "wb"


def test_waiting_on_says_why_a_workflow_waits(core: Engine, clock: FakeClock) -> None:
    start(core, "w1", "A")
    [w] = waits(core, "w1")
    assert w["kind"] == "workflow_task" and w["served"] is False
    assert w["text"] == "a worker for workflow type 'A' on queue 'q': no live worker serves it"
    assert core.list_workflows(stalled=True)[0]["id"] == "w1"

    worker = core.register_worker(identity="a", queue="q", workflows=["A"], activities=["x"])
    [w] = waits(core, "w1")
    assert w["served"] is True and "no live worker" not in w["text"]
    assert core.list_workflows(stalled=True) == []

    assert poll_task(core, queue="q", worker_id=worker) is not None
    [w] = waits(core, "w1")
    assert w["text"] == f"worker {worker} is running its next step"
    core.submit_commands("w1", worker_id=worker, commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "x", "task_queue": "q"},
        {"type": "ScheduleActivity", "seq": 2, "name": "y", "task_queue": "elsewhere"},
        {"type": "ScheduleTimer", "seq": 3, "duration_secs": 60},
        {"type": "WaitForSignal", "name": "approve"},
        {"type": "StartChildWorkflow", "workflow_id": "w1-child", "workflow_type": "Kid",
         "task_queue": "q"}])
    by_kind = {w["kind"] + ":" + str(w.get("name", "")): w for w in waits(core, "w1")}
    assert by_kind["activity:x"]["served"] is True
    assert by_kind["activity:x"]["text"] == "activity 'x' on queue 'q'"
    assert by_kind["activity:y"]["text"] == (
        "activity 'y' on queue 'elsewhere': no live worker serves it")
    assert by_kind["timer:"]["fire_at"] == clock.now() + 60
    assert by_kind["timer:"]["text"].startswith("timer until ")
    assert by_kind["signal:approve"]["text"] == "signal 'approve'"
    assert by_kind["child:"]["text"] == "child workflow w1-child (Kid, PENDING)"
    assert [w["id"] for w in core.list_workflows(stalled=True)] == ["w1", "w1-child"]

    act = core.poll_activity_task(queue="q", worker_id=worker)
    assert act is not None
    running = [w for w in waits(core, "w1") if w.get("name") == "x"]
    assert running[0]["text"] == f"activity 'x' running on worker {worker}"
    core.signal_workflow("w1", "approve", None)
    assert not [w for w in waits(core, "w1") if w["kind"] == "signal"]

    clock.advance(LIVE_WITHIN_S + 1)  # the worker went silent: nothing is served any more
    assert "no live worker serves it" in waits(core, "w1-child")[0]["text"]


def test_stalled_filter_pages_and_keeps_other_filters(core: Engine, clock: FakeClock) -> None:
    for i in range(3):
        start(core, f"s{i}", "Nobody")
        clock.advance(1)
    start(core, "t", "Other")
    assert [w["id"] for w in core.list_workflows(stalled=True, limit=2)] == ["t", "s2"]
    assert [w["id"] for w in core.list_workflows(stalled=True, offset=2)] == ["s1", "s0"]
    assert [w["id"] for w in core.list_workflows(stalled=True, workflow_type="Other")] == ["t"]
    assert core.list_workflows(stalled=True, status="RUNNING") == []


def test_listings_show_live_workers_only(core: Engine, clock: FakeClock) -> None:
    old = core.register_worker(identity="old", queue="q")
    clock.advance(LIVE_WITHIN_S - 1)
    new = core.register_worker(identity="new", queue="q")
    assert [w["id"] for w in core.list_workers()] == [old, new]
    clock.advance(2)
    assert [w["id"] for w in core.list_workers()] == [new]
    assert [(q["queue"], q["workers"]) for q in core.list_queues()] == [("q", 1)]
    core.worker_heartbeat(old)
    assert [w["id"] for w in core.list_workers()] == [old, new]


def test_a_finished_workflow_leaves_no_running_activity_counted(core: Engine) -> None:
    worker = core.register_worker(identity="a", queue="q")
    start(core, "w1", "A")
    core.schedule_activity("w1", name="x", seq=1, task_queue="q")
    act = core.poll_activity_task(queue="q", worker_id=worker)
    assert act is not None
    assert core.list_queues()[0]["running_activities"] == 1
    core.terminate_workflow("w1", "enough")
    assert core.list_queues()[0]["running_activities"] == 0
    assert core.get_activity(act["id"])["status"] == "CANCELLED"
    core.complete_activity(act["id"], {"late": True})  # the worker finishes anyway: ignored
    assert core.get_activity(act["id"])["status"] == "CANCELLED"


def test_a_held_poll_turn_claims_a_task_or_says_whether_an_activity_it_serves_is_ready(
        core: Engine) -> None:
    worker = core.register_worker(identity="w", queue="q", workflows=["A"], activities=["price"])
    assert core.poll_workflow_task_or_activity(queue="q", worker_id=worker) == (None, False)
    start(core, "w1", "A")
    task, ready = core.poll_workflow_task_or_activity(queue="q", worker_id=worker)
    assert task is not None and '"workflow_id":"w1"' in task and not ready
    assert core.get_workflow("w1")["status"] == "RUNNING"
    core.schedule_activity("w1", name="ship", seq=1, task_queue="q")
    assert core.poll_workflow_task_or_activity(queue="q", worker_id=worker) == (None, False)
    core.schedule_activity("w1", name="price", seq=2, task_queue="q")
    assert core.poll_workflow_task_or_activity(queue="q", worker_id=worker) == (None, True)
