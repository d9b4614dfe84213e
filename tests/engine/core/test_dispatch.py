"""Workflow-task claim, commands and leases (engine-api §3.1-§3.4, compat-policy fixes)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.notify import RecordingNotifier
from bridge.errors import InvalidRequestError, LeaseLostError, WorkflowNotFoundError
from tests.engine.core.replay import Ctx, drain
from tests.helpers import poll_task


def start(engine: Engine, wid: str = "w1", wtype: str = "T", input: Any = None,
          queue: str = "default") -> None:
    engine.start_workflow(workflow_type=wtype, workflow_id=wid, input=input, task_queue=queue)


def claim(engine: Engine, queue: str = "default", worker: str = "k") -> dict[str, Any]:
    task = poll_task(engine, queue=queue, worker_id=worker)
    assert task is not None
    return task


def types(engine: Engine, wid: str = "w1") -> list[str]:
    return [e["event_type"] for e in engine.list_events(wid)]


def test_poll_returns_the_workflow_lua_shape_with_parsed_values(engine: Engine) -> None:
    start(engine, input={"hello": "world"})
    task = claim(engine)
    assert set(task) == {"workflow_id", "namespace", "workflow_type", "task_queue", "input",
                         "history"}
    assert task["input"] == {"hello": "world"}
    assert task["history"] == [{"seq": 1, "event_type": "WorkflowStarted",
                                "payload": {"hello": "world"}, "timestamp": 1_700_000_000.0}]
    assert engine.get_workflow("w1")["status"] == "RUNNING"


def test_poll_is_null_when_idle_and_while_leased(engine: Engine) -> None:
    assert poll_task(engine, queue="default", worker_id="k") is None
    start(engine)
    claim(engine)
    assert poll_task(engine, queue="default", worker_id="k") is None


def test_poll_only_sees_its_queue(engine: Engine) -> None:
    start(engine, queue="q1")
    assert poll_task(engine, queue="default", worker_id="k") is None
    assert claim(engine, queue="q1")["workflow_id"] == "w1"


def test_commands_from_a_worker_without_the_lease_are_fenced(engine: Engine,
                                                             clock: FakeClock) -> None:
    start(engine)
    claim(engine, worker="a")
    with pytest.raises(LeaseLostError):
        engine.submit_commands("w1", worker_id="b", commands=[{"type": "CompleteWorkflow"}])
    clock.advance(31)
    engine.run_due()
    claim(engine, worker="b")
    with pytest.raises(LeaseLostError):
        engine.submit_commands("w1", worker_id="a", commands=[{"type": "CompleteWorkflow"}])
    assert engine.get_workflow("w1")["status"] == "RUNNING"
    engine.submit_commands("w1", worker_id="b", commands=[{"type": "CompleteWorkflow"}])
    assert engine.get_workflow("w1")["status"] == "COMPLETED"


def test_commands_for_an_unknown_workflow_are_404(engine: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError):
        engine.submit_commands("nope", worker_id="k", commands=[])


def test_an_unknown_command_type_rejects_the_whole_batch(engine: Engine) -> None:
    start(engine)
    claim(engine)
    batch: list[dict[str, Any]] = [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 5},
                                   {"type": "StartTimer"}]
    with pytest.raises(InvalidRequestError, match="StartTimer"):
        engine.submit_commands("w1", worker_id="k", commands=batch)
    assert types(engine) == ["WorkflowStarted"]
    engine.submit_commands("w1", worker_id="k", commands=batch[:1])
    assert types(engine) == ["WorkflowStarted", "TimerScheduled"]


def test_empty_batch_releases_the_lease(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[])
    assert poll_task(engine, queue="default", worker_id="k") is None
    engine.signal_workflow("w1", "go", None)
    assert claim(engine)["workflow_id"] == "w1"


def test_schedule_activity_is_idempotent_per_seq_and_does_not_wake(engine: Engine) -> None:
    start(engine)
    claim(engine)
    cmd = {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": {"x": 1}}
    engine.submit_commands("w1", worker_id="k", commands=[cmd])
    assert poll_task(engine, queue="default", worker_id="k") is None
    engine.signal_workflow("w1", "poke", None)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[dict(cmd, name="other")])
    assert types(engine).count("ActivityScheduled") == 1
    scheduled = engine.list_events("w1")[1]
    assert scheduled["payload"] == ('{"activity_id":1,"activity_seq":1,"input":"{\\"x\\":1}",'
                                    '"name":"a","task_queue":"default"}')
    act = engine.poll_activity_task(queue="default", worker_id="k")
    assert act is not None and act["name"] == "a" and act["input"] == '{"x":1}'


def test_command_defaults_follow_assay(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "max_attempts": 3.0}])
    act = engine.get_activity(1)
    assert act["task_queue"] == "default" and act["input"] is None
    assert (act["max_attempts"], act["initial_interval_secs"], act["backoff_coefficient"],
            act["start_to_close_secs"], act["heartbeat_timeout_secs"]) == (3, 1.0, 2.0, 300.0,
                                                                            None)


def test_explicit_null_input_is_stored_as_null_text(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": None}])
    assert engine.get_activity(1)["input"] == "null"


def test_events_during_the_lease_dispatch_again_after_release(
        engine: Engine, notifier: RecordingNotifier) -> None:
    start(engine)
    claim(engine)
    engine.signal_workflow("w1", "go", {"n": 1})
    assert poll_task(engine, queue="default", worker_id="k") is None
    before = len(notifier.kinds("workflow_task"))
    engine.submit_commands("w1", worker_id="k", commands=[{"type": "WaitForSignal",
                                                           "name": "other"}])
    assert len(notifier.kinds("workflow_task")) == before + 1
    assert claim(engine)["history"][-2]["payload"] == {"signal": "go", "payload": {"n": 1}}


def test_expired_lease_is_released_by_run_due(engine: Engine, clock: FakeClock) -> None:
    start(engine)
    claim(engine, worker="a")
    assert engine.run_due() == pytest.approx(1_700_000_030.0)
    clock.advance(29)
    engine.run_due()
    assert poll_task(engine, queue="default", worker_id="b") is None
    clock.advance(2)
    engine.run_due()
    assert claim(engine, worker="b")["workflow_id"] == "w1"


def test_side_effect_is_recorded_once_and_wakes(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "RecordSideEffect", "seq": 1, "name": "uuid", "value": "first"}])
    task = claim(engine)
    assert task["history"][-1]["payload"] == {"side_effect_seq": 1, "name": "uuid",
                                              "value": "first"}
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "RecordSideEffect", "seq": 1, "name": "uuid", "value": "second"}])
    assert types(engine).count("SideEffectRecorded") == 1


def test_wait_for_signal_is_recorded_once_per_wait(engine: Engine) -> None:
    start(engine)
    claim(engine)
    wait = [{"type": "WaitForSignal", "name": "go"}]
    engine.submit_commands("w1", worker_id="k", commands=wait)
    engine.signal_workflow("w1", "other", None)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=wait)
    assert types(engine).count("WorkflowAwaitingSignal") == 1
    assert engine.list_events("w1")[1]["payload"] == '{"signal":"go"}'
    assert engine.get_workflow("w1")["status"] == "RUNNING"


def test_commands_after_a_terminal_one_are_ignored(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[
        {"type": "CompleteWorkflow", "result": {"ok": True}},
        {"type": "ScheduleActivity", "seq": 1, "name": "a"}])
    assert types(engine) == ["WorkflowStarted", "WorkflowCompleted"]
    assert engine.poll_activity_task(queue="default", worker_id="k") is None
    wf = engine.get_workflow("w1")
    assert wf["result"] == '{"ok":true}' and wf["completed_at"] is not None
    assert engine.list_events("w1")[-1]["payload"] == '{"ok":true}'


def test_fail_workflow_default_error(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[{"type": "FailWorkflow", "error": 3}])
    wf = engine.get_workflow("w1")
    assert wf["status"] == "FAILED" and wf["error"] == "workflow handler raised an error"
    assert engine.list_events("w1")[-1]["payload"] == (
        '{"error":"workflow handler raised an error"}')


def test_complete_without_result_stores_null(engine: Engine) -> None:
    start(engine)
    claim(engine)
    engine.submit_commands("w1", worker_id="k", commands=[{"type": "CompleteWorkflow"}])
    wf = engine.get_workflow("w1")
    assert wf["status"] == "COMPLETED" and wf["result"] is None
    assert engine.list_events("w1")[-1]["payload"] is None


def test_replay_of_a_multi_step_workflow_through_the_lua_rules(engine: Engine,
                                                               clock: FakeClock) -> None:
    def pipeline(ctx: Ctx, inp: Any) -> Any:
        token = ctx.side_effect("token", lambda: "t-1")
        data = ctx.execute_activity("fetch", {"src": inp["src"]})
        ctx.sleep(10)
        approval = ctx.wait_for_signal("approve")
        return {"data": data, "token": token, "by": approval["by"]}

    start(engine, wtype="Pipeline", input={"src": "s3"})
    drain(engine, {"Pipeline": pipeline}, {"fetch": lambda i: f"rows from {i['src']}"})
    assert engine.get_workflow("w1")["status"] == "RUNNING"
    clock.advance(10)
    engine.run_due()
    drain(engine, {"Pipeline": pipeline})
    engine.signal_workflow("w1", "approve", {"by": "ann"})
    drain(engine, {"Pipeline": pipeline})
    wf = engine.get_workflow("w1")
    assert wf["status"] == "COMPLETED"
    assert wf["result"] == '{"by":"ann","data":"rows from s3","token":"t-1"}'
    assert types(engine) == [
        "WorkflowStarted", "SideEffectRecorded", "ActivityScheduled", "ActivityCompleted",
        "TimerScheduled", "TimerFired", "WorkflowAwaitingSignal", "SignalReceived",
        "WorkflowCompleted"]
    assert [e["seq"] for e in engine.list_events("w1")] == list(range(1, 10))


def test_signal_sent_before_the_wait_is_found_in_history(engine: Engine) -> None:
    def waits_twice(ctx: Ctx, inp: Any) -> Any:
        return [ctx.wait_for_signal("go"), ctx.wait_for_signal("go")]

    start(engine, wtype="W")
    engine.signal_workflow("w1", "go", 1)
    drain(engine, {"W": waits_twice})
    assert engine.get_workflow("w1")["status"] == "RUNNING"
    engine.signal_workflow("w1", "go", 2)
    drain(engine, {"W": waits_twice})
    assert engine.get_workflow("w1")["result"] == "[1,2]"
