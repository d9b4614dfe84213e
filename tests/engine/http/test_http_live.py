"""Held polls, /wait, SSE and the due-work runner: things that must happen promptly, over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.engine import EngineService, ServerSettings
from bridge.testing import EngineServer
from tests.engine.http.api import Api, read_sse
from tests.helpers import new_id, wait_until

POLL_WAIT_S = 10.0


@pytest.fixture(scope="module")
def live_engine(backend_url: str | None) -> Iterator[EngineServer]:
    with EngineServer(backend_url=backend_url, poll_wait_s=POLL_WAIT_S) as server:
        yield server


@pytest.fixture
def live(live_engine: EngineServer) -> Iterator[Api]:
    with Api(live_engine) as client:
        yield client


def _poll_in_thread(server: Any, queue: str) -> tuple[threading.Thread, dict[str, Any]]:
    answer: dict[str, Any] = {}

    def poll() -> None:
        with Api(server) as client:
            started = time.monotonic()
            resp = client.post("/workflow-tasks/poll", {"queue": queue, "worker_id": "w-held"},
                               timeout=POLL_WAIT_S + 10)
            answer["elapsed"] = time.monotonic() - started
            answer["body"] = resp.json()

    thread = threading.Thread(target=poll)
    thread.start()
    return thread, answer


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineService]:
    """The engine served from this process (a real socket, a real SQLite file), so a test can
    see its hub: how many polls are held right now."""
    db = tmp_path_factory.mktemp("in-process") / "engine.db"
    service = EngineService(ServerSettings(port=0, backend_url=f"sqlite:///{db}",
                                           poll_wait_s=POLL_WAIT_S), handle_signals=False)
    thread = threading.Thread(target=service.run, name="engine-in-process")
    thread.start()
    assert service.listening.wait(30)
    yield service
    service.request_stop()
    thread.join(30)
    assert not thread.is_alive()


class _Served:
    """What the held-poll tests need of an engine: its URL (an ``Api`` on it) and its hub."""

    def __init__(self, service: EngineService) -> None:
        assert service.url is not None
        self.url = service.url
        self.api_url = service.url + "/api/v1"


def _poll_then(service: EngineService, queue: str, act: Callable[[Api], None]) -> dict[str, Any]:
    """Hold a workflow-task poll on ``queue``; once the engine holds it, ``act``; the answer."""
    served: Any = _Served(service)
    thread, answer = _poll_in_thread(served, queue)
    wait_until(lambda: service.hub.waiting(("workflow_task", queue)) == 1,
               what="the poll to be held")
    with Api(served) as client:
        act(client)
    thread.join(POLL_WAIT_S + 10)
    return answer


def test_held_poll_returns_the_task_as_soon_as_a_workflow_starts(in_process: EngineService) -> None:
    queue, wf = new_id("q"), new_id()
    answer = _poll_then(in_process, queue, lambda api: api.start(wf, task_queue=queue))
    assert answer["body"] is not None and answer["body"]["workflow_id"] == wf
    assert answer["elapsed"] < POLL_WAIT_S / 2


def test_held_poll_answers_null_early_when_an_activity_becomes_ready(
        in_process: EngineService) -> None:
    queue, wf = new_id("q"), new_id()

    def schedule(api: Api) -> None:
        api.start(wf, task_queue=new_id("other"))
        resp = api.post(f"/workflows/{wf}/activities", {"name": "a", "seq": 1, "task_queue": queue})
        assert resp.status_code == 201

    answer = _poll_then(in_process, queue, schedule)
    assert answer["body"] is None
    assert answer["elapsed"] < POLL_WAIT_S / 2


def test_idle_held_poll_answers_null_after_the_poll_wait(
    engine_factory: Callable[..., EngineServer],
) -> None:
    server = engine_factory(poll_wait_s=0.5)
    with Api(server) as client:
        started = time.monotonic()
        resp = client.post("/workflow-tasks/poll", {"queue": new_id("q"), "worker_id": "w"})
        elapsed = time.monotonic() - started
    assert resp.content == b"null"
    assert 0.4 <= elapsed < 5


def test_timer_fires_through_the_due_runner_and_wakes_a_held_poll(live: Api) -> None:
    queue, wf = new_id("q"), new_id()
    live.start(wf, task_queue=queue)
    live.claim(queue)
    assert live.commands(wf, [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 0.3}]).ok
    started = time.monotonic()
    task = live.claim(queue)  # held until the timer fires
    assert time.monotonic() - started < POLL_WAIT_S / 2
    fired = [h for h in task["history"] if h["event_type"] == "TimerFired"]
    assert fired and fired[0]["payload"]["timer_seq"] == 1


def test_sse_stream_delivers_workflow_events(live: Api) -> None:
    wf = new_id()
    with Api(live.server) as watcher:
        resp = watcher.get("/events/stream", params={"workflow_id": wf}, stream=True, timeout=10)
        try:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            messages = read_sse(resp)
            assert next(messages) == ("comment", "connected")  # subscribed from here on
            live.start(wf, input={"x": 1})
            assert live.post(f"/workflows/{wf}/signal/go", {"payload": 7}).ok
            seen: list[tuple[str, dict[str, Any]]] = []
            for event, data in messages:
                if event == "comment":
                    continue
                seen.append((event, json.loads(data)))
                if event == "SignalReceived":
                    break
        finally:
            resp.close()
    names = [name for name, _ in seen]
    assert names[0] == "WorkflowStarted" and "workflow_started" in names
    started = dict(seen)["WorkflowStarted"]
    assert started == {"event_type": "WorkflowStarted", "workflow_id": wf, "payload": {"x": 1}}
    assert dict(seen)["SignalReceived"]["payload"] == {"signal": "go", "payload": 7}
