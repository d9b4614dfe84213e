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


def start(engine: Engine, wid: str = "w1", wtype: str = "T", input: Any = None) -> None:
    engine.start_workflow(workflow_type=wtype, workflow_id=wid, input=input)


def types(engine: Engine, wid: str = "w1") -> list[str]:
    return [e["event_type"] for e in engine.list_events(wid)]


def test_start_returns_assay_shape_and_record_has_text_fields(engine: Engine) -> None:
    got = engine.start_workflow(workflow_type="T", workflow_id="w1", input={"b": 1, "a": [2]})
    assert got == {"workflow_id": "w1", "run_id": f"run-w1-{int(T0)}", "status": "PENDING"}
    wf = engine.get_workflow("w1")
    assert wf["input"] == '{"a":[2],"b":1}' and wf["task_queue"] == "default"
    assert wf["namespace"] == "main" and wf["status"] == "PENDING"
    assert set(wf) == {"id", "namespace", "run_id", "workflow_type", "task_queue", "status",
                       "input", "result", "error", "parent_id", "claimed_by", "created_at",
                       "updated_at", "completed_at"}
    ev = engine.list_events("w1")
    assert ev == [{"id": ev[0]["id"], "workflow_id": "w1", "seq": 1,
                   "event_type": "WorkflowStarted", "payload": '{"a":[2],"b":1}',
                   "timestamp": T0}]


def test_start_without_input_and_with_null_namespace(engine: Engine) -> None:
    engine.start_workflow(workflow_type="T", workflow_id="w1", namespace=None)
    assert engine.get_workflow("w1")["input"] is None
    assert engine.list_events("w1")[0]["payload"] is None
    assert engine.get_workflow("w1")["namespace"] == "main"


def test_duplicate_workflow_id_is_409_and_changes_nothing(engine: Engine) -> None:
    start(engine, input=1)
    with pytest.raises(WorkflowAlreadyExistsError):
        start(engine, wtype="Other", input=2)
    assert engine.get_workflow("w1")["workflow_type"] == "T"
    assert len(engine.list_events("w1")) == 1


def test_unknown_workflow(engine: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError, match="not found: workflow nope"):
        engine.get_workflow("nope")
    assert engine.list_events("nope") == []
    assert engine.list_children("nope") == []


def test_list_filters_and_orders_newest_first(engine: Engine, clock: FakeClock) -> None:
    start(engine, "a")
    clock.advance(1)
    start(engine, "b", wtype="U")
    clock.advance(1)
    engine.start_workflow(workflow_type="T", workflow_id="c", namespace="other")
    assert [w["id"] for w in engine.list_workflows()] == ["b", "a"]
    assert [w["id"] for w in engine.list_workflows(workflow_type="T")] == ["a"]
    assert [w["id"] for w in engine.list_workflows(status="RUNNING")] == []
    assert [w["id"] for w in engine.list_workflows(limit=1, offset=1)] == ["a"]
    assert [w["id"] for w in engine.list_workflows(namespace="other")] == ["c"]


def test_signal_unknown_is_404_and_finished_is_409(engine: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError):
        engine.signal_workflow("nope", "go", None)
    start(engine)
    engine.terminate_workflow("w1")
    with pytest.raises(ConflictError):
        engine.signal_workflow("w1", "go", None)


def test_signal_payload_is_nested_parsed(engine: Engine) -> None:
    start(engine)
    engine.signal_workflow("w1", "go", {"k": [1]})
    engine.signal_workflow("w1", "go", None)
    events = engine.list_events("w1")
    assert events[1]["payload"] == '{"payload":{"k":[1]},"signal":"go"}'
    assert events[2]["payload"] == '{"payload":null,"signal":"go"}'


def test_cancel_of_a_pending_workflow_finalises_at_once(engine: Engine) -> None:
    start(engine)
    engine.cancel_workflow("w1")
    assert engine.get_workflow("w1")["status"] == "CANCELLED"
    assert types(engine) == ["WorkflowStarted", "WorkflowCancelRequested", "WorkflowCancelled"]
    with pytest.raises(WorkflowNotFoundError, match="not found or already terminal"):
        engine.cancel_workflow("w1")
    assert poll_task(engine, queue="default", worker_id="k") is None


def test_cancel_of_a_running_workflow_is_two_phase(engine: Engine, clock: FakeClock) -> None:
    def sleeper(ctx: Ctx, inp: Any) -> Any:
        ctx.execute_activity("a")
        ctx.sleep(60)
        return "done"

    start(engine, wtype="S")
    task = poll_task(engine, queue="default", worker_id="k")
    assert task is not None
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a"},
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 60}])
    engine.cancel_workflow("w1")
    assert engine.get_workflow("w1")["status"] == "RUNNING"
    assert engine.get_activity(1)["status"] == "CANCELLED"
    clock.advance(61)
    engine.run_due()
    assert "TimerFired" not in types(engine)
    drain(engine, {"S": sleeper})
    assert engine.get_workflow("w1")["status"] == "CANCELLED"
    assert types(engine)[-2:] == ["WorkflowCancelRequested", "WorkflowCancelled"]


