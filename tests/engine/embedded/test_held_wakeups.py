"""Wake-ups a report holds back (``EmbeddedEngine.request(..., hold_wakeups=True)``): the
threads it wakes are woken when the reporting thread's next call returns or waits, when the
engine closes, on ``release_wakeups``, and when a worker's loop ends after its last report."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import bridge
from bridge import Client, Worker
from bridge.engine.embedded import EmbeddedEngine
from tests.helpers import wait_until

JSON = {"Content-Type": "application/json"}
WAIT_S = 20  # a /wait's own timeout; every answer below must come long before it


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EmbeddedEngine]:
    with bridge.Engine(f"sqlite:///{tmp_path / 'e.db'}", poll_wait_s=20) as opened:
        yield opened


def _post(engine: EmbeddedEngine, path: str, body: object, *, hold: bool = False) -> bytes:
    status, _, data = engine.request("POST", "/api/v1" + path, json.dumps(body).encode(), JSON,
                                     hold_wakeups=hold)
    assert status in (200, 201), data
    return data


def _worker_id(engine: EmbeddedEngine) -> str:
    data = _post(engine, "/workers/register", {"identity": "t", "queue": "q",
                                               "workflows": ["T"], "activities": []})
    return str(json.loads(data)["worker_id"])


def _waiting(engine: EmbeddedEngine, workflow_id: str) -> Callable[[], bool]:
    """A ``/wait`` on ``workflow_id`` held in another thread; the result says whether it has
    answered (with the completed record) yet."""
    answers: list[dict[str, Any]] = []

    def wait() -> None:
        status, _, body = engine.request(
            "GET", f"/api/v1/workflows/{workflow_id}/wait?timeout={WAIT_S}")
        assert status == 200
        answers.append(json.loads(body))

    threading.Thread(target=wait, daemon=True).start()
    wait_until(lambda: engine._hub.waiting(("workflow_terminal", workflow_id)) == 1, 10,
               what="the wait to be held")

    def answered() -> bool:
        if answers:
            assert answers[0]["status"] == "COMPLETED"
        return bool(answers)

    return answered


def _completing_report(engine: EmbeddedEngine, worker_id: str, workflow_id: str,
                       hold: bool = True) -> None:
    """Claim ``workflow_id``'s task and report it complete, holding the wake-ups or not."""
    task = json.loads(_post(engine, "/workflow-tasks/poll", {"queue": "q",
                                                             "worker_id": worker_id}))
    assert task["workflow_id"] == workflow_id
    _post(engine, f"/workflow-tasks/{workflow_id}/commands", {
        "worker_id": worker_id, "commands": [{"type": "CompleteWorkflow", "result": 1}]},
        hold=hold)


def _still_held(engine: EmbeddedEngine, answered: Callable[[], bool]) -> None:
    # the waiter's gate was not opened: it cannot have answered, and it has not
    assert engine._hub.holds_wakeups
    assert not answered()


class Waited(NamedTuple):
    engine: EmbeddedEngine
    worker_id: str
    answered: Callable[[], bool]


@pytest.fixture
def waited(engine: EmbeddedEngine) -> Waited:
    """A registered worker, workflow ``w`` started, and a ``/wait`` on it held."""
    worker_id = _worker_id(engine)
    _post(engine, "/workflows", {"workflow_type": "T", "workflow_id": "w", "task_queue": "q"})
    return Waited(engine, worker_id, _waiting(engine, "w"))


def _held_report(waited: Waited) -> None:
    """``w`` reported complete by this thread, its wake-up held."""
    _completing_report(waited.engine, waited.worker_id, "w")
    _still_held(waited.engine, waited.answered)


def test_held_wakeups_go_when_the_next_call_returns(waited: Waited) -> None:
    _held_report(waited)
    _post(waited.engine, "/workers/heartbeat", {"worker_id": waited.worker_id})
    assert not waited.engine._hub.holds_wakeups
    wait_until(waited.answered, 10, what="the wait to answer")


def test_a_second_holding_call_releases_what_the_first_held(waited: Waited) -> None:
    _held_report(waited)
    _post(waited.engine, "/workers/heartbeat", {"worker_id": waited.worker_id}, hold=True)
    wait_until(waited.answered, 10, what="the wait to answer")


def test_held_wakeups_go_when_the_next_call_waits(waited: Waited) -> None:
    engine, worker_id, answered = waited
    reported = threading.Event()

    def worker_loop() -> None:
        _completing_report(engine, worker_id, "w")
        reported.set()
        _post(engine, "/workflow-tasks/poll", {"queue": "q", "worker_id": worker_id})

    thread = threading.Thread(target=worker_loop, daemon=True)
    thread.start()
    assert reported.wait(10)
    wait_until(answered, 10, what="the wait to answer while the next poll is held")
    assert engine._hub.waiting(("workflow_task", "q")) == 1  # that poll still waits
    engine.end_held_calls()
    thread.join(30)


def test_release_wakeups_wakes_them_at_once(waited: Waited) -> None:
    _held_report(waited)
    waited.engine.release_wakeups()
    wait_until(waited.answered, 10, what="the wait to answer")


def test_closing_the_engine_wakes_what_was_held(waited: Waited) -> None:
    _held_report(waited)
    began = time.monotonic()
    waited.engine.close()  # which waits for the calls in callers' threads to end
    assert time.monotonic() - began < WAIT_S / 2
    assert waited.answered()


def test_only_the_holding_threads_wakeups_are_held(waited: Waited) -> None:
    engine, worker_id, answered = waited
    other = threading.Thread(target=_completing_report, args=(engine, worker_id, "w", False))
    engine._hub.hold_wakeups()  # this thread holds its wake-ups; the report comes from another
    try:
        other.start()
        other.join(30)
        wait_until(answered, 10, what="the wait to answer")
        assert not engine._hub.holds_wakeups
    finally:
        engine._hub.stop_holding()


def test_a_worker_stopped_right_after_its_last_report_wakes_the_client(tmp_path: Path) -> None:
    with bridge.Engine(f"sqlite:///{tmp_path / 'w.db'}", poll_wait_s=20) as engine, \
            Client(engine=engine) as client:
        worker = Worker(engine=engine, queue="q")

        go = threading.Event()

        @worker.workflow("StopsItsWorker")
        def stops_its_worker(ctx: Any, input: Any) -> str:
            assert go.wait(30)  # until the client waits
            worker.stop()  # the loop ends at its next heartbeat, right after this report
            return "done"

        worker.start()
        try:
            assert worker.wait_registered(30)
            workflow_id = client.start("StopsItsWorker", task_queue="q")["workflow_id"]
            answered = _waiting(engine, workflow_id)
            go.set()
            wait_until(answered, 10, what="the wait to answer")
            worker.join(30)
            assert not worker.is_alive() and worker.errors == []
        finally:
            worker.stop()
            worker.join()
