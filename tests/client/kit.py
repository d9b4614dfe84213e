"""A real engine process and an in-process worker with small Python workflows, for the client
and CLI tests. Each module gets its own engine; each worker its own queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bridge import ApplicationError, Worker
from bridge.testing import EngineServer


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineServer]:
    with EngineServer(poll_wait_s=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def worker(engine: EngineServer, queue: str) -> Iterator[Worker]:
    w = Worker(engine.url, queue=queue, log_stderr=False)

    @w.workflow("Echo")
    def echo(ctx: Any, input: Any) -> Any:
        return input

    @w.workflow("Fails")
    def fails(ctx: Any, input: Any) -> Any:
        raise ApplicationError("no luck today", non_retryable=True)

    @w.workflow("Parent")
    def parent(ctx: Any, input: Any) -> Any:
        child = ctx.start_child_workflow("Echo", workflow_id=f"{ctx.workflow_id}-child",
                                         input={"from": "parent"}, task_queue=queue)
        return {"child": child}

    @w.workflow("Gate")
    def gate(ctx: Any, input: Any) -> Any:
        return {"got": ctx.wait_for_signal("go")}

    w.start()
    assert w.wait_registered(timeout=30)
    yield w
    w.stop()
    w.join(timeout=30)
    assert w.errors == []


def new_id(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
