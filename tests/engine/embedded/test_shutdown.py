"""Closing an embedded engine: held polls end at once, no thread is left, the SQLite file can
be opened again, and later calls raise EngineClosedError."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests

import bridge
from bridge import Client, EngineClosedError, EngineUnavailableError
from bridge.engine.instance_lock import InstanceLockError
from tests.helpers import wait_until

POLL = b'{"queue": "nobody-works-here", "worker_id": "w-1"}'
JSON = {"Content-Type": "application/json"}
#: Longer than the test waits for a held poll to end, so only close() can end it in time.
HELD_S = 25.0


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


@pytest.mark.parametrize("serving", [False, True], ids=["in-process", "also-serving"])
def test_close_ends_held_polls_and_leaves_no_thread(tmp_path: Path, serving: bool) -> None:
    before = _threads()
    db = f"sqlite:///{tmp_path / 'engine.db'}"
    engine = bridge.Engine(db, poll_wait_s=HELD_S)
    url = engine.serve() if serving else None
    # a list is a core call on a thread of the app: that thread must end with the engine too
    assert engine.request("GET", "/api/v1/workflows")[0] == 200
    answers: dict[str, Any] = {}

    def in_process() -> None:
        answers["in-process"] = engine.request("POST", "/api/v1/workflow-tasks/poll", POLL, JSON)

    def over_http() -> None:
        resp = requests.post(f"{url}/api/v1/workflow-tasks/poll", data=POLL, headers=JSON,
                             timeout=60)
        answers["http"] = (resp.status_code, resp.content)

    callers = [threading.Thread(target=in_process)]
    if serving:
        callers.append(threading.Thread(target=over_http))
    for caller in callers:
        caller.start()
    wait_until(lambda: engine._hub.waiting_count() == len(callers), 30, what="held polls")
    engine.close()
    for caller in callers:
        caller.join(HELD_S / 2)
        assert not caller.is_alive(), "a held poll outlived close()"
    # answered as an idle poll (the hub closed), not cut off by the engine stopping
    assert answers["in-process"][0] == 200
    assert answers.get("http", (200,))[0] == 200
    assert _threads() - before == set()
    with bridge.Engine(db) as again:  # the instance lock was released
        assert again.request("GET", "/api/v1/health")[0] == 200
    assert _threads() - before == set()


def test_a_second_engine_on_the_same_file_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'engine.db'}"
    with bridge.Engine(db):
        before = _threads()
        with pytest.raises(InstanceLockError):
            bridge.Engine(db)
        assert _threads() - before == set()


def test_calls_after_close_raise_engine_closed_error(tmp_path: Path) -> None:
    engine = bridge.Engine(f"sqlite:///{tmp_path / 'engine.db'}")
    client = Client(engine=engine)
    assert client.health()["status"] == "ok"
    engine.close()
    engine.close()  # idempotent
    assert engine.closed
    with pytest.raises(EngineClosedError):
        engine.request("GET", "/api/v1/health")
    with pytest.raises(EngineClosedError):
        engine.serve()
    with pytest.raises(EngineClosedError):
        engine.wake_due_runner()
    with pytest.raises(EngineUnavailableError):  # the client's usual error, more precisely
        client.health()
    with pytest.raises(EngineClosedError):
        client.health()


def test_an_in_process_worker_outlives_its_engine_and_stops_cleanly(tmp_path: Path) -> None:
    before = _threads()
    engine = bridge.Engine(f"sqlite:///{tmp_path / 'engine.db'}", poll_wait_s=HELD_S)
    worker = bridge.Worker(engine=engine, log_stderr=False)
    worker.start()
    assert worker.wait_registered(timeout=30)
    wait_until(lambda: engine._hub.waiting_count() == 1, 30, what="the worker's held poll")
    engine.close()  # the worker now meets a closed engine: retried like one that went away
    worker.stop()
    worker.join(HELD_S / 2)
    assert worker.errors == []
    assert _threads() - before == set()


def test_a_stopped_worker_retries_delivering_a_result_with_backoff_not_in_a_spin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Stopped while an activity runs, its engine closed under it: the result cannot be
    delivered, and the worker keeps to its backoff for the grace period before giving up
    (the stop event no longer makes the wait between attempts return at once)."""
    from bridge.worker import engine_calls

    monkeypatch.setattr(engine_calls, "STOP_GRACE_S", 1.0)
    entered, release = threading.Event(), threading.Event()

    def hold(ctx: Any, input: Any) -> int:
        entered.set()
        release.wait(60)
        return 1

    engine = bridge.Engine(f"sqlite:///{tmp_path / 'engine.db'}", poll_wait_s=1.0)
    worker = bridge.Worker(engine=engine)
    worker.workflow("Hold")(lambda ctx, input: ctx.execute_activity("hold", input))
    worker.activity("hold")(hold)
    worker.start()
    assert worker.wait_registered(timeout=30)
    Client(engine=engine).start("Hold", "hold-1", 1)
    assert entered.wait(30)
    worker.stop()
    engine.close()
    release.set()
    worker.join(30)
    assert not worker.is_alive()
    err = capfd.readouterr().err
    assert "giving up delivering /tasks/" in err
    assert 1 <= err.count("engine unreachable") <= 10, err[-2000:]


def test_end_held_calls_answers_held_polls_and_keeps_the_engine_open(tmp_path: Path) -> None:
    with bridge.Engine(f"sqlite:///{tmp_path / 'engine.db'}", poll_wait_s=HELD_S) as engine:
        answers: dict[str, Any] = {}

        def poll() -> None:
            answers["poll"] = engine.request("POST", "/api/v1/workflow-tasks/poll", POLL, JSON)

        caller = threading.Thread(target=poll)
        caller.start()
        wait_until(lambda: engine._hub.waiting_count() == 1, 30, what="the held poll")
        engine.end_held_calls()
        caller.join(HELD_S / 2)
        assert not caller.is_alive(), "the held poll outlived end_held_calls()"
        assert answers["poll"][0] == 200
        assert not engine.closed
        assert engine.request("GET", "/api/v1/workflows")[0] == 200
        # from now on a poll with nothing to claim answers at once
        assert engine.request("POST", "/api/v1/workflow-tasks/poll", POLL, JSON)[2] == b"null"
