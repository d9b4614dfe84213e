"""A busy worker answers its own heartbeats within a second of the last one the engine took:
at most one a second reaches the engine, and the worker stays listed as live."""

from __future__ import annotations

import time
from typing import Any

from bridge import Client, Worker
from bridge.testing import EngineServer
from bridge.worker.engine_calls import HEARTBEAT_LOCAL_S
from tests.helpers import scrape, value


def test_heartbeats_reach_the_engine_at_most_once_a_second() -> None:
    with EngineServer() as server:
        w = Worker(server.url, queue="beats", log_stderr=False)

        @w.activity("add_one")
        def add_one(ctx: Any, n: int) -> int:
            return n + 1

        @w.workflow("OneStep")
        def one_step(ctx: Any, n: int) -> Any:
            return ctx.execute_activity("add_one", n, task_queue="beats")

        w.start()
        try:
            assert w.wait_registered(timeout=30)
            started = time.monotonic()
            with Client(server.url) as client:
                for i in range(15):
                    wid = client.start("OneStep", input=i, task_queue="beats")["workflow_id"]
                    assert client.result(wid, timeout=60) == i + 1
                elapsed = time.monotonic() - started
                beats = value(scrape(server.url), "assay_bridge_http_request_duration_seconds_count",
                              route="/api/v1/workers/heartbeat")
                live = [x for x in client.workers() if x["task_queue"] == "beats"]
        finally:
            w.stop()
            w.join(timeout=30)
    assert w.errors == []
    # workflow.lua beats at the top of every poll-loop turn: 3 per workflow here (45 in all)
    # when every beat reaches the engine
    assert 1 <= beats <= elapsed / HEARTBEAT_LOCAL_S + 2, (beats, elapsed)
    assert len(live) == 1
