"""WorkflowEnvironment and time skipping: Lua and Python workflows on an in-process engine whose
clock jumps to the next deadline when every workflow waits on time (the ``workflow_env``
fixture comes from the package's own pytest plugin)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bridge import LuaScriptError, Worker
from bridge.testing import WorkflowEnvironment
from tests.helpers import wait_until

DAY = 86400

LUA = """
local workflow = require("assay.workflow")

workflow.define("DayLater", function(ctx, input)
    local greeting = ctx:execute_activity("greet", { name = input.name })
    ctx:sleep(86400)
    return greeting.text .. ", a day later"
end)

workflow.activity("greet", function(ctx, input) return { text = "hello " .. input.name } end)
"""


def event(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    return next(e for e in events if e["event_type"] == event_type)


def timer_gap(env: WorkflowEnvironment, workflow_id: str) -> float:
    events = env.client.events(workflow_id)
    return float(event(events, "TimerFired")["timestamp"]
                 - event(events, "TimerScheduled")["timestamp"])


def test_a_one_day_lua_timer_fires_at_once_and_its_events_carry_the_skipped_day(
        workflow_env: WorkflowEnvironment) -> None:
    assert workflow_env.time_skipping
    workflow_env.worker(LUA)
    workflow_env.client.start("DayLater", "day-1", {"name": "ann"})
    assert workflow_env.client.result("day-1", timeout=30) == "hello ann, a day later"
    assert timer_gap(workflow_env, "day-1") >= DAY
    assert workflow_env.skips >= 1


def test_python_activity_retries_wait_out_their_backoff_in_skipped_time(
        workflow_env: WorkflowEnvironment) -> None:
    attempts: list[float] = []

    def flaky(ctx: Any, input: Any) -> str:
        attempts.append(workflow_env.now())
        if len(attempts) < 3:
            raise RuntimeError("not yet")
        return "third time lucky"

    def workflow(ctx: Any, input: Any) -> Any:
        return ctx.execute_activity("flaky", max_attempts=5, initial_interval_secs=3600,
                                    backoff_coefficient=2)

    workflow_env.worker(workflows={"Flaky": workflow}, activities={"flaky": flaky})
    workflow_env.client.start("Flaky", "flaky-1")
    assert workflow_env.client.result("flaky-1", timeout=30) == "third time lucky"
    assert len(attempts) == 3
    assert attempts[1] - attempts[0] >= 3600  # the first backoff, skipped
    assert attempts[2] - attempts[1] >= 7200  # then twice as long


def test_an_application_worker_its_decorators_and_its_lua_are_served(
        workflow_env: WorkflowEnvironment, tmp_path: Path) -> None:
    lua_file = tmp_path / "workflows.lua"
    lua_file.write_text(LUA)
    app = Worker("http://127.0.0.1:9")  # an application's module-level worker: URL unused

    @app.workflow("Twice")
    def twice(ctx: Any, input: Any) -> Any:
        first = ctx.execute_activity("greet", {"name": input})  # a Lua activity
        ctx.sleep(3600)
        return [first["text"], ctx.execute_activity("shout", first["text"])]

    app.load_lua(lua_file)

    def more(worker: Worker) -> None:
        @worker.activity("shout")
        def shout(ctx: Any, text: str) -> str:
            return text.upper()

    workflow_env.worker(handlers=app, setup=more)
    workflow_env.client.start("Twice", "twice-1", "bo")
    assert workflow_env.client.result("twice-1", timeout=30) == ["hello bo", "HELLO BO"]
    assert timer_gap(workflow_env, "twice-1") >= 3600
    workflow_env.client.start("DayLater", "day-2", {"name": "cy"})  # the app's Lua workflow
    assert workflow_env.client.result("day-2", timeout=30) == "hello cy, a day later"


def test_time_does_not_skip_while_an_activity_runs(workflow_env: WorkflowEnvironment) -> None:
    running, release = threading.Event(), threading.Event()

    def slow(ctx: Any, input: Any) -> str:
        running.set()
        assert release.wait(30)
        return "slow done"

    def slow_workflow(ctx: Any, input: Any) -> Any:
        return ctx.execute_activity("slow")

    workflow_env.worker(LUA, workflows={"Slow": slow_workflow}, activities={"slow": slow},
                        concurrency=2)
    workflow_env.client.start("Slow", "slow-1")
    assert running.wait(30)
    workflow_env.client.start("DayLater", "day-3", {"name": "di"})
    wait_until(lambda: any(e["event_type"] == "TimerScheduled"
                           for e in workflow_env.client.events("day-3")),
               timeout_s=30, what="the day's timer")
    skipper = workflow_env.skipper
    assert skipper is not None
    assert skipper.skip_once() == 0.0  # an activity is in hand: time stands
    assert workflow_env.clock.skipped == 0.0
    release.set()
    assert workflow_env.client.result("slow-1", timeout=30) == "slow done"
    assert workflow_env.client.result("day-3", timeout=30) == "hello di, a day later"
    assert timer_gap(workflow_env, "day-3") >= DAY


@pytest.mark.workflow_env(time_skipping=False)
def test_without_time_skipping_the_clock_moves_only_on_purpose(
        workflow_env: WorkflowEnvironment) -> None:
    assert not workflow_env.time_skipping
    assert workflow_env.skipper is None
    workflow_env.worker(LUA)
    workflow_env.client.start("DayLater", "day-4", {"name": "ed"})
    with pytest.raises(TimeoutError):
        workflow_env.wait_until_waiting("day-4", "signal", timeout=0.2)
    (timer,) = workflow_env.wait_until_waiting("day-4", "timer")
    assert timer["fire_at"] >= workflow_env.now() + DAY - 60
    assert event(workflow_env.client.events("day-4"), "TimerScheduled")
    assert workflow_env.client.describe("day-4")["status"] == "RUNNING"
    workflow_env.sleep(DAY)  # the timer is due: it fires before sleep returns
    assert event(workflow_env.client.events("day-4"), "TimerFired")
    assert workflow_env.client.result("day-4", timeout=30) == "hello ed, a day later"
    assert timer_gap(workflow_env, "day-4") >= DAY


def test_cron_schedules_fire_in_skipped_time(workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(workflows={"Tick": lambda ctx, input: "tick"})
    created = workflow_env.client.schedules.create("hourly", "Tick", "0 * * * *")
    first_run = float(created["next_run_at"])
    done = wait_until(lambda: workflow_env.client.list(type="Tick", status="COMPLETED"),
                      timeout_s=30, what="a scheduled run")
    workflow_env.client.schedules.pause("hourly")
    started = event(workflow_env.client.events(done[-1]["id"]), "WorkflowStarted")
    assert started["timestamp"] >= first_run  # it ran at the hour, not now


def test_leaving_stops_every_thread_and_removes_the_database() -> None:
    before = set(threading.enumerate())
    with WorkflowEnvironment() as env:
        env.worker(LUA, concurrency=2)
        directory = env.directory
        assert (directory / "engine.db").is_file()
        env.client.start("DayLater", "day-5", {"name": "flo"})
        assert env.client.result("day-5", timeout=30) == "hello flo, a day later"
    assert not directory.exists()
    assert set(threading.enumerate()) - before == set()


def test_a_worker_whose_lua_fails_to_load_raises_its_error(workflow_env: WorkflowEnvironment) -> None:
    with pytest.raises(LuaScriptError):
        workflow_env.worker("local x = = 1\n")


def test_a_paused_skipper_leaves_time_alone_until_resumed(
        workflow_env: WorkflowEnvironment) -> None:
    skipper = workflow_env.skipper
    assert skipper is not None
    skipper.pause()
    assert skipper.paused
    workflow_env.worker(LUA)
    workflow_env.client.start("DayLater", "day-6", {"name": "gus"})
    workflow_env.wait_until_waiting("day-6", "timer")
    looked = skipper.checks
    wait_until(lambda: skipper.checks >= looked + 3, what="the skipper to look three times")
    assert workflow_env.skips == 0 and workflow_env.clock.skipped == 0.0
    skipper.resume()
    assert workflow_env.client.result("day-6", timeout=30) == "hello gus, a day later"
    assert timer_gap(workflow_env, "day-6") >= DAY


def test_leaving_while_an_activity_runs_lets_it_report_before_the_engine_closes(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    entered, release = threading.Event(), threading.Event()
    at_close: list[str] = []

    def hold(ctx: Any, input: Any) -> str:
        entered.set()
        release.wait(60)
        return "held"

    before = set(threading.enumerate())
    env = WorkflowEnvironment()
    with env:
        worker = env.worker(workflows={"Hold": lambda ctx, i: ctx.execute_activity("hold", i)},
                            activities={"hold": hold})
        engine = env.engine
        close = engine.close

        def close_after_reading() -> None:  # what the engine holds when it is closed
            at_close.extend(e["event_type"] for e in engine.core.list_events("hold-1"))
            close()

        monkeypatch.setattr(engine, "close", close_after_reading)
        env.client.start("Hold", "hold-1", 1)
        assert entered.wait(30)
        closing = threading.Thread(target=env.close)
        closing.start()
        wait_until(lambda: worker._stop.is_set(), 30, what="the stop request")
        release.set()
        closing.join(30)
        assert not closing.is_alive()
    assert "ActivityCompleted" in at_close
    assert not worker.is_alive() and engine.closed
    assert set(threading.enumerate()) - before == set()
    err = capfd.readouterr().err
    assert "engine unreachable" not in err and "giving up" not in err


def test_leaving_warns_of_a_worker_still_running_after_the_stop_timeout(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from bridge.testing import environment
    from bridge.worker import engine_calls

    monkeypatch.setattr(environment, "STOP_TIMEOUT_S", 0.2)
    monkeypatch.setattr(engine_calls, "STOP_GRACE_S", 0.5)  # its result has nowhere to go
    entered, release = threading.Event(), threading.Event()

    def hold(ctx: Any, input: Any) -> str:
        entered.set()
        release.wait(60)
        return "held"

    try:
        with WorkflowEnvironment() as env:
            worker = env.worker(
                workflows={"Hold": lambda ctx, i: ctx.execute_activity("hold", i)},
                activities={"hold": hold}, log_stderr=False)
            env.client.start("Hold", "hold-2", 1)
            assert entered.wait(30)
        assert worker.is_alive()
        assert any("its thread is left behind" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
    worker.join(30)
    assert not worker.is_alive()


def test_wrong_arguments_are_refused_with_what_was_expected() -> None:
    with pytest.raises(TypeError, match="time_skipping must be True or False, not 'no'"):
        WorkflowEnvironment(time_skipping="no")  # type: ignore[arg-type]
    env = WorkflowEnvironment()
    with env:
        with pytest.raises(TypeError, match="handlers must be a bridge.Worker, not dict"):
            env.worker(handlers={"W": lambda ctx, i: i})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="workflows must be a mapping"):
            env.worker(workflows=[lambda ctx, i: i])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="lua must be a file path"):
            env.worker(lua=5)  # type: ignore[arg-type]
        env.worker(workflows={"Echo": lambda ctx, i: i})
        with pytest.raises(ValueError, match="kind must be one of timer, signal"):
            env.wait_until_waiting("nobody", "bogus")
        env.client.start("Echo", "echo-1", 7)
        assert env.client.result("echo-1", timeout=30) == 7
        with pytest.raises(RuntimeError, match="echo-1 ended COMPLETED"):
            env.wait_until_waiting("echo-1", "activity", timeout=60)
    with pytest.raises(RuntimeError, match="not started"):
        env.sleep(10)
    assert env.clock.skipped == 0.0


def test_a_result_that_times_out_says_what_the_workflow_waits_on(
        workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(workflows={"Echo": lambda ctx, i: i})
    workflow_env.client.start("NoSuchType", "nobody-runs-it", 1)
    with pytest.raises(TimeoutError) as caught:
        workflow_env.client.result("nobody-runs-it", timeout=0.2)
    assert "still PENDING after 0.2s; waiting on: " in str(caught.value)
    assert "no live worker serves" in str(caught.value)
