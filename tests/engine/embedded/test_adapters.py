"""One app, two adapters: a request through ``engine.request`` and the same request over the
engine's HTTP URL get the same answer; serving over HTTP leaves in-process callers working."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import bridge
from bridge import Client, Worker, WorkflowContext
from bridge.engine.embedded import EmbeddedEngine
from bridge.wire import IN_PROCESS_URL

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EmbeddedEngine]:
    with bridge.Engine(f"sqlite:///{tmp_path / 'engine.db'}", poll_wait_s=0.5) as opened:
        yield opened


JSON = {"Content-Type": "application/json"}

SAME_REQUESTS: list[tuple[str, str, bytes | None]] = [
    ("GET", "/api/v1/health", None),
    ("GET", "/api/v1/workflows/no-such-workflow", None),
    ("POST", "/api/v1/workflows", b'{"workflow_id": "x"}'),
    ("POST", "/api/v1/workflows", b"{not json"),
    ("POST", "/api/v1/workflows/no-such-workflow/signal/go", b'{"payload": 1}'),
    ("GET", "/api/v1/schedules/nope?namespace=main", None),
    ("GET", "/api/v1/workflows?limit=abc", None),
    ("GET", "/api/v1/no-such-route", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SAME_REQUESTS,
                         ids=[f"{m} {p} {b!r}" for m, p, b in SAME_REQUESTS])
def test_in_process_and_http_give_the_same_answer(engine: EmbeddedEngine, method: str,
                                                  path: str, body: bytes | None) -> None:
    url = engine.serve()
    status, headers, content = engine.request(method, path, body, JSON)
    over_http = requests.request(method, url + path, data=body, headers=JSON, timeout=30)
    assert (status, content) == (over_http.status_code, over_http.content)
    assert headers["content-type"] == over_http.headers["content-type"]


def test_answers_are_the_api_errors(engine: EmbeddedEngine) -> None:
    missing = engine.request("GET", "/api/v1/workflows/no-such-workflow")
    assert missing[0] == 404
    assert json.loads(missing[2]) == {"error": "not found: workflow no-such-workflow"}
    bad = engine.request("POST", "/api/v1/workflows", b"{not json", JSON)
    assert bad[0] == 400 and "error" in json.loads(bad[2])


def test_the_client_raises_the_same_errors_in_process(engine: EmbeddedEngine) -> None:
    with Client(engine=engine) as client:
        with pytest.raises(bridge.WorkflowNotFoundError):
            client.get_workflow("no-such-workflow")
        client.start("Anything", workflow_id="taken")
        with pytest.raises(bridge.WorkflowAlreadyExistsError):
            client.start("Anything", workflow_id="taken")


def test_serving_keeps_in_process_callers_working_and_the_cli_sees_them(
        engine: EmbeddedEngine) -> None:
    worker = Worker(engine=engine, log_stderr=False)

    @worker.workflow("Double")
    def double(ctx: WorkflowContext, input: Any) -> Any:
        return input * 2

    worker.start()
    try:
        with Client(engine=engine) as client:
            first = client.start("Double", workflow_id="before-serve", input=1)
            assert client.result(first["workflow_id"], timeout=30) == 2
            url = engine.serve()
            assert engine.url == url and engine.serve() == url
            assert client.url == IN_PROCESS_URL  # this client stays in-process
            second = client.start("Double", workflow_id="after-serve", input=2)
            assert client.result(second["workflow_id"], timeout=30) == 4
        with Client(url) as remote:
            third = remote.start("Double", workflow_id="over-http", input=3)
            assert remote.result(third["workflow_id"], timeout=30) == 6
        listed = subprocess.run(
            [sys.executable, "-m", "bridge", "workflow", "list", "--url", url, "--json"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert listed.returncode == 0, listed.stderr
        ids = {record["id"] for record in json.loads(listed.stdout)}
        assert {"before-serve", "after-serve", "over-http"} <= ids
    finally:
        worker.stop()
        worker.join(30)
    assert worker.errors == []
