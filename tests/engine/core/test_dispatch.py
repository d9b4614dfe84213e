"""Workflow-task claim, commands and leases (core-api §3.1-§3.4, compat-policy fixes)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.notify import RecordingNotifier
from bridge.errors import InvalidRequestError, LeaseLostError, WorkflowNotFoundError
from tests.engine.core.replay import Ctx, drain
from tests.helpers import poll_task


def start(core: Engine, wid: str = "w1", wtype: str = "T", input: Any = None,
          queue: str = "default") -> None:
    core.start_workflow(workflow_type=wtype, workflow_id=wid, input=input, task_queue=queue)


def claim(core: Engine, queue: str = "default", worker: str = "k") -> dict[str, Any]:
    task = poll_task(core, queue=queue, worker_id=worker)
    assert task is not None
    return task


def types(core: Engine, wid: str = "w1") -> list[str]:
    return [e["event_type"] for e in core.list_events(wid)]


def test_poll_returns_the_workflow_lua_shape_with_parsed_values(core: Engine) -> None:
    start(core, input={"hello": "world"})
    task = claim(core)
    assert set(task) == {"workflow_id", "namespace", "workflow_type", "task_queue", "input",
                         "history"}
    assert task["input"] == {"hello": "world"}
    assert task["history"] == [{"seq": 1, "event_type": "WorkflowStarted",
                                "payload": {"hello": "world"}, "timestamp": 1_700_000_000.0}]
    assert core.get_workflow("w1")["status"] == "RUNNING"


def test_poll_is_null_when_idle_and_while_leased(core: Engine) -> None:
    assert poll_task(core, queue="default", worker_id="k") is None
    start(core)
    claim(core)
    assert poll_task(core, queue="default", worker_id="k") is None


def test_poll_only_sees_its_queue(core: Engine) -> None:
    start(core, queue="q1")
    assert poll_task(core, queue="default", worker_id="k") is None
    assert claim(core, queue="q1")["workflow_id"] == "w1"


def test_commands_from_a_worker_without_the_lease_are_fenced(core: Engine,
                                                             clock: FakeClock) -> None:
    start(core)
    claim(core, worker="a")
    with pytest.raises(LeaseLostError):
        core.submit_commands("w1", worker_id="b", commands=[{"type": "CompleteWorkflow"}])
    clock.advance(31)
    core.run_due()
    claim(core, worker="b")
    with pytest.raises(LeaseLostError):
        core.submit_commands("w1", worker_id="a", commands=[{"type": "CompleteWorkflow"}])
    assert core.get_workflow("w1")["status"] == "RUNNING"
    core.submit_commands("w1", worker_id="b", commands=[{"type": "CompleteWorkflow"}])
    assert core.get_workflow("w1")["status"] == "COMPLETED"


def test_commands_for_an_unknown_workflow_are_404(core: Engine) -> None:
    with pytest.raises(WorkflowNotFoundError):
        core.submit_commands("nope", worker_id="k", commands=[])


def test_an_unknown_command_type_rejects_the_whole_batch(core: Engine) -> None:
    start(core)
    claim(core)
    batch: list[dict[str, Any]] = [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 5},
                                   {"type": "StartTimer"}]
    with pytest.raises(InvalidRequestError, match="StartTimer"):
        core.submit_commands("w1", worker_id="k", commands=batch)
    assert types(core) == ["WorkflowStarted"]
    core.submit_commands("w1", worker_id="k", commands=batch[:1])
    assert types(core) == ["WorkflowStarted", "TimerScheduled"]


def test_empty_batch_releases_the_lease(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[])
    assert poll_task(core, queue="default", worker_id="k") is None
    core.signal_workflow("w1", "go", None)
    assert claim(core)["workflow_id"] == "w1"


def test_schedule_activity_is_idempotent_per_seq_and_does_not_wake(core: Engine) -> None:
    start(core)
    claim(core)
    cmd = {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": {"x": 1}}
    core.submit_commands("w1", worker_id="k", commands=[cmd])
    assert poll_task(core, queue="default", worker_id="k") is None
    core.signal_workflow("w1", "poke", None)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[dict(cmd, name="other")])
    assert types(core).count("ActivityScheduled") == 1
    scheduled = core.list_events("w1")[1]
    assert scheduled["payload"] == ('{"activity_id":1,"activity_seq":1,"input":"{\\"x\\":1}",'
                                    '"name":"a","task_queue":"default"}')
    act = core.poll_activity_task(queue="default", worker_id="k")
    assert act is not None and act["name"] == "a" and act["input"] == '{"x":1}'


def test_command_defaults_follow_assay(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "max_attempts": 3.0}])
    act = core.get_activity(1)
    assert act["task_queue"] == "default" and act["input"] is None
    assert (act["max_attempts"], act["initial_interval_secs"], act["backoff_coefficient"],
            act["start_to_close_secs"], act["heartbeat_timeout_secs"]) == (3, 1.0, 2.0, 300.0,
                                                                            None)


def test_explicit_null_input_is_stored_as_null_text(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": None}])
    assert core.get_activity(1)["input"] == "null"


def test_events_during_the_lease_dispatch_again_after_release(
        core: Engine, notifier: RecordingNotifier) -> None:
    start(core)
    claim(core)
    core.signal_workflow("w1", "go", {"n": 1})
    assert poll_task(core, queue="default", worker_id="k") is None
    before = len(notifier.kinds("workflow_task"))
    core.submit_commands("w1", worker_id="k", commands=[{"type": "WaitForSignal",
                                                           "name": "other"}])
    assert len(notifier.kinds("workflow_task")) == before + 1
    assert claim(core)["history"][-2]["payload"] == {"signal": "go", "payload": {"n": 1}}


def test_expired_lease_is_released_by_run_due(core: Engine, clock: FakeClock) -> None:
    start(core)
    claim(core, worker="a")
    assert core.run_due() == pytest.approx(1_700_000_030.0)
    clock.advance(29)
    core.run_due()
    assert poll_task(core, queue="default", worker_id="b") is None
    clock.advance(2)
    core.run_due()
    assert claim(core, worker="b")["workflow_id"] == "w1"


def test_side_effect_is_recorded_once_and_wakes(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "RecordSideEffect", "seq": 1, "name": "uuid", "value": "first"}])
    task = claim(core)
    assert task["history"][-1]["payload"] == {"side_effect_seq": 1, "name": "uuid",
                                              "value": "first"}
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "RecordSideEffect", "seq": 1, "name": "uuid", "value": "second"}])
    assert types(core).count("SideEffectRecorded") == 1


def test_wait_for_signal_is_recorded_once_per_wait(core: Engine) -> None:
    start(core)
    claim(core)
    wait = [{"type": "WaitForSignal", "name": "go"}]
    core.submit_commands("w1", worker_id="k", commands=wait)
    core.signal_workflow("w1", "other", None)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=wait)
    assert types(core).count("WorkflowAwaitingSignal") == 1
    assert core.list_events("w1")[1]["payload"] == '{"signal":"go"}'
    assert core.get_workflow("w1")["status"] == "RUNNING"


def test_commands_after_a_terminal_one_are_ignored(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "CompleteWorkflow", "result": {"ok": True}},
        {"type": "ScheduleActivity", "seq": 1, "name": "a"}])
    assert types(core) == ["WorkflowStarted", "WorkflowCompleted"]
    assert core.poll_activity_task(queue="default", worker_id="k") is None
    wf = core.get_workflow("w1")
    assert wf["result"] == '{"ok":true}' and wf["completed_at"] is not None
    assert core.list_events("w1")[-1]["payload"] == '{"ok":true}'


def test_fail_workflow_default_error(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[{"type": "FailWorkflow", "error": 3}])
    wf = core.get_workflow("w1")
    assert wf["status"] == "FAILED" and wf["error"] == "workflow handler raised an error"
    assert core.list_events("w1")[-1]["payload"] == (
        '{"error":"workflow handler raised an error"}')


def test_complete_without_result_stores_null(core: Engine) -> None:
    start(core)
    claim(core)
    core.submit_commands("w1", worker_id="k", commands=[{"type": "CompleteWorkflow"}])
    wf = core.get_workflow("w1")
    assert wf["status"] == "COMPLETED" and wf["result"] is None
    assert core.list_events("w1")[-1]["payload"] is None


def test_replay_of_a_multi_step_workflow_through_the_lua_rules(core: Engine,
                                                               clock: FakeClock) -> None:
    def pipeline(ctx: Ctx, inp: Any) -> Any:
        token = ctx.side_effect("token", lambda: "t-1")
        data = ctx.execute_activity("fetch", {"src": inp["src"]})
        ctx.sleep(10)
        approval = ctx.wait_for_signal("approve")
        return {"data": data, "token": token, "by": approval["by"]}

    start(core, wtype="Pipeline", input={"src": "s3"})
    drain(core, {"Pipeline": pipeline}, {"fetch": lambda i: f"rows from {i['src']}"})
    assert core.get_workflow("w1")["status"] == "RUNNING"
    clock.advance(10)
    core.run_due()
    drain(core, {"Pipeline": pipeline})
    core.signal_workflow("w1", "approve", {"by": "ann"})
    drain(core, {"Pipeline": pipeline})
    wf = core.get_workflow("w1")
    assert wf["status"] == "COMPLETED"
    assert wf["result"] == '{"by":"ann","data":"rows from s3","token":"t-1"}'
    assert types(core) == [
        "WorkflowStarted", "SideEffectRecorded", "ActivityScheduled", "ActivityCompleted",
        "TimerScheduled", "TimerFired", "WorkflowAwaitingSignal", "SignalReceived",
        "WorkflowCompleted"]
    assert [e["seq"] for e in core.list_events("w1")] == list(range(1, 10))


def test_signal_sent_before_the_wait_is_found_in_history(core: Engine) -> None:
    def waits_twice(ctx: Ctx, inp: Any) -> Any:
        return [ctx.wait_for_signal("go"), ctx.wait_for_signal("go")]

    start(core, wtype="W")
    core.signal_workflow("w1", "go", 1)
    drain(core, {"W": waits_twice})
    assert core.get_workflow("w1")["status"] == "RUNNING"
    core.signal_workflow("w1", "go", 2)
    drain(core, {"W": waits_twice})
    assert core.get_workflow("w1")["result"] == "[1,2]"
