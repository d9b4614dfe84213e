"""An unchanged assay worker script under ``assay-bridge run``, against a real engine_server."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

from bridge import Client
from bridge.testing import EngineServer

WORKER = """
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"))

workflow.define("Greet", function(ctx, input)
    local r = ctx:execute_activity("greet", { name = input.name }, { task_queue = env.get("QUEUE") })
    return r
end)

workflow.activity("greet", function(ctx, input)
    if input.name == "slow" then
        -- announce the task is in hand, then wait for the test's go-ahead
        local f = io.open(env.get("STARTED_FILE"), "w"); f:write("started"); f:close()
        while not io.open(env.get("GO_FILE"), "r") do sleep(0.01) end
    end
    return { greeting = "hello " .. input.name }
end)

workflow.listen({ queue = env.get("QUEUE") })
"""


def start_worker(engine_server: EngineServer, tmp_path: Path, queue: str) -> subprocess.Popen[str]:
    script = tmp_path / "worker.lua"
    script.write_text(WORKER)
    env = {
        "PATH": "/usr/bin:/bin", "ENGINE_URL": engine_server.url, "QUEUE": queue,
        "STARTED_FILE": str(tmp_path / "started"), "GO_FILE": str(tmp_path / "go"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "worker.lua"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_line(proc: subprocess.Popen[str], needle: str) -> str:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} never printed; stderr was:\n{''.join(seen)}")


def test_lua_worker_script_runs_workflows(engine_server: EngineServer, client: Client,
                                          tmp_path: Path) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    proc = start_worker(engine_server, tmp_path, queue)
    try:
        wait_for_line(proc, "Registered as worker")
        client.start("Greet", f"greet-{queue}", {"name": "ann"}, task_queue=queue)
        assert client.result(f"greet-{queue}", timeout=30) == {"greeting": "hello ann"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_sigterm_finishes_and_reports_the_task_in_hand(engine_server: EngineServer, client: Client,
                                                       tmp_path: Path) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    proc = start_worker(engine_server, tmp_path, queue)
    try:
        wait_for_line(proc, "Registered as worker")
        wf = f"slow-{queue}"
        client.start("Greet", wf, {"name": "slow"}, task_queue=queue)
        started = tmp_path / "started"
        record = client.wait(wf, timeout=0.2)
        while not started.exists() and record["status"] not in {"FAILED", "COMPLETED"}:
            record = client.wait(wf, timeout=0.05)
        proc.send_signal(signal.SIGTERM)
        wait_for_line(proc, "stopping after the task in hand")
        (tmp_path / "go").write_text("go")
        assert proc.wait(timeout=20) == 0
        kinds = [e["event_type"] for e in client.events(wf)]
        assert "ActivityCompleted" in kinds
    finally:
        proc.kill()
        proc.communicate()
