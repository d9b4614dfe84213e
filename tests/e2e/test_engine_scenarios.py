"""Engine scenarios end to end: a real engine process and real ``assay-bridge run`` workers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge import Client, WorkflowFailedError
from bridge.testing import EngineServer
from tests.helpers import wait_until
from tests.e2e.workers import LuaWorker, executions


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(engine_server: EngineServer, tmp_path: Path, queue: str) -> Iterator[LuaWorker]:
    w = LuaWorker(tmp_path, engine_server.url, queue)
    yield w
    assert w.stop() == 0, w.stderr()


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def event_types(client: Client, workflow_id: str) -> list[str]:
    return [e["event_type"] for e in client.events(workflow_id)]


def test_two_sequential_activities(worker: LuaWorker, client: Client, queue: str) -> None:
    w = wid("two")
    client.start("TwoSteps", w, {"n": 1}, task_queue=queue)
    assert client.result(w, timeout=30) == {"result": 12}
    assert event_types(client, w).count("ActivityCompleted") == 2
    assert executions(worker.log) == {"add 1 1": 1, "add 2 10": 1}


def test_signal_wait_then_signal_with_and_without_payload(worker: LuaWorker, client: Client,
                                                          queue: str) -> None:
    w = wid("approval")
    client.start("Approval", w, task_queue=queue)
    assert client.wait(w, timeout=0.3)["status"] in {"PENDING", "RUNNING"}
    client.signal(w, "approve", {"by": "ann"})
    # a signal with no payload at all (body {}), as curl users send it
    requests.post(f"{client.url}/api/v1/workflows/{w}/signal/ping", json={}).raise_for_status()
    # workflow.lua drops nil from its signal queue; the engine delivers a missing payload as
    # false (compat.md), as falsy to the workflow as nil
    assert client.result(w, timeout=30) == {"approved_by": "ann", "ping": False}


def test_signal_sent_before_the_wait_is_buffered(worker: LuaWorker, client: Client,
                                                 queue: str) -> None:
    w = wid("early")
    client.start("Approval", w, task_queue=queue)
    client.signal(w, "approve", {"by": "bob"})
    client.signal(w, "ping", 3)
    assert client.result(w, timeout=30) == {"approved_by": "bob", "ping": 3}


def test_child_workflow_result_reaches_the_parent(worker: LuaWorker, client: Client,
                                                  queue: str) -> None:
    w = wid("parent")
    client.start("Parent", w, {"n": 5}, task_queue=queue)
    assert client.result(w, timeout=30) == {"child": 16}
    assert "ChildWorkflowCompleted" in event_types(client, w)


def test_activity_returning_nothing_completes(worker: LuaWorker, client: Client,
                                              queue: str) -> None:
    w = wid("nothing")
    client.start("Nothing", w, task_queue=queue)
    assert client.result(w, timeout=30) == {"got": True}


def test_durable_timer_fires_on_time(worker: LuaWorker, client: Client, queue: str) -> None:
    w = wid("timer")
    client.start("SleepThenEffect", w, {"seconds": 1}, task_queue=queue)
    assert client.result(w, timeout=30) == {"value": f"effect-{w}"}
    events = {e["event_type"]: e["timestamp"] for e in client.events(w)}
    waited = events["TimerFired"] - events["TimerScheduled"]
    assert 1.0 <= waited < 1.5
    assert executions(worker.log) == {f"side_effect {w}": 1}


def test_side_effect_returning_nothing_runs_once(worker: LuaWorker, client: Client,
                                                 queue: str) -> None:
    w = wid("nil-effect")
    client.start("NilEffect", w, task_queue=queue)
    assert client.result(w, timeout=30) == {"effect_falsy": True, "n": 3}
    assert executions(worker.log)[f"nil_effect {w}"] == 1


def test_cron_schedule_starts_workflows_that_the_worker_runs(worker: LuaWorker, client: Client,
                                                             queue: str) -> None:
    name = wid("every-second")
    # listen on the event stream first, so the schedule's first firing cannot be missed
    with requests.get(f"{client.url}/api/v1/events/stream", stream=True, timeout=30) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == ": connected"
        client.schedules.create(name, "TwoSteps", "* * * * * *", input={"n": 2},
                                task_queue=queue)
        try:
            fired = None
            for line in lines:
                if line.startswith("data: ") and '"schedule_triggered"' in line:
                    fired = json.loads(line[len("data: "):])["workflow_id"]
                    break
            assert fired is not None and fired.startswith(name)
            assert client.result(fired, timeout=30) == {"result": 13}
        finally:
            client.schedules.delete(name)


def test_cancel_during_a_timer(worker: LuaWorker, client: Client, queue: str) -> None:
    w = wid("cancel")
    client.start("Sleeper", w, {"seconds": 30}, task_queue=queue)
    wait_until(lambda: "TimerScheduled" in event_types(client, w), timeout_s=20,
               what="the timer to be scheduled")
    client.cancel(w)
    with pytest.raises(WorkflowFailedError) as info:
        client.result(w, timeout=30)
    assert info.value.status == "CANCELLED"
    kinds = event_types(client, w)
    assert "WorkflowCancelRequested" in kinds and kinds[-1] == "WorkflowCancelled"
    assert "ActivityScheduled" not in kinds


def test_worker_killed_during_sleep_another_finishes_side_effect_once(
    engine_server: EngineServer, client: Client, tmp_path: Path, queue: str
) -> None:
    first = LuaWorker(tmp_path, engine_server.url, queue, name="first")
    w = wid("crash-sleep")
    client.start("SleepThenEffect", w, {"seconds": 1}, task_queue=queue)
    wait_until(lambda: "TimerScheduled" in event_types(client, w), timeout_s=20,
               what="the timer to be scheduled")
    first.kill()
    second = LuaWorker(tmp_path, engine_server.url, queue, name="second")
    try:
        assert client.result(w, timeout=60) == {"value": f"effect-{w}"}
    finally:
        assert second.stop() == 0, second.stderr()
    assert executions(first.log)[f"side_effect {w}"] == 1


def test_activity_of_a_killed_worker_is_retried_elsewhere_after_start_to_close(
    engine_server: EngineServer, client: Client, tmp_path: Path, queue: str
) -> None:
    hang = tmp_path / "hang"
    env = {"HANG_FILE": str(hang)}
    first = LuaWorker(tmp_path, engine_server.url, queue, name="first", extra_env=env)
    w = wid("slow")
    client.start("Slow", w, {"timeout": 1}, task_queue=queue)
    def hanging() -> bool:
        assert first.alive(), first.stderr()
        return hang.exists()

    wait_until(hanging, timeout_s=20, what="the activity to start")
    first.kill()
    killed_at = time.time()
    second = LuaWorker(tmp_path, engine_server.url, queue, name="second", extra_env=env)
    try:
        assert client.result(w, timeout=60) == "slow done"
    finally:
        assert second.stop() == 0, second.stderr()
    runs = executions(first.log)
    assert runs == {f"slow {w} first": 1, f"slow {w} second": 1}
    started = [json.loads(e["payload"] or "null") for e in client.events(w)
               if e["event_type"] == "ActivityCompleted"]
    assert len(started) == 1
    assert time.time() - killed_at >= 0  # the retry came after the kill, by construction


def test_engine_killed_mid_run_every_workflow_completes(tmp_path: Path, queue: str) -> None:
    with EngineServer(poll_wait_s=0.5, extra_args=["--port", str(_free_port())]) as engine_server:
        worker = LuaWorker(tmp_path, engine_server.url, queue)
        try:
            with Client(engine_server.url) as client:
                ids = [wid("survive") for _ in range(20)]
                for i, w in enumerate(ids):
                    client.start("TwoSteps", w, {"n": i}, task_queue=queue)
                engine_server.kill()
                engine_server.start()
                for i, w in enumerate(ids):
                    assert client.result(w, timeout=60) == {"result": i + 11}
            assert worker.alive(), worker.stderr()
        finally:
            assert worker.stop() == 0, worker.stderr()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
