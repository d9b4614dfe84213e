"""The hot routes answered in the caller's thread (``bridge.engine.api.direct``): the same
answers as the app gives over HTTP, errors included, and no wait on the engine's loop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from starlette.routing import Match, Route

import bridge
from bridge.engine.api import hot, hot_routes
from bridge.engine.api.routes import ROUTES
from bridge.engine.embedded import EmbeddedEngine
from tests.helpers import scrape, value, wait_until

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EmbeddedEngine]:
    with bridge.Engine(f"sqlite:///{tmp_path / 'engine.db'}", poll_wait_s=0.2,
                       max_body_bytes=4096) as opened:
        opened.core.start_workflow(workflow_type="T", workflow_id="running", task_queue="q")
        yield opened


#: Requests to the hot routes the caller's thread answers, each with the answer's status.
HOT_REQUESTS: list[tuple[str, str, bytes | None, dict[str, str], int]] = [
    ("POST", "/api/v1/workflow-tasks/poll", b"{}", JSON, 422),
    ("POST", "/api/v1/workflow-tasks/poll", b'{"queue": "q"}', JSON, 422),
    ("POST", "/api/v1/workflow-tasks/poll", b'{"queue": "q", "worker_id": 5}', JSON, 422),
    ("POST", "/api/v1/workflow-tasks/poll", b'{"queue": 1}', {"Content-Type": "text/plain"},
     415),
    ("POST", "/api/v1/workflow-tasks/poll", b"[1]", JSON, 422),
    ("POST", "/api/v1/workflow-tasks/poll", b"", JSON, 400),
    ("POST", "/api/v1/workflow-tasks/poll", b'{"queue": "' + b"x" * 5000 + b'"}', JSON, 413),
    ("POST", "/api/v1/workflow-tasks/poll", b'{"queue": "idle", "worker_id": "w"}', JSON, 200),
    ("POST", "/api/v1/workflow-tasks/nope/commands", b'{"worker_id": "w", "commands": []}',
     JSON, 404),
    ("POST", "/api/v1/workflow-tasks/running/commands", b'{"worker_id": "w"}', JSON, 422),
    ("POST", "/api/v1/workflow-tasks/running/commands", b'{"worker_id": "w", "commands": []}',
     JSON, 409),
    ("POST", "/api/v1/tasks/poll", b'{"queue": "q", "worker_id": "w"}', JSON, 200),
    ("POST", "/api/v1/tasks/poll", b'{"queue": "q"}', JSON, 422),
    ("POST", "/api/v1/tasks/abc/complete", b"{}", JSON, 400),
    ("POST", "/api/v1/tasks/abc/complete", b"{}", {"Content-Type": "text/plain"}, 400),
    ("POST", "/api/v1/tasks/abc/complete", b"[" * 5000, JSON, 400),
    ("POST", "/api/v1/tasks/99999999999999999999/complete", b"{}", JSON, 400),
    ("POST", "/api/v1/tasks/77/complete", b'{"result": 1}', JSON, 404),
    ("POST", "/api/v1/tasks/77/complete", b"{nope", JSON, 400),
    ("POST", "/api/v1/workers/heartbeat", b'{"worker_id": "nobody"}', JSON, 200),
    ("POST", "/api/v1/workers/heartbeat", b'{"worker_id": null}', {}, 422),
    ("POST", "/api/v1/workflows", b'{"workflow_type": "T"}', JSON, 422),
    ("POST", "/api/v1/workflows", b'{"workflow_type": "T", "workflow_id": "running"}', JSON,
     409),
    ("POST", "/api/v1/workflows",
     b'{"workflow_type": "T", "workflow_id": "w2", "task_queue": null}', JSON, 422),
    ("GET", "/api/v1/workflows/running", None, {}, 200),
    ("GET", "/api/v1/workflows/nope", None, {}, 404),
    ("GET", "/api/v1/workflows/running/wait?timeout=0", None, {}, 200),
    ("GET", "/api/v1/workflows/nope/wait?timeout=0", None, {}, 404),
    ("GET", "/api/v1/workflows/running/wait?timeout=abc", None, {}, 400),
    ("GET", "/api/v1/workflows/running/wait?timeout=-1", None, {}, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), HOT_REQUESTS,
                         ids=[f"{m} {p} {b!r:.40}" for m, p, b, _, _ in HOT_REQUESTS])
def test_the_direct_path_answers_as_the_app_does_over_http(
        engine: EmbeddedEngine, method: str, path: str, body: bytes | None,
        headers: dict[str, str], status: int) -> None:
    url = engine.serve()
    answer = engine.request(method, path, body, headers)
    over_http = requests.request(method, url + path, data=body, headers=headers, timeout=30)
    assert answer[0] == status == over_http.status_code, answer
    assert answer[2] == over_http.content
    for name in ("content-type", "content-length", "retry-after"):
        assert answer[1].get(name) == over_http.headers.get(name), name


def test_hot_calls_do_not_wait_for_the_engines_loop(engine: EmbeddedEngine) -> None:
    """With the loop busy, hot calls are answered; a call only the app answers waits for it."""
    release, blocked = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        blocked.set()
        release.wait(30)

    engine._loop.call_soon_threadsafe(hold_the_loop)
    try:
        assert blocked.wait(30)
        beat = engine.request("POST", "/api/v1/workers/heartbeat", b'{"worker_id": "w"}', JSON)
        assert beat[0] == 200
        record = engine.request("GET", "/api/v1/workflows/running")
        assert json.loads(record[2])["status"] == "PENDING"
        started = engine.request("POST", "/api/v1/workflows",
                                 b'{"workflow_type": "T", "workflow_id": "while-busy"}', JSON)
        assert started[0] == 201
        answered = threading.Event()

        def list_workflows() -> None:
            engine.request("GET", "/api/v1/workflows")
            answered.set()

        lister = threading.Thread(target=list_workflows, daemon=True)
        lister.start()
        assert not answered.wait(0.2)  # not a hot route: it waits for the loop
    finally:
        release.set()
    assert answered.wait(30)


def test_held_polls_and_waits_are_woken_without_the_engines_loop(tmp_path: Path) -> None:
    with bridge.Engine(f"sqlite:///{tmp_path / 'held.db'}", poll_wait_s=20) as engine:
        release, blocked = threading.Event(), threading.Event()
        answers: dict[str, tuple[int, dict[str, str], bytes]] = {}

        def ask(name: str, method: str, path: str, body: bytes | None = None) -> None:
            answers[name] = engine.request(method, path, body, JSON)

        def hold_the_loop() -> None:
            blocked.set()
            release.wait(60)

        engine._loop.call_soon_threadsafe(hold_the_loop)
        try:
            assert blocked.wait(30)
            poll = threading.Thread(target=ask, args=(
                "poll", "POST", "/api/v1/workflow-tasks/poll",
                b'{"queue": "held", "worker_id": "w"}'), daemon=True)
            poll.start()
            wait_until(lambda: engine._hub.waiting(("workflow_task", "held")) == 1, 30,
                       what="the held poll")
            ask("start", "POST", "/api/v1/workflows",
                b'{"workflow_type": "T", "workflow_id": "held-1", "task_queue": "held"}')
            poll.join(30)
            assert json.loads(answers["poll"][2])["workflow_id"] == "held-1"
            waiter = threading.Thread(target=ask, args=(
                "wait", "GET", "/api/v1/workflows/held-1/wait?timeout=30"), daemon=True)
            waiter.start()
            wait_until(lambda: engine._hub.waiting(("workflow_terminal", "held-1")) == 1, 30,
                       what="the /wait call")
            engine.core.terminate_workflow("held-1", "done here")
            waiter.join(30)
            assert json.loads(answers["wait"][2])["status"] == "FAILED"
        finally:
            release.set()


@pytest.mark.parametrize("over_http", [False, True], ids=["direct", "http"])
def test_a_polls_first_turn_finds_work_no_notice_announced(tmp_path: Path,
                                                           over_http: bool) -> None:
    """Work left in the database by an earlier engine reaches no hub: the first turn of a
    held poll must still find it (a task to claim, or an activity to go on to) and answer at
    once, not after ``poll_wait_s``."""
    db = f"sqlite:///{tmp_path / 'left.db'}"
    with bridge.Engine(db) as first:
        core = first.core
        core.start_workflow(workflow_type="T", workflow_id="with-activity", task_queue="a")
        assert core.poll_workflow_task(queue="a", worker_id="w") is not None
        core.submit_commands("with-activity", worker_id="w", commands=[
            {"type": "ScheduleActivity", "seq": 1, "name": "act", "task_queue": "a"}])
        core.start_workflow(workflow_type="T", workflow_id="left", task_queue="t")
    with bridge.Engine(db, poll_wait_s=25) as engine:
        url = engine.serve() if over_http else ""
        answers: dict[str, bytes] = {}

        def poll(queue: str) -> None:
            body = json.dumps({"queue": queue, "worker_id": "w2"}).encode()
            if over_http:
                answers[queue] = requests.post(url + "/api/v1/workflow-tasks/poll", data=body,
                                               headers=JSON, timeout=90).content
            else:
                answers[queue] = engine.request("POST", "/api/v1/workflow-tasks/poll", body,
                                                JSON)[2]

        for queue in ("t", "a"):
            asking = threading.Thread(target=poll, args=(queue,), daemon=True)
            asking.start()
            asking.join(15)  # a poll held until poll_wait_s would still be running
            assert not asking.is_alive(), f"the poll on {queue} waited for work it had"
        assert json.loads(answers["t"])["workflow_id"] == "left"
        assert answers["a"] == b"null"  # the activity is next: no workflow task is held


def test_direct_answers_are_counted_in_the_request_metrics(engine: EmbeddedEngine) -> None:
    url = engine.serve()
    route = "/api/v1/workers/heartbeat"
    name = "assay_bridge_http_request_duration_seconds_count"

    def count() -> float:
        return value(scrape(url), name, method="POST", route=route, status="200")

    before = count()
    for _ in range(3):
        assert engine.request("POST", route, b'{"worker_id": "w"}', JSON)[0] == 200
    assert count() == before + 3


def test_every_hot_route_is_the_route_the_app_matches_first() -> None:
    for route in hot.HOT_ROUTES:
        path = route.path.replace("{id}", "some-id")
        scope = {"type": "http", "method": route.method, "path": path}
        first = next(r for r in ROUTES if r.matches(scope)[0] is Match.FULL)
        assert isinstance(first, Route)
        assert first.path == route.path
        assert first.endpoint is hot_routes.ENDPOINTS[route.method, route.path]
        assert hot.match(route.method, path) == (route, {"id": "some-id"} if "{id}" in
                                                 route.path else {})
    assert hot.match("POST", "/api/v1/tasks//complete") is None
    assert hot.match("GET", "/api/v1/workflows/a/b/wait") is None
    assert hot.match("DELETE", "/api/v1/workflows/x") is None


def _end(engine: EmbeddedEngine, workflow_id: str, how: str) -> None:
    core = engine.core
    if how == "terminate":
        core.terminate_workflow(workflow_id, "stopped")
        return
    assert core.poll_workflow_task(queue="ends", worker_id="w") is not None
    command = {"complete": {"type": "CompleteWorkflow", "result": {"ok": [1, "two"]}},
               "fail": {"type": "FailWorkflow", "error": "it broke"},
               "cancel": {"type": "CancelWorkflow"}}[how]
    core.submit_commands(workflow_id, worker_id="w", commands=[command])


@pytest.mark.parametrize("how", ["complete", "fail", "cancel", "terminate"])
@pytest.mark.parametrize("over_http", [False, True], ids=["direct", "http"])
def test_a_held_wait_answers_the_record_a_read_gives(engine: EmbeddedEngine, over_http: bool,
                                                     how: str) -> None:
    """A ``/wait`` woken by the workflow's end answers with the record the notice carried,
    not a second read: byte for byte what ``GET /workflows/{id}`` answers afterwards."""
    url = engine.serve() if over_http else ""
    workflow_id = f"ends-{how}"
    engine.core.start_workflow(workflow_type="T", workflow_id=workflow_id, task_queue="ends")
    path = f"/api/v1/workflows/{workflow_id}"
    answers: dict[str, bytes] = {}

    def wait() -> None:
        if over_http:
            answers["wait"] = requests.get(url + path + "/wait?timeout=60", timeout=90).content
        else:
            answers["wait"] = engine.request("GET", path + "/wait?timeout=60", None, {})[2]

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    wait_until(lambda: engine._hub.waiting(("workflow_terminal", workflow_id)) == 1, 30,
               what="the held /wait")
    _end(engine, workflow_id, how)
    waiter.join(30)
    assert not waiter.is_alive()
    read = engine.request("GET", path, None, {})[2]
    assert json.loads(read)["status"] in ("COMPLETED", "FAILED", "CANCELLED")
    assert answers["wait"] == read


def test_an_activity_notice_sends_the_next_poll_to_the_activity_once(engine: EmbeddedEngine
                                                                      ) -> None:
    """A workflow-task poll right after an activity was scheduled answers ``null`` without
    reading the store (the worker goes to the activity first); the poll after that reads."""
    def poll() -> bytes:
        status, _, body = engine.request("POST", "/api/v1/workflow-tasks/poll",
                                         b'{"queue": "q", "worker_id": "w"}', JSON)
        assert status == 200
        return body

    engine.core.start_workflow(workflow_type="T", workflow_id="later", task_queue="q")
    assert json.loads(poll())["workflow_id"] == "running"
    engine._hub.claimed_workflow_task("q", False)  # "later" is ready, its notice forgotten
    status, _, _ = engine.request(
        "POST", "/api/v1/workflow-tasks/running/commands",
        json.dumps({"worker_id": "w", "commands": [
            {"type": "ScheduleActivity", "seq": 1, "name": "a", "task_queue": "q"}]}).encode(),
        JSON)
    assert status == 200
    assert poll() == b"null"
    assert json.loads(poll())["workflow_id"] == "later"
