"""A worker started before its engine: it waits (for ever by default, or ``wait_engine``
seconds), logging timestamped retry lines, and gives up with one clear line and exit 4."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge import Client, EngineUnavailableError, Worker
from bridge.testing import EngineServer
from tests.helpers import free_port, wait_until

WORKER_LUA = """
local workflow = require("assay.workflow")
workflow.connect(env.get("ASSAY_ENGINE_URL"))
workflow.define("Never", function(ctx, input) return input end)
workflow.listen({queue = "never"})
"""
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"



def test_worker_gives_up_after_wait_engine() -> None:
    w = Worker(f"http://127.0.0.1:{free_port()}", wait_engine=0.3, log_stderr=False)
    with pytest.raises(EngineUnavailableError, match=r"no engine answered within 0\.30 s"):
        w.run()


@pytest.mark.parametrize("command", ["run", "worker run"])
def test_cli_worker_gives_up_with_one_line_and_exit_4(tmp_path: Path, command: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    if command == "run":
        script = tmp_path / "worker.lua"
        script.write_text(WORKER_LUA)
        argv = ["run", "--wait-engine", "0.5", str(script)]
    else:
        module = tmp_path / "pyworker.py"
        module.write_text(f"import bridge\nworker = bridge.Worker({url!r}, queue='never')\n")
        argv = ["worker", "run", f"{module}:worker", "--wait-engine", "0.5"]
    proc = subprocess.run([sys.executable, "-m", "bridge", *argv], capture_output=True,
                          text=True, timeout=60, env={"ASSAY_ENGINE_URL": url, "PATH": "/usr/bin",
                                                      "NO_COLOR": "1"})
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr and "stack traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, proc.stderr
    assert re.match(rf"{STAMP} ERROR worker: no engine answered within 0\.50 s .*giving up",
                    errors[0]), errors[0]
    retries = [line for line in proc.stderr.splitlines() if "retrying in" in line]
    assert retries, proc.stderr
    assert re.match(rf"{STAMP}  WARN worker: engine unreachable .* on GET /health "
                    rf"\(attempt 1, 0\.\d\d s so far\); retrying in 0\.05 s", retries[0]), retries[0]


def test_worker_waits_for_an_engine_that_comes_up_later(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    w = Worker(f"http://127.0.0.1:{port}", queue="later", log_stderr=False)

    @w.workflow("Later")
    def later(ctx: Any, input: Any) -> Any:
        return {"seen": input}

    caplog.set_level("WARNING", logger="assay")
    w.start()
    try:
        # the worker is retrying: its fifth attempt was logged (about 0.75 s in)
        wait_until(lambda: any("attempt 5," in r.getMessage() for r in caplog.records),
                   timeout_s=30, what="the worker's fifth connection attempt")
        with EngineServer(extra_args=["--port", str(port)]) as server:
            assert w.wait_registered(timeout=60)
            with Client(server.url) as client:
                client.start("Later", "later-1", 5, task_queue="later")
                assert client.result("later-1", timeout=30) == {"seen": 5}
    finally:
        w.stop()
        w.join(timeout=30)
    assert w.errors == []


def test_bad_wait_engine_values_are_refused(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bridge", "run", "--wait-engine", "soon",
                           str(tmp_path / "x.lua")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "expected seconds or 'forever'" in proc.stderr