def test_terminate_cancels_work_writes_an_event_and_fences(engine: Engine,
                                                           clock: FakeClock) -> None:
    start(engine)
    assert poll_task(engine, queue="default", worker_id="k") is not None
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a"},
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 5}])
    engine.signal_workflow("w1", "x", None)
    assert poll_task(engine, queue="default", worker_id="k") is not None
    engine.terminate_workflow("w1", "operator said so")
    wf = engine.get_workflow("w1")
    assert wf["status"] == "FAILED" and wf["error"] == "operator said so"
    assert types(engine)[-1] == "WorkflowTerminated"
    assert engine.list_events("w1")[-1]["payload"] == '{"reason":"operator said so"}'
    assert engine.poll_activity_task(queue="default", worker_id="k") is None
    clock.advance(10)
    engine.run_due()
    assert types(engine)[-1] == "WorkflowTerminated"
    from bridge.errors import LeaseLostError
    with pytest.raises(LeaseLostError):
        engine.submit_commands("w1", worker_id="k", commands=[{"type": "CompleteWorkflow"}])
    with pytest.raises(WorkflowNotFoundError):
        engine.terminate_workflow("w1")


def test_terminal_status_is_final(engine: Engine) -> None:
    start(engine)
    engine.terminate_workflow("w1")
    assert engine.get_workflow("w1")["error"] == "terminated"
    with pytest.raises(ConflictError):
        engine.continue_as_new("w1", {"x": 1})
    assert engine.get_workflow("w1")["status"] == "FAILED"


def parent_handler(ctx: Ctx, inp: Any) -> Any:
    return {"child": ctx.start_child_workflow("Child", "c1", {"n": 2})}


def child_handler(ctx: Ctx, inp: Any) -> Any:
    return inp["n"] * 10


def test_child_completion_wakes_the_parent(engine: Engine) -> None:
    start(engine, "p", wtype="Parent")
    drain(engine, {"Parent": parent_handler, "Child": child_handler})
    assert engine.get_workflow("p")["result"] == '{"child":20}'
    child = engine.get_workflow("c1")
    assert child["parent_id"] == "p" and child["namespace"] == "main"
    assert [c["id"] for c in engine.list_children("p")] == ["c1"]
    assert types(engine, "p") == ["WorkflowStarted", "ChildWorkflowStarted",
                                  "ChildWorkflowCompleted", "WorkflowCompleted"]
    assert engine.list_events("p")[2]["payload"] == '{"child_workflow_id":"c1","result":20}'


def test_child_failure_reaches_the_parent(engine: Engine) -> None:
    def bad_child(ctx: Ctx, inp: Any) -> Any:
        raise ValueError("kaput")

    start(engine, "p", wtype="Parent")
    drain(engine, {"Parent": parent_handler, "Child": bad_child})
    assert engine.get_workflow("p")["status"] == "FAILED"
    assert engine.get_workflow("p")["error"] == "child workflow 'c1' failed: kaput"


def test_terminating_a_child_tells_the_parent(engine: Engine) -> None:
    start(engine, "p", wtype="Parent")
    assert poll_task(engine, queue="default", worker_id="k") is not None
    engine.submit_commands("p", worker_id="k", commands=[
        {"type": "StartChildWorkflow", "workflow_type": "Child", "workflow_id": "c1"}])
    engine.terminate_workflow("c1", "stop")
    assert types(engine, "p")[-1] == "ChildWorkflowFailed"
    drain(engine, {"Parent": parent_handler})
    assert engine.get_workflow("p")["error"] == "child workflow 'c1' failed: stop"


def test_cancelling_the_parent_cascades_to_children(engine: Engine) -> None:
    start(engine, "p", wtype="Parent")
    task = poll_task(engine, queue="default", worker_id="k")
    assert task is not None
    engine.submit_commands("p", worker_id="k", commands=[
        {"type": "StartChildWorkflow", "workflow_type": "Child", "workflow_id": "c1"}])
    engine.cancel_workflow("p")
    assert engine.get_workflow("c1")["status"] == "CANCELLED"
    assert "ChildWorkflowFailed" in types(engine, "p")
    drain(engine, {"Parent": parent_handler})
    assert engine.get_workflow("p")["status"] == "CANCELLED"


def test_start_child_with_an_id_in_use_fails_the_step(engine: Engine) -> None:
    start(engine, "c1", wtype="Unrelated")
    start(engine, "p", wtype="Parent")
    drain(engine, {"Parent": parent_handler, "Unrelated": lambda ctx, i: None}, max_turns=20)
    assert engine.get_workflow("p")["status"] == "FAILED"
    assert "already in use" in (engine.get_workflow("p")["error"] or "")


def test_continue_as_new_via_rest(engine: Engine, notifier: RecordingNotifier) -> None:
    start(engine, input={"page": 1})
    got = engine.continue_as_new("w1", {"page": 2})
    new_id = f"w1-continued-{int(T0)}"
    assert got == {"workflow_id": new_id, "run_id": f"run-{new_id}-{int(T0)}",
                   "status": "PENDING"}
    assert engine.get_workflow("w1")["status"] == "COMPLETED"
    assert types(engine)[-1] == "WorkflowContinuedAsNew"
    assert engine.get_workflow(new_id)["input"] == '{"page":2}'
    again = engine.continue_as_new(new_id, None)
    assert again["workflow_id"] == f"{new_id}-continued-{int(T0)}"
    with pytest.raises(WorkflowNotFoundError):
        engine.continue_as_new("nope", None)


def test_continue_as_new_command_keeps_the_parent_link(engine: Engine) -> None:
    def looping_child(ctx: Ctx, inp: Any) -> Any:
        if inp["n"] < 3:
            from tests.engine.core.replay import _Yield
            raise _Yield({"type": "ContinueAsNew", "input": {"n": inp["n"] + 1}})
        return inp["n"]

    start(engine, "p", wtype="Parent")
    handlers = {"Parent": lambda ctx, i: ctx.start_child_workflow("Child", "c1", {"n": 1}),
                "Child": looping_child}
    drain(engine, handlers)
    assert engine.get_workflow("p")["result"] == "3"
    assert len(engine.list_children("p")) == 3
