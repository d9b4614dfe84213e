"""A worker rides out an engine crash: a finished activity's result is delivered once it is back."""

from __future__ import annotations

import threading
from typing import Any

from bridge import Client, Worker
from bridge.testing import EngineServer
from tests.helpers import free_port



def test_activity_result_survives_an_engine_crash() -> None:
    port = free_port()
    # the later "--port" wins over EngineServer's "--port 0": the restart must reuse the port
    with EngineServer(poll_wait_s=0.5, extra_args=["--port", str(port)]) as engine_server:
        started, release = threading.Event(), threading.Event()
        runs: list[int] = []
        w = Worker(engine_server.url, queue="crash", log_stderr=False)

        @w.activity("slow")
        def slow(ctx: Any, input: Any) -> Any:
            runs.append(1)
            started.set()
            assert release.wait(30)
            return {"done": input}

        @w.workflow("Crashy")
        def crashy(ctx: Any, input: Any) -> Any:
            return ctx.execute_activity("slow", input, task_queue="crash")

        w.start()
        try:
            assert w.wait_registered(timeout=30)
            with Client(engine_server.url) as client:
                client.start("Crashy", "crash-1", 7, task_queue="crash")
            assert started.wait(30)
            engine_server.kill()          # SIGKILL while the activity is in hand
            release.set()          # the activity finishes while the engine is down
            engine_server.start()         # same database, same port
            assert engine_server.url.endswith(f":{port}")
            with Client(engine_server.url) as client:
                assert client.result("crash-1", timeout=30) == {"done": 7}
            assert runs == [1]
        finally:
            w.stop()
            w.join(timeout=30)
        assert w.errors == []
