"""Key scenarios through both adapters of one embedded engine: in-process (``Worker(engine=)``,
``Client(engine=)``) and HTTP (the same engine's :meth:`serve` URL with a socket worker and
client). Each scenario must behave the same either way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bridge
from bridge import Client, Worker, WorkflowContext, WorkflowFailedError
from bridge.engine.clock import Clock, FakeClock
from bridge.engine.embedded import EmbeddedEngine
from tests.helpers import wait_until

MODES = ["in-process", "http"]

LUA = """
local workflow = require("assay.workflow")

workflow.define("LuaGreeting", function(ctx, input)
    return { text = ctx:execute_activity("greet", input) }
end)

workflow.define("LuaNap", function(ctx, input)
    ctx:sleep(input.seconds)
    return { woke = true }
end)

workflow.define("LuaGate", function(ctx, input)
    return { got = ctx:wait_for_signal("go") }
end)
"""


@dataclass
class Side:
    """One way of reaching the engine: in-process or over its HTTP URL."""

    engine: EmbeddedEngine
    mode: str

    def worker(self) -> Worker:
        if self.mode == "in-process":
            return Worker(engine=self.engine, log_stderr=False)
        assert self.engine.url is not None
        return Worker(self.engine.url, log_stderr=False)

    def client(self) -> Client:
        if self.mode == "in-process":
            return Client(engine=self.engine)
        return Client(self.engine.url)


def open_side(mode: str, backend_url: str, clock: Clock | None = None) -> Side:
    engine = bridge.Engine(backend_url, clock=clock, poll_wait_s=0.5)
    if mode == "http":
        engine.serve()
    return Side(engine, mode)


@contextmanager
def running(side: Side) -> Iterator[Client]:
    """A worker with Lua and Python handlers serving ``side``'s engine, and a client."""
    worker = side.worker()

    @worker.activity("greet")
    def greet(ctx: Any, input: Any) -> str:
        return f"hello, {input['name']}!"

    @worker.workflow("PyGreeting")
    def py_greeting(ctx: WorkflowContext, input: Any) -> Any:
        return {"text": ctx.execute_activity("greet", input)}

    @worker.workflow("PyGate")
    def py_gate(ctx: WorkflowContext, input: Any) -> Any:
        return {"got": ctx.wait_for_signal("go")}

    @worker.workflow("PyParent")
    def py_parent(ctx: WorkflowContext, input: Any) -> Any:
        child = ctx.start_child_workflow("LuaGreeting", workflow_id=f"{ctx.workflow_id}-child",
                                         input=input)
        return {"child": child}

    @worker.workflow("PyNap")
    def py_nap(ctx: WorkflowContext, input: Any) -> Any:
        ctx.sleep(input["seconds"])
        return {"woke": True}

    worker.load_lua(LUA)
    worker.start()
    client = side.client()
    try:
        assert worker.wait_registered(timeout=30)
        yield client
    finally:
        client.close()
        worker.stop()
        worker.join(30)
    assert worker.errors == []


@pytest.fixture(params=MODES)
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Side]:
    opened = open_side(str(request.param), f"sqlite:///{tmp_path / 'engine.db'}")
    try:
        yield opened
    finally:
        opened.engine.close()


@pytest.mark.parametrize("workflow_type", ["LuaGreeting", "PyGreeting"])
def test_start_and_result(side: Side, workflow_type: str) -> None:
    with running(side) as client:
        started = client.start(workflow_type, input={"name": side.mode})
        assert client.result(started["workflow_id"], timeout=30) == {
            "text": f"hello, {side.mode}!"}


@pytest.mark.parametrize("workflow_type", ["LuaGate", "PyGate"])
def test_signal(side: Side, workflow_type: str) -> None:
    with running(side) as client:
        started = client.start(workflow_type)
        wid = started["workflow_id"]
        wait_until(lambda: any(e["event_type"] == "WorkflowAwaitingSignal"
                               for e in client.events(wid)), 30, what="the gate to wait")
        client.signal(wid, "go", {"n": 1})
        assert client.result(wid, timeout=30) == {"got": {"n": 1}}


def test_cancel(side: Side) -> None:
    with running(side) as client:
        wid = client.start("LuaGate")["workflow_id"]
        client.cancel(wid)
        with pytest.raises(WorkflowFailedError) as failed:
            client.result(wid, timeout=30)
        assert failed.value.status == "CANCELLED"


def test_child_workflow(side: Side) -> None:
    with running(side) as client:
        wid = client.start("PyParent", input={"name": "child"})["workflow_id"]
        assert client.result(wid, timeout=30) == {"child": {"text": "hello, child!"}}
        assert [c["id"] for c in client.children(wid)] == [f"{wid}-child"]


@pytest.mark.parametrize("workflow_type", ["LuaNap", "PyNap"])
def test_durable_timer(side: Side, workflow_type: str) -> None:
    with running(side) as client:
        wid = client.start(workflow_type, input={"seconds": 0.2})["workflow_id"]
        assert client.result(wid, timeout=30) == {"woke": True}
        kinds = [e["event_type"] for e in client.events(wid)]
        assert "TimerScheduled" in kinds and "TimerFired" in kinds


#: 2030-01-01 02:59:59 UTC: a second before the schedule's first run, years from the wall clock,
#: so the run happens only if the core and the due-work runner both read the engine's clock.
BEFORE_THREE = 1_893_466_799.0


@pytest.mark.parametrize("mode", MODES)
def test_cron_schedule_fires_on_the_engine_clock(mode: str, tmp_path: Path) -> None:
    clock = FakeClock(BEFORE_THREE)
    side = open_side(mode, f"sqlite:///{tmp_path / 'cron.db'}", clock=clock)
    try:
        assert side.engine.clock is clock
        with running(side) as client:
            client.schedules.create("nightly", "LuaGreeting", "0 0 3 * * *",
                                    input={"name": "cron"})
            assert client.list(type="LuaGreeting") == []
            clock.advance(2)
            side.engine.wake_due_runner()
            fired = wait_until(lambda: client.list(type="LuaGreeting"), 30, what="a cron run")
            assert client.result(fired[0]["id"], timeout=30) == {"text": "hello, cron!"}
    finally:
        side.engine.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_workflow_started_before_a_restart_finishes_after_it(mode: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    side = open_side(mode, url)
    try:
        with running(side) as client:
            wid = client.start("LuaNap", input={"seconds": 1.0})["workflow_id"]
            wait_until(lambda: any(e["event_type"] == "TimerScheduled"
                                   for e in client.events(wid)), 30, what="the timer")
    finally:
        side.engine.close()
    again = open_side(mode, url)
    try:
        with running(again) as client:
            assert client.result(wid, timeout=30) == {"woke": True}
    finally:
        again.engine.close()


