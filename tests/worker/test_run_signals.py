"""``Worker.run()`` in a real process stops gracefully on SIGTERM and on SIGINT (also when SIGINT
was inherited as ignored, as for a ``&`` job of a script): the activity in hand finishes and is
reported, then the process exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import Client
from bridge.testing import EngineServer
from tests.helpers import new_id, wait_until

WORKER = r"""
import sys, time
from pathlib import Path
from bridge import Worker

url, queue, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
w = Worker(url, queue=queue, log_stderr=False)

@w.activity("hold")
def hold(ctx, input):
    (folder / "started").write_text("x")
    while not (folder / "release").exists():   # the test decides when it ends
        time.sleep(0.01)
    return {"held": True}

@w.workflow("Hold")
def hold_wf(ctx, input):
    return ctx.execute_activity("hold", {}, task_queue=queue)

w.run()
print("run returned", flush=True)
"""


@pytest.mark.parametrize("signum, ignore_sigint", [
    (signal.SIGTERM, False), (signal.SIGINT, True)])
def test_a_signal_lets_the_activity_in_hand_finish(engine_server: EngineServer, tmp_path: Path,
                                                   signum: int, ignore_sigint: bool) -> None:
    queue = new_id("q")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)

    def preexec() -> None:
        if ignore_sigint:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, str(script), engine_server.url, queue, str(tmp_path)],
        env={**os.environ, "PYTHONFAULTHANDLER": "1"}, preexec_fn=preexec,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with Client(engine_server.url) as client:
            wid = client.start("Hold", input={}, task_queue=queue)["workflow_id"]
            wait_until(lambda: (tmp_path / "started").exists() or proc.poll() is not None,
                       timeout_s=60, what="the activity to start")
            assert proc.poll() is None
            proc.send_signal(signum)
            (tmp_path / "release").write_text("x")
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert "run returned" in out
            act_done = wait_until(
                lambda: any(e["event_type"] == "ActivityCompleted"
                            for e in client.events(wid)), timeout_s=30,
                what="the activity's result to be recorded")
            assert act_done
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
