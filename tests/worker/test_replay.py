"""Python and Lua workflows replayed by the unchanged workflow.lua against recorded histories."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.errors import ActivityFailedError, ChildWorkflowFailedError
from tests.worker.replayer import Replayer, completed, failed

LUA_PIPELINE = """
local workflow = ...
workflow.define("Pipeline", function(ctx, input)
    local r = ctx:execute_activity("fetch", { x = input.x }, { max_attempts = 3 })
    ctx:sleep(5)
    local id = ctx:side_effect("id", function() return "generated" end)
    local s = ctx:wait_for_signal("approve")
    local c = ctx:start_child_workflow("Child", { workflow_id = "c-1", input = { n = r.n } })
    return { fetched = r.n, id = id, approved = s, child = c }
end)
"""


def py_pipeline(ctx: Any, input: Any) -> Any:
    r = ctx.execute_activity("fetch", {"x": input["x"]}, max_attempts=3)
    ctx.sleep(5)
    id_ = ctx.side_effect("id", lambda: "generated")
    s = ctx.wait_for_signal("approve")
    c = ctx.start_child_workflow("Child", workflow_id="c-1", input={"n": r["n"]})
    return {"fetched": r["n"], "id": id_, "approved": s, "child": c}


STEPS: list[tuple[dict[str, Any] | None, dict[str, Any]]] = [
    (None, {"type": "ScheduleActivity", "seq": 1, "name": "fetch", "task_queue": "default",
            "input": {"x": 2}, "max_attempts": 3}),
    (completed(1, {"n": 41}), {"type": "ScheduleTimer", "seq": 1, "duration_secs": 5}),
    ({"event_type": "TimerFired", "payload": {"timer_seq": 1}},
     {"type": "RecordSideEffect", "seq": 1, "name": "id", "value": "generated"}),
    ({"event_type": "SideEffectRecorded", "payload": {"side_effect_seq": 1, "value": "recorded"}},
     {"type": "WaitForSignal", "name": "approve"}),
    ({"event_type": "SignalReceived", "payload": {"signal": "approve", "payload": {"by": "ann"}}},
     {"type": "StartChildWorkflow", "workflow_type": "Child", "workflow_id": "c-1",
      "input": {"n": 41}, "task_queue": "default"}),
    ({"event_type": "ChildWorkflowCompleted",
      "payload": {"child_workflow_id": "c-1", "result": [1, 2]}},
     {"type": "CompleteWorkflow", "result": {"fetched": 41, "id": "recorded",
                                             "approved": {"by": "ann"}, "child": [1, 2]}}),
]


@pytest.mark.parametrize("language", ["lua", "python"])
def test_each_ctx_method_replays_step_by_step(replayer: Replayer, language: str) -> None:
    if language == "lua":
        replayer.lua(LUA_PIPELINE)
    else:
        replayer.py_workflow("Pipeline", py_pipeline)
    history: list[dict[str, Any]] = []
    for event, expected in STEPS:
        if event is not None:
            history.append(event)
        assert replayer.replay("Pipeline", history, input={"x": 2}) == [expected]


def test_python_and_lua_integers_stay_integers(replayer: Replayer) -> None:
    replayer.py_workflow("W", lambda ctx, inp: {"n": inp["n"] + 1, "f": 1.5, "big": 2**62})
    [cmd] = replayer.replay("W", input={"n": 1})
    assert cmd == {"type": "CompleteWorkflow", "result": {"n": 2, "f": 1.5, "big": 2**62}}
    assert type(cmd["result"]["n"]) is int


def test_side_effect_function_runs_once(replayer: Replayer) -> None:
    calls: list[int] = []

    def wf(ctx: Any, _input: Any) -> Any:
        return ctx.side_effect("n", lambda: calls.append(1) or len(calls))

    replayer.py_workflow("W", wf)
    assert replayer.replay("W") == [{"type": "RecordSideEffect", "seq": 1, "name": "n", "value": 1}]
    recorded = {"event_type": "SideEffectRecorded", "payload": {"side_effect_seq": 1, "value": 1}}
    assert replayer.replay("W", [recorded]) == [{"type": "CompleteWorkflow", "result": 1}]
    assert calls == [1]


def test_signals_of_one_name_are_consumed_in_order(replayer: Replayer) -> None:
    def wf(ctx: Any, _input: Any) -> Any:
        return [ctx.wait_for_signal("s"), ctx.wait_for_signal("s")]

    replayer.py_workflow("W", wf)
    sig = [{"event_type": "SignalReceived", "payload": {"signal": "s", "payload": v}}
           for v in ("a", "b")]
    assert replayer.replay("W", sig[:1]) == [{"type": "WaitForSignal", "name": "s"}]
    assert replayer.replay("W", sig) == [{"type": "CompleteWorkflow", "result": ["a", "b"]}]


def test_failed_activity_fails_workflow_with_assays_text(replayer: Replayer) -> None:
    replayer.py_workflow("W", lambda ctx, _i: ctx.execute_activity("boom"))
    [cmd] = replayer.replay("W", [failed(1, "ValueError: nope")])
    assert cmd["type"] == "FailWorkflow"
    assert cmd["error"].endswith("activity 'boom' failed: ValueError: nope")


def test_failed_activity_can_be_caught(replayer: Replayer) -> None:
    def wf(ctx: Any, _input: Any) -> Any:
        try:
            ctx.execute_activity("boom")
        except ActivityFailedError as exc:
            return {"recovered": str(exc).split("failed: ")[1]}
        return None

    replayer.py_workflow("W", wf)
    assert replayer.replay("W", [failed(1, "disk full")]) == [
        {"type": "CompleteWorkflow", "result": {"recovered": "disk full"}}
    ]


def test_failed_child_raises_child_workflow_failed(replayer: Replayer) -> None:
    def wf(ctx: Any, _input: Any) -> Any:
        try:
            ctx.start_child_workflow("Child", workflow_id="c-9")
        except ChildWorkflowFailedError as exc:
            return str(exc)
        return None

    replayer.py_workflow("W", wf)
    event = {"event_type": "ChildWorkflowFailed",
             "payload": {"child_workflow_id": "c-9", "error": "bad"}}
    [cmd] = replayer.replay("W", [event])
    assert cmd["type"] == "CompleteWorkflow"
    assert cmd["result"] == "assay/workflow.lua:388: child workflow 'c-9' failed: bad"


def test_python_exception_fails_workflow_with_type_and_message(replayer: Replayer) -> None:
    def wf(ctx: Any, _input: Any) -> Any:
        raise KeyError("missing")

    replayer.py_workflow("W", wf)
    assert replayer.replay("W") == [{"type": "FailWorkflow", "error": "KeyError: 'missing'"}]


def test_cancellation_is_not_swallowed_by_except_exception(replayer: Replayer) -> None:
    def wf(ctx: Any, _input: Any) -> Any:
        try:
            ctx.sleep(10)
        except Exception:  # noqa: BLE001 - the point of the test
            return "swallowed"
        return "slept"

    replayer.py_workflow("W", wf)
    cancel = {"event_type": "WorkflowCancelRequested", "payload": None}
    assert replayer.replay("W", [cancel]) == [{"type": "CancelWorkflow"}]


def test_suspension_survives_a_handler_that_catches_everything(replayer: Replayer) -> None:
    def wf(ctx: Any, _input: Any) -> Any:
        try:
            ctx.execute_activity("a")
        except BaseException:  # noqa: BLE001 - the point of the test
            pass
        return "should not complete"

    replayer.py_workflow("W", wf)
    [cmd] = replayer.replay("W")
    assert cmd["type"] == "ScheduleActivity"


def test_lua_workflow_calls_python_activity(replayer: Replayer) -> None:
    replayer.lua("""
        local workflow = ...
        workflow.define("Mixed", function(ctx, input)
            local r = ctx:execute_activity("score", { text = input })
            return r.score * 2
        end)
    """)
    replayer.py_activity("score", lambda ctx, inp: {"score": len(inp["text"])})
    [cmd] = replayer.replay("Mixed", input="hello")
    assert cmd["name"] == "score"
    ok, result = replayer.run_activity("score", cmd["input"])
    assert (ok, result) == (True, {"score": 5})
    assert replayer.replay("Mixed", [completed(1, result)], input="hello") == [
        {"type": "CompleteWorkflow", "result": 10}
    ]


def test_python_workflow_calls_lua_activity(replayer: Replayer) -> None:
    replayer.lua("""
        local workflow = ...
        workflow.activity("upper", function(ctx, input) return string.upper(input.s) end)
    """)
    replayer.py_workflow("W", lambda ctx, inp: ctx.execute_activity("upper", {"s": inp}) + "!")
    [cmd] = replayer.replay("W", input="hi")
    ok, result = replayer.run_activity("upper", cmd["input"])
    assert (ok, result) == (True, "HI")
    assert replayer.replay("W", [completed(1, result)], input="hi") == [
        {"type": "CompleteWorkflow", "result": "HI!"}
    ]


def test_python_activity_error_reports_type_and_message(replayer: Replayer) -> None:
    def act(ctx: Any, _input: Any) -> Any:
        raise ValueError("nope")

    replayer.py_activity("bad", act)
    assert replayer.run_activity("bad", None) == (False, "ValueError: nope")


def test_lua_activity_error_text_is_assays(replayer: Replayer) -> None:
    replayer.lua("""
        local workflow = ...
        workflow.activity("bad", function(ctx, input) error("broken") end)
    """)
    assert replayer.run_activity("bad", None) == (False, "workflows.lua:3: broken")


def test_python_activity_sees_plain_values_and_task_info(replayer: Replayer) -> None:
    seen: list[Any] = []

    def act(ctx: Any, inp: Any) -> Any:
        seen.append((inp, ctx.info.name, ctx.info.activity_id))
        return None

    replayer.py_activity("a", act)
    # the hook that records task info is installed by the worker; here only the input matters
    replayer.run_activity("a", {"list": [1, 2], "map": {"k": None, "t": True}})
    assert seen[0][0] == {"list": [1, 2], "map": {"t": True}}


def test_unknown_workflow_type_fails(replayer: Replayer) -> None:
    assert replayer.replay("Nope") == [
        {"type": "FailWorkflow", "error": "no workflow handler registered for type: Nope"}
    ]
