"""Wake-ups across engine instances on one PostgreSQL database (LISTEN/NOTIFY).

Two engine processes on one throwaway database: what happens through one must wake held polls
and ``/wait`` calls on the other. (The whole HTTP tier runs on PostgreSQL too: the package's
``engine`` fixture is parametrised over both stores.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.testing import EngineServer
from tests.engine import pgdb
from tests.engine.http.api import Api
from tests.helpers import new_id

POLL_WAIT_S = 10.0
#: Lets the poll request reach the server and be held before the work is created elsewhere
#: (a task that exists first is claimed at once; this makes the test take the held path).
HOLD_S = 0.3


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    name = pgdb.create_database()
    try:
        yield pgdb.url_for(name)
    finally:
        pgdb.drop_database(name)


@pytest.fixture(scope="module")
def pair(pg_url: str) -> Iterator[tuple[EngineServer, EngineServer]]:
    """Two engine processes on the same database, polls held up to POLL_WAIT_S."""
    with EngineServer(backend_url=pg_url, poll_wait_s=POLL_WAIT_S) as a, \
            EngineServer(backend_url=pg_url, poll_wait_s=POLL_WAIT_S) as b:
        yield a, b


@pytest.fixture
def live(pair: tuple[EngineServer, EngineServer]) -> Iterator[Api]:
    with Api(pair[0]) as client:
        yield client


def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    answer: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        answer["value"] = fn()
        answer["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, answer


def test_a_workflow_started_through_one_instance_wakes_a_poll_held_by_the_other(
        pair: tuple[EngineServer, EngineServer]) -> None:
    a, b = pair
    queue, wf = new_id("q"), new_id()
    with Api(a) as api_a, Api(b) as api_b:
        thread, answer = _in_thread(lambda: api_b.post(
            "/workflow-tasks/poll", {"queue": queue, "worker_id": "w"},
            timeout=POLL_WAIT_S + 10).json())
        time.sleep(HOLD_S)
        api_a.start(wf, task_queue=queue)
        thread.join(POLL_WAIT_S + 10)
    assert answer["value"] is not None and answer["value"]["workflow_id"] == wf
    assert answer["elapsed"] < POLL_WAIT_S / 2


def test_an_activity_scheduled_through_one_instance_releases_a_poll_held_by_the_other(
        pair: tuple[EngineServer, EngineServer]) -> None:
    a, b = pair
    queue, wf = new_id("q"), new_id()
    with Api(a) as api_a, Api(b) as api_b:
        api_a.start(wf, task_queue=new_id("other"))
        thread, answer = _in_thread(lambda: api_b.post(
            "/workflow-tasks/poll", {"queue": queue, "worker_id": "w"},
            timeout=POLL_WAIT_S + 10).json())
        time.sleep(HOLD_S)
        resp = api_a.post(f"/workflows/{wf}/activities",
                          {"name": "x", "seq": 1, "task_queue": queue})
        assert resp.status_code == 201
        thread.join(POLL_WAIT_S + 10)
        assert answer["value"] is None and answer["elapsed"] < POLL_WAIT_S / 2
        task = api_b.post("/tasks/poll", {"queue": queue, "worker_id": "w"}).json()
        assert task["workflow_id"] == wf


def test_wait_on_one_instance_returns_when_the_workflow_finishes_through_the_other(
        pair: tuple[EngineServer, EngineServer]) -> None:
    a, b = pair
    queue, wf = new_id("q"), new_id()
    with Api(a) as api_a, Api(b) as api_b:
        api_a.start(wf, task_queue=queue)
        api_a.claim(queue)
        thread, answer = _in_thread(lambda: api_b.get(
            f"/workflows/{wf}/wait", params={"timeout": 20}, timeout=30).json())
        time.sleep(HOLD_S)
        assert api_a.commands(wf, [{"type": "CompleteWorkflow", "result": 7}]).status_code == 200
        thread.join(30)
    assert answer["value"]["status"] == "COMPLETED"
    assert answer["elapsed"] < 10


def test_a_claim_through_one_instance_is_not_handed_out_by_the_other(
        engine_server: EngineServer, pg_url: str) -> None:
    queue = new_id("q")
    with EngineServer(backend_url=pg_url, poll_wait_s=0) as other, \
            Api(engine_server) as api_a, Api(other) as api_b:
        ids = [new_id() for _ in range(20)]
        for wid in ids:
            api_a.start(wid, task_queue=queue)
        got: list[str] = []
        lock = threading.Lock()

        def drain(api: Api) -> None:
            while True:
                task = api.post("/workflow-tasks/poll", {"queue": queue, "worker_id": "w"}).json()
                if task is None:
                    return
                with lock:
                    got.append(task["workflow_id"])

        threads = [threading.Thread(target=drain, args=(x,)) for x in (api_a, api_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(got) == sorted(ids)
