"""Workflow lifecycle: start, read, signal, cancel, terminate, children, continue-as-new."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.notify import RecordingNotifier
from bridge.errors import ConflictError, WorkflowAlreadyExistsError, WorkflowNotFoundError
from tests.engine.core.replay import Ctx, drain
from tests.helpers import poll_task

T0 = 1_700_000_000.0


def start(core: Engine, wid: str = "w1", wtype: str = "T", input: Any = None) -> None:
    core.start_workflow(workflow_type=wtype, workflow_id=wid, input=input)


def types(core: Engine, wid: str = "w1") -> list[str]:
    return [e["event_type"] for e in core.list_events(wid)]


def test_start_returns_assay_shape_and_record_has_text_fields(core: Engine) -> None:
    got = core.start_workflow(workflow_type="T", workflow_id="w1", input={"b": 1, "a": [2]})
    assert got == {"workflow_id": "w1", "run_id": f"run-w1-{int(T0)}", "status": "PENDING"}
    wf = core.get_workflow("w1")
    assert wf["input"] == '{"a":[2],"b":1}' and wf["task_queue"] == "default"
    assert wf["namespace"] == "main" and wf["status"] == "PENDING"
    assert set(wf) == {"id", "namespace", "run_id", "workflow_type", "task_queue", "status",
                       "input", "result", "error", "parent_id", "claimed_by", "created_at",
                       "updated_at", "completed_at", "waiting_on"}
    ev = core.list_events("w1")
    assert ev == [{"id": ev[0]["id"], "workflow_id": "w1", "seq": 1,
                   "event_type": "WorkflowStarted", "payload": '{"a":[2],"b":1}',
                   "timestamp": T0}]


def test_start_without_input_and_with_null_namespace(core: Engine) -> None:
    core.start_workflow(workflow_type="T", workflow_id="w1", namespace=None)
    assert core.get_workflow("w1")["input"] is None
    assert core.list_events("w1")[0]["payload"] is None
    assert core.get_workflow("w1")["namespace"] == "main"


def test_duplicate_workflow_id_is_409_and_changes_nothing(core: Engine) -> None:
    start(core, input=1)
    with pytest.raises(WorkflowAlreadyExistsError):
        start(core, wtype="Other", input=2)
    assert core.get_workflow("w1")["workflow_type"] == "T"
    assert len(core.list_events("w1")) == 1


def test_unknown_workflow(core: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError, match="not found: workflow nope"):
        core.get_workflow("nope")
    assert core.list_events("nope") == []
    assert core.list_children("nope") == []


def test_list_filters_and_orders_newest_first(core: Engine, clock: FakeClock) -> None:
    start(core, "a")
    clock.advance(1)
    start(core, "b", wtype="U")
    clock.advance(1)
    core.start_workflow(workflow_type="T", workflow_id="c", namespace="other")
    assert [w["id"] for w in core.list_workflows()] == ["b", "a"]
    assert [w["id"] for w in core.list_workflows(workflow_type="T")] == ["a"]
    assert [w["id"] for w in core.list_workflows(status="RUNNING")] == []
    assert [w["id"] for w in core.list_workflows(limit=1, offset=1)] == ["a"]
    assert [w["id"] for w in core.list_workflows(namespace="other")] == ["c"]


def test_signal_unknown_is_404_and_finished_is_409(core: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError):
        core.signal_workflow("nope", "go", None)
    start(core)
    core.terminate_workflow("w1")
    with pytest.raises(ConflictError):
        core.signal_workflow("w1", "go", None)


def test_signal_payload_is_nested_parsed(core: Engine) -> None:
    start(core)
    core.signal_workflow("w1", "go", {"k": [1]})
    core.signal_workflow("w1", "go", None)
    events = core.list_events("w1")
    assert events[1]["payload"] == '{"payload":{"k":[1]},"signal":"go"}'
    assert events[2]["payload"] == '{"payload":null,"signal":"go"}'


def test_cancel_of_a_pending_workflow_finalises_at_once(core: Engine) -> None:
    start(core)
    core.cancel_workflow("w1")
    assert core.get_workflow("w1")["status"] == "CANCELLED"
    assert types(core) == ["WorkflowStarted", "WorkflowCancelRequested", "WorkflowCancelled"]
    with pytest.raises(WorkflowNotFoundError, match="not found or already terminal"):
        core.cancel_workflow("w1")
    assert poll_task(core, queue="default", worker_id="k") is None


def test_cancel_of_a_running_workflow_is_two_phase(core: Engine, clock: FakeClock) -> None:
    def sleeper(ctx: Ctx, inp: Any) -> Any:
        ctx.execute_activity("a")
        ctx.sleep(60)
        return "done"

    start(core, wtype="S")
    task = poll_task(core, queue="default", worker_id="k")
    assert task is not None
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a"},
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 60}])
    core.cancel_workflow("w1")
    assert core.get_workflow("w1")["status"] == "RUNNING"
    assert core.get_activity(1)["status"] == "CANCELLED"
    clock.advance(61)
    core.run_due()
    assert "TimerFired" not in types(core)
    drain(core, {"S": sleeper})
    assert core.get_workflow("w1")["status"] == "CANCELLED"
    assert types(core)[-2:] == ["WorkflowCancelRequested", "WorkflowCancelled"]


def test_terminate_cancels_work_writes_an_event_and_fences(core: Engine,
                                                           clock: FakeClock) -> None:
    start(core)
    assert poll_task(core, queue="default", worker_id="k") is not None
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a"},
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 5}])
    core.signal_workflow("w1", "x", None)
    assert poll_task(core, queue="default", worker_id="k") is not None
    core.terminate_workflow("w1", "operator said so")
    wf = core.get_workflow("w1")
    assert wf["status"] == "FAILED" and wf["error"] == "operator said so"
    assert types(core)[-1] == "WorkflowTerminated"
    assert core.list_events("w1")[-1]["payload"] == '{"reason":"operator said so"}'
    assert core.poll_activity_task(queue="default", worker_id="k") is None
    clock.advance(10)
    core.run_due()
    assert types(core)[-1] == "WorkflowTerminated"
    from bridge.errors import LeaseLostError
    with pytest.raises(LeaseLostError):
        core.submit_commands("w1", worker_id="k", commands=[{"type": "CompleteWorkflow"}])
    with pytest.raises(WorkflowNotFoundError):
        core.terminate_workflow("w1")


def test_terminal_status_is_final(core: Engine) -> None:
    start(core)
    core.terminate_workflow("w1")
    assert core.get_workflow("w1")["error"] == "terminated"
    with pytest.raises(ConflictError):
        core.continue_as_new("w1", {"x": 1})
    assert core.get_workflow("w1")["status"] == "FAILED"


def parent_handler(ctx: Ctx, inp: Any) -> Any:
    return {"child": ctx.start_child_workflow("Child", "c1", {"n": 2})}


def child_handler(ctx: Ctx, inp: Any) -> Any:
    return inp["n"] * 10


def test_child_completion_wakes_the_parent(core: Engine) -> None:
    start(core, "p", wtype="Parent")
    drain(core, {"Parent": parent_handler, "Child": child_handler})
    assert core.get_workflow("p")["result"] == '{"child":20}'
    child = core.get_workflow("c1")
    assert child["parent_id"] == "p" and child["namespace"] == "main"
    assert [c["id"] for c in core.list_children("p")] == ["c1"]
    assert types(core, "p") == ["WorkflowStarted", "ChildWorkflowStarted",
                                  "ChildWorkflowCompleted", "WorkflowCompleted"]
    assert core.list_events("p")[2]["payload"] == '{"child_workflow_id":"c1","result":20}'


def test_child_failure_reaches_the_parent(core: Engine) -> None:
    def bad_child(ctx: Ctx, inp: Any) -> Any:
        raise ValueError("kaput")

    start(core, "p", wtype="Parent")
    drain(core, {"Parent": parent_handler, "Child": bad_child})
    assert core.get_workflow("p")["status"] == "FAILED"
    assert core.get_workflow("p")["error"] == "child workflow 'c1' failed: kaput"


def test_terminating_a_child_tells_the_parent(core: Engine) -> None:
    start(core, "p", wtype="Parent")
    assert poll_task(core, queue="default", worker_id="k") is not None
    core.submit_commands("p", worker_id="k", commands=[
        {"type": "StartChildWorkflow", "workflow_type": "Child", "workflow_id": "c1"}])
    core.terminate_workflow("c1", "stop")
    assert types(core, "p")[-1] == "ChildWorkflowFailed"
    drain(core, {"Parent": parent_handler})
    assert core.get_workflow("p")["error"] == "child workflow 'c1' failed: stop"


def test_cancelling_the_parent_cascades_to_children(core: Engine) -> None:
    start(core, "p", wtype="Parent")
    task = poll_task(core, queue="default", worker_id="k")
    assert task is not None
    core.submit_commands("p", worker_id="k", commands=[
        {"type": "StartChildWorkflow", "workflow_type": "Child", "workflow_id": "c1"}])
    core.cancel_workflow("p")
    assert core.get_workflow("c1")["status"] == "CANCELLED"
    assert "ChildWorkflowFailed" in types(core, "p")
    drain(core, {"Parent": parent_handler})
    assert core.get_workflow("p")["status"] == "CANCELLED"


def test_start_child_with_an_id_in_use_fails_the_step(core: Engine) -> None:
    start(core, "c1", wtype="Unrelated")
    start(core, "p", wtype="Parent")
    drain(core, {"Parent": parent_handler, "Unrelated": lambda ctx, i: None}, max_turns=20)
    assert core.get_workflow("p")["status"] == "FAILED"
    assert "already in use" in (core.get_workflow("p")["error"] or "")


def test_continue_as_new_via_rest(core: Engine, notifier: RecordingNotifier) -> None:
    start(core, input={"page": 1})
    got = core.continue_as_new("w1", {"page": 2})
    new_id = f"w1-continued-{int(T0)}"
    assert got == {"workflow_id": new_id, "run_id": f"run-{new_id}-{int(T0)}",
                   "status": "PENDING"}
    assert core.get_workflow("w1")["status"] == "COMPLETED"
    assert types(core)[-1] == "WorkflowContinuedAsNew"
    assert core.get_workflow(new_id)["input"] == '{"page":2}'
    again = core.continue_as_new(new_id, None)
    assert again["workflow_id"] == f"{new_id}-continued-{int(T0)}"
    with pytest.raises(WorkflowNotFoundError):
        core.continue_as_new("nope", None)


def test_continue_as_new_command_keeps_the_parent_link(core: Engine) -> None:
    def looping_child(ctx: Ctx, inp: Any) -> Any:
        if inp["n"] < 3:
            from tests.engine.core.replay import _Yield
            raise _Yield({"type": "ContinueAsNew", "input": {"n": inp["n"] + 1}})
        return inp["n"]

    start(core, "p", wtype="Parent")
    handlers = {"Parent": lambda ctx, i: ctx.start_child_workflow("Child", "c1", {"n": 1}),
                "Child": looping_child}
    drain(core, handlers)
    assert core.get_workflow("p")["result"] == "3"
    assert len(core.list_children("p")) == 3
