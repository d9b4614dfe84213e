"""Lua and Python handlers on one worker, against a real engine process."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bridge import ActivityFailedError, Client, Worker, WorkflowFailedError
from bridge.testing import EngineServer

LUA = """
local workflow = require("assay.workflow")

workflow.define("LuaParent", function(ctx, input)
    local q = { task_queue = input.queue }
    local scored = ctx:execute_activity("py_score", { text = input.text }, q)
    ctx:sleep(0.05)
    local child = ctx:start_child_workflow("PyChild", {
        workflow_id = ctx.workflow_id .. "-child", input = { score = scored.score },
        task_queue = input.queue,
    })
    return { score = scored.score, child = child }
end)

workflow.activity("lua_double", function(ctx, input) return { value = input.n * 2 } end)
workflow.activity("lua_fail", function(ctx, input) error("lua says no") end)
"""


def make_worker(engine_server: EngineServer, queue: str, **kwargs: Any) -> Worker:
    w = Worker(engine_server.url, queue=queue, log_stderr=False, **kwargs)

    @w.activity("py_score")
    def py_score(ctx: Any, input: Any) -> Any:
        return {"score": len(input["text"])}

    @w.workflow("PyChild")
    def py_child(ctx: Any, input: Any) -> Any:
        doubled = ctx.execute_activity("lua_double", {"n": input["score"]}, task_queue=queue)
        return doubled["value"] + 1

    @w.workflow("PySignals")
    def py_signals(ctx: Any, input: Any) -> Any:
        token = ctx.side_effect("token", lambda: uuid.uuid4().hex)
        first = ctx.wait_for_signal("go")
        return {"token_len": len(token), "first": first}

    @w.workflow("PyCatches")
    def py_catches(ctx: Any, input: Any) -> Any:
        try:
            ctx.execute_activity("lua_fail", None, task_queue=queue, max_attempts=1)
        except ActivityFailedError as exc:
            return {"caught": str(exc).rsplit(": ", 1)[-1]}
        return None

    @w.activity("py_flaky")
    def py_flaky(ctx: Any, input: Any) -> Any:
        attempts.append(ctx.info.attempt)
        raise ValueError(f"attempt {ctx.info.attempt} failed")

    @w.workflow("PyRetries")
    def py_retries(ctx: Any, input: Any) -> Any:
        return ctx.execute_activity("py_flaky", None, task_queue=queue, max_attempts=2,
                                    initial_interval_secs=0.05)

    w.load_lua(LUA)
    return w


attempts: list[int] = []


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(engine_server: EngineServer, queue: str) -> Iterator[Worker]:
    w = make_worker(engine_server, queue)
    w.start()
    assert w.wait_registered(timeout=30)
    yield w
    w.stop()
    w.join(timeout=30)
    assert w.errors == []


def test_lua_workflow_python_activity_python_child_lua_activity(
    worker: Worker, client: Client, queue: str
) -> None:
    client.start("LuaParent", "mixed-1", {"text": "hello", "queue": queue},
                          task_queue=queue)
    assert client.result("mixed-1", timeout=30) == {"score": 5, "child": 11}
    child = client.get_workflow("mixed-1-child")
    assert child["status"] == "COMPLETED"
    assert child["parent_id"] == "mixed-1"
    kinds = [e["event_type"] for e in client.events("mixed-1")]
    assert kinds[0] == "WorkflowStarted"
    assert {"ActivityCompleted", "TimerFired", "ChildWorkflowCompleted"} <= set(kinds)
    assert kinds[-1] == "WorkflowCompleted"


def test_python_workflow_side_effect_and_signal(worker: Worker, client: Client, queue: str) -> None:
    client.start("PySignals", "sig-1", task_queue=queue)
    record = client.wait("sig-1", timeout=0.5)
    assert record["status"] not in {"COMPLETED", "FAILED"}
    client.signal("sig-1", "go", {"by": "ann"})
    assert client.result("sig-1", timeout=30) == {"token_len": 32, "first": {"by": "ann"}}


def test_python_workflow_catches_lua_activity_failure(
    worker: Worker, client: Client, queue: str
) -> None:
    client.start("PyCatches", "catch-1", task_queue=queue)
    assert client.result("catch-1", timeout=30) == {"caught": "lua says no"}


def test_unhandled_python_error_fails_the_workflow(engine_server: EngineServer, client: Client,
                                                   queue: str) -> None:
    w = Worker(engine_server.url, queue=queue, log_stderr=False)

    @w.workflow("Broken")
    def broken(ctx: Any, input: Any) -> Any:
        raise RuntimeError("bad input")

    w.start()
    try:
        client.start("Broken", "broken-1", task_queue=queue)
        with pytest.raises(WorkflowFailedError) as info:
            client.result("broken-1", timeout=30)
        assert info.value.status == "FAILED"
        assert info.value.error == "RuntimeError: bad input"
    finally:
        w.stop()
        w.join(timeout=30)


def test_python_activity_error_carries_its_type_and_is_retried(
    worker: Worker, client: Client, queue: str
) -> None:
    attempts.clear()
    client.start("PyRetries", "retries-1", task_queue=queue)
    with pytest.raises(WorkflowFailedError) as info:
        client.result("retries-1", timeout=30)
    assert attempts == [1, 2]
    assert info.value.error is not None
    assert info.value.error.endswith("activity 'py_flaky' failed: ValueError: attempt 2 failed")


def test_concurrency_runs_independent_loops(engine_server: EngineServer, client: Client,
                                            queue: str) -> None:
    both_running = threading.Barrier(2, timeout=20)
    w = Worker(engine_server.url, queue=queue, concurrency=2, log_stderr=False)

    @w.activity("meet")
    def meet(ctx: Any, input: Any) -> Any:
        both_running.wait()  # only passes if two activities run at the same time
        return input

    @w.workflow("Meet")
    def meet_wf(ctx: Any, input: Any) -> Any:
        return ctx.execute_activity("meet", input, task_queue=queue)

    w.start()
    try:
        assert w.wait_registered(timeout=30)
        for i in range(2):
            client.start("Meet", f"meet-{queue}-{i}", i, task_queue=queue)
        assert [client.result(f"meet-{queue}-{i}", timeout=30) for i in range(2)] == [0, 1]
    finally:
        w.stop()
        w.join(timeout=30)
    assert w.errors == []
