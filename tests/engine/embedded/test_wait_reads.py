"""``/wait`` on a workflow the engine knows to be running blocks without reading it first
(bridge.engine.live), in the caller's thread and over HTTP alike; on any other it reads first,
as before."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import bridge
from bridge.engine.embedded import EmbeddedEngine
from tests.helpers import poll_task, wait_until

VIAS = ["direct", "http"]


def reads(engine: EmbeddedEngine) -> float:
    """How many times the engine has read a workflow record (its transactions so far)."""
    status, _, body = engine.request("GET", "/metrics")
    assert status == 200
    return sum(s.value for family in text_string_to_metric_families(body.decode())
               for s in family.samples
               if s.name == "assay_bridge_store_transaction_duration_seconds_count"
               and s.labels.get("operation") == "get_workflow")


def wait(engine: EmbeddedEngine, via: str, workflow_id: str) -> tuple[int, Any]:
    """``/wait`` on ``workflow_id``, in the caller's thread or over HTTP: status and record."""
    path = f"/api/v1/workflows/{workflow_id}/wait?timeout=20"
    if via == "direct":
        status, _, body = engine.request("GET", path)
    else:
        assert engine.url is not None
        got = requests.get(engine.url + path, timeout=30)
        status, body = got.status_code, got.content
    return status, json.loads(body)


def waiting(engine: EmbeddedEngine, via: str, workflow_id: str) -> Callable[[], Any]:
    """A ``/wait`` on ``workflow_id`` in another thread; call the result for its answer."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(wait(engine, via, workflow_id)),
                              daemon=True)
    thread.start()
    wait_until(lambda: engine._hub.waiting(("workflow_terminal", workflow_id)) == 1, 10,
               what="the wait to be held")

    def answer() -> Any:
        thread.join(30)
        assert not thread.is_alive()
        return answers[0]

    return answer


def complete(engine: EmbeddedEngine, workflow_id: str) -> None:
    task = poll_task(engine.core, queue="default", worker_id="k")
    assert task is not None and task["workflow_id"] == workflow_id
    engine.core.submit_commands(workflow_id, worker_id="k", commands=[
        {"type": "CompleteWorkflow", "result": {"ok": True}}])


@pytest.mark.parametrize("via", VIAS)
def test_a_wait_on_a_workflow_this_engine_runs_blocks_without_reading_it(
        tmp_path: Path, via: str) -> None:
    with bridge.Engine(f"sqlite:///{tmp_path / 'e.db'}") as engine:
        if via == "http":
            engine.serve()
        engine.core.start_workflow(workflow_type="T", workflow_id="w")
        before = reads(engine)
        answer = waiting(engine, via, "w")
        assert reads(engine) == before
        complete(engine, "w")
        status, record = answer()
        assert status == 200 and record["status"] == "COMPLETED"
        assert json.loads(record["result"]) == {"ok": True}
        assert reads(engine) == before


@pytest.mark.parametrize("via", VIAS)
def test_a_wait_on_a_workflow_started_before_a_restart_reads_first(
        tmp_path: Path, via: str) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    with bridge.Engine(url) as first:
        first.core.start_workflow(workflow_type="T", workflow_id="w")
    with bridge.Engine(url) as engine:
        if via == "http":
            engine.serve()
        before = reads(engine)
        answer = waiting(engine, via, "w")
        assert reads(engine) == before + 1
        complete(engine, "w")
        status, record = answer()
        assert status == 200 and record["status"] == "COMPLETED"


@pytest.mark.parametrize("via", VIAS)
def test_a_wait_on_a_finished_workflow_answers_at_once(tmp_path: Path, via: str) -> None:
    with bridge.Engine(f"sqlite:///{tmp_path / 'e.db'}") as engine:
        if via == "http":
            engine.serve()
        engine.core.start_workflow(workflow_type="T", workflow_id="w")
        complete(engine, "w")
        status, record = wait(engine, via, "w")
        assert status == 200 and record["status"] == "COMPLETED"
