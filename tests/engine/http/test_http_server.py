"""The engine process itself: startup line and port file, graceful stop, crash and restart on the
same database, the single-instance lock, configuration errors."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from bridge.testing import EngineServer, EngineServerError
from tests.engine.http.api import Api
from tests.helpers import new_id


def test_startup_logs_the_bound_url_and_writes_the_port_file(
    engine_factory: Callable[..., EngineServer],
) -> None:
    server = engine_factory()
    assert server.port > 0
    assert re.search(rf"listening on http://127\.0\.0\.1:{server.port}\b", server.log_text())


def test_sigterm_stops_cleanly_and_a_restart_sees_the_same_data(
    engine_factory: Callable[..., EngineServer],
) -> None:
    server = engine_factory(poll_wait_s=0)
    wf = new_id()
    with Api(server) as api:
        api.start(wf, input={"kept": True})
    assert server.stop() == 0
    assert "store" in server.log_text() and "closed" in server.log_text()
    server.start()  # at once: the instance lock was released
    with Api(server) as api:
        assert api.get(f"/workflows/{wf}").json()["status"] == "PENDING"


def test_restart_after_sigkill_takes_over_the_lock_and_keeps_the_data(
    engine_factory: Callable[..., EngineServer],
) -> None:
    server = engine_factory(poll_wait_s=0)
    wf = new_id()
    with Api(server) as api:
        api.start(wf)
    server.kill()
    server.start()
    with Api(server) as api:
        assert api.get(f"/workflows/{wf}").status_code == 200


def test_second_engine_on_the_same_database_refuses_to_start(
    engine_factory: Callable[..., EngineServer],
) -> None:
    first = engine_factory()
    second = EngineServer(backend_url=first.backend_url, startup_timeout_s=15)
    try:
        with pytest.raises(EngineServerError, match="exited with code"):
            second.start()
    finally:
        second.close()
    with Api(first) as api:
        assert api.get("/health").status_code == 200


def test_sigterm_releases_a_held_poll_and_ends_sse_streams_at_once(
    engine_factory: Callable[..., EngineServer],
) -> None:
    server = engine_factory(poll_wait_s=20)
    answer: dict[str, Any] = {}
    api, watcher = Api(server), Api(server)
    stream = watcher.get("/events/stream", stream=True, timeout=10)
    lines = (x if isinstance(x, str) else x.decode() for x in stream.iter_lines())
    assert next(lines) == ": connected"

    def poll() -> None:
        resp = api.post("/workflow-tasks/poll", {"queue": new_id("q"), "worker_id": "w"},
                        timeout=30)
        answer["body"] = resp.content

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)  # let the poll be held (no event exposes that from outside)
    started = time.monotonic()
    code = server.stop()
    elapsed = time.monotonic() - started
    thread.join(30)
    try:
        rest = list(lines)  # the stream ends instead of waiting for keep-alives
    except requests.exceptions.ChunkedEncodingError:
        rest = []
    stream.close()
    api.close()
    watcher.close()
    assert code == 0
    assert answer["body"] == b"null"
    assert elapsed < 5
    assert not [line for line in rest if line.startswith("event:")]


def test_invalid_settings_exit_with_code_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "serve", "--port", "70000"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "port" in done.stderr
