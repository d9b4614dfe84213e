"""A long Python workflow replays its growing history at every step: the coroutines that
called Python are kept until a cycle collection, and each references its task's history, so
their release must follow memory growth, not only their number."""

from __future__ import annotations

from typing import Any

from bridge import Client, Worker
from bridge.testing import EngineServer
from tests.helpers import wait_until

STEPS = 250
ITEMS = 40  # small tables: every copy of the history makes its own


def test_a_long_python_workflow_fits_in_a_small_memory_limit() -> None:
    with EngineServer() as server:
        w = Worker(server.url, queue="long", log_stderr=False, memory_limit=24 * 1024 * 1024)

        @w.activity("pad")
        def pad(ctx: Any, n: int) -> Any:
            return {"n": n, "items": [{"k": j} for j in range(ITEMS)]}

        @w.workflow("Long")
        def long(ctx: Any, steps: int) -> Any:
            last = None
            for i in range(steps):
                last = ctx.execute_activity("pad", i, task_queue="long")
            return last["n"] if last else None

        w.start()
        try:
            assert w.wait_registered(timeout=30)
            with Client(server.url) as client:
                client.start("Long", "long-1", STEPS, task_queue="long")
                # ends when the workflow does, or at once when the worker fails (out of memory)
                wait_until(lambda: w.errors or client.get_workflow("long-1")["status"]
                           != "RUNNING", timeout_s=240, what="the workflow's end")
                assert w.errors == []
                assert client.result("long-1", timeout=30) == STEPS - 1
        finally:
            w.stop()
            w.join(timeout=30)
        assert w.errors == []
