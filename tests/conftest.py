"""Fixtures for every test folder: a local HTTP server, a fresh Lua runtime, a real engine
process (``engine_server``; the engine core's own tests call theirs ``core``) and a worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge import ApplicationError, Worker, WorkflowContext
from bridge.runtime.runtime import Runtime
from bridge.testing import EngineServer
from tests.helpers import LocalServer, local_http_server, new_id


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A threaded HTTP server on 127.0.0.1, a free port; records every request."""
    with local_http_server() as server:
        yield server


@pytest.fixture
def rt() -> Iterator[Runtime]:
    """A fresh runtime (log lines not written to stderr)."""
    runtime = Runtime(log_stderr=False)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def engine_server() -> Iterator[EngineServer]:
    """A real ``assay-bridge serve`` process for a test module (SQLite, polls held up to 1 s)."""
    with EngineServer(poll_wait_s=1.0) as server:
        yield server


@pytest.fixture
def fresh_engine_server() -> Iterator[EngineServer]:
    """A real ``assay-bridge serve`` process of the test's own (a fresh database)."""
    with EngineServer(poll_wait_s=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def queue() -> str:
    """A task queue no other test module uses."""
    return new_id("q")


@pytest.fixture(scope="module")
def worker(engine_server: EngineServer, queue: str) -> Iterator[Worker]:
    """An in-process worker on ``queue`` with small Python workflows: Echo, Fails, Parent, Gate."""
    w = Worker(engine_server.url, queue=queue, log_stderr=False)

    @w.workflow("Echo")
    def echo(ctx: WorkflowContext, input: Any) -> Any:
        return input

    @w.workflow("Fails")
    def fails(ctx: WorkflowContext, input: Any) -> Any:
        raise ApplicationError("no luck today", non_retryable=True)

    @w.workflow("Parent")
    def parent(ctx: WorkflowContext, input: Any) -> Any:
        child = ctx.start_child_workflow("Echo", workflow_id=f"{ctx.workflow_id}-child",
                                         input={"from": "parent"}, task_queue=queue)
        return {"child": child}

    @w.workflow("Gate")
    def gate(ctx: WorkflowContext, input: Any) -> Any:
        return {"got": ctx.wait_for_signal("go")}

    w.start()
    assert w.wait_registered(timeout=30)
    yield w
    w.stop()
    w.join(timeout=30)
    assert w.errors == []
