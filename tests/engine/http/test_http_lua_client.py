"""End to end: the unchanged workflow.lua, run by ``python -m bridge run``, against the engine_server.

The script starts a workflow and becomes a worker; the test follows the workflow over SSE,
signals it when it waits, and reads the result. Along the way it covers an activity that
returns nil (posted by the Lua client as ``[]``), a durable timer fired by the due-work runner,
a signal with a payload, and a clean worker stop on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.testing import EngineServer
from tests.engine.http.api import Api, read_sse
from tests.helpers import new_id

SCRIPT = r"""
local workflow = require("assay.workflow")
local url, workflow_id = arg[1], arg[2]

workflow.connect(url)

workflow.define("Greeting", function(ctx, input)
    local greeting = ctx:execute_activity("greet", { name = input.name })
    ctx:execute_activity("nothing", {})
    ctx:sleep(0.2)
    local approval = ctx:wait_for_signal("approve")
    return { text = greeting.text, approved_by = approval.by }
end)

workflow.activity("greet", function(ctx, input)
    ctx:heartbeat("greeting " .. input.name)
    return { text = "hello " .. input.name }
end)

workflow.activity("nothing", function(ctx, input)
    return nil
end)

workflow.start({ workflow_type = "Greeting", workflow_id = workflow_id, input = { name = "lua" } })
workflow.listen({ queue = "default" })
"""


@pytest.fixture(scope="module")
def lua_engine() -> Iterator[EngineServer]:
    with EngineServer(poll_wait_s=2) as server:
        yield server


def test_unchanged_lua_client_runs_a_workflow_to_completion(
    lua_engine: EngineServer, tmp_path: Path
) -> None:
    script = tmp_path / "greeting.lua"
    script.write_text(SCRIPT, encoding="utf-8")
    wf = new_id("greeting")
    log = (tmp_path / "worker.log").open("wb")
    with Api(lua_engine) as api, Api(lua_engine) as watcher:
        stream = watcher.get("/events/stream", params={"workflow_id": wf}, stream=True,
                             timeout=20)
        messages = read_sse(stream)
        assert next(messages) == ("comment", "connected")
        worker = subprocess.Popen(
            [sys.executable, "-m", "bridge", "run", str(script), lua_engine.url, wf],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            seen = []
            for event, _data in messages:
                seen.append(event)
                if event == "WorkflowAwaitingSignal":
                    break
            stream.close()
            resp = api.post(f"/workflows/{wf}/signal/approve", {"payload": {"by": "pytest"}})
            assert resp.status_code == 200
            record = api.get(f"/workflows/{wf}/wait", params={"timeout": 20}, timeout=30).json()
            assert record["status"] == "COMPLETED", record
            assert json.loads(record["result"]) == {"text": "hello lua", "approved_by": "pytest"}
            assert "TimerFired" in seen and "ActivityCompleted" in seen
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                code = worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                code = worker.wait()
            log.close()
            stream.close()
    assert code == 0, (tmp_path / "worker.log").read_text(errors="replace")
