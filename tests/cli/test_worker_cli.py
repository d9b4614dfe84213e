"""``assay-bridge worker list`` and ``worker run`` against a real engine process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import Client, Worker
from bridge.testing import EngineServer
from tests.cli.clikit import cli, cli_process
from tests.helpers import new_id

Cap = pytest.CaptureFixture[str]

MODULE = '''
import os
from bridge import Worker

worker = Worker(os.environ["ASSAY_ENGINE_URL"], queue=os.environ["TEST_QUEUE"])
not_a_worker = 42

@worker.workflow("Twice")
def twice(ctx, input):
    queue = os.environ.get("ACTIVITY_QUEUE") or os.environ["TEST_QUEUE"]
    return ctx.execute_activity("double", input, task_queue=queue)

@worker.activity("double")
def double(ctx, input):
    return input * 2
'''


def test_worker_list_shows_a_registered_worker(engine_server: EngineServer, worker: Worker,
                                               queue: str, capsys: Cap) -> None:
    r = cli(capsys, engine_server.url, "worker", "list")
    assert r.code == 0
    header, *rows = r.out.splitlines()
    assert header.split()[:5] == ["ID", "IDENTITY", "QUEUE", "WORKFLOWS", "ACTIVITIES"]
    mine = [row for row in rows if f" {queue} " in row]
    assert len(mine) == 1 and "Echo" in mine[0]
    listed = [w for w in cli(capsys, engine_server.url, "worker", "list", "--json").json()
              if w["task_queue"] == queue]
    assert "Gate" in listed[0]["workflows"] and listed[0]["activities"] == []
    assert cli(capsys, "http://127.0.0.1:9", "worker", "list").code == 4


def _run_worker(tmp_path: Path, engine_url: str, queue_name: str, *argv: str,
                activity_queue: str = "") -> subprocess.Popen[str]:
    (tmp_path / "myworkers.py").write_text(MODULE)
    env = {"ASSAY_ENGINE_URL": engine_url, "TEST_QUEUE": queue_name, "PATH": "/usr/bin:/bin",
           "ACTIVITY_QUEUE": activity_queue}
    return subprocess.Popen([sys.executable, "-m", "bridge", "worker", "run", *argv],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


@pytest.mark.parametrize("target", ["myworkers:worker", "myworkers", "myworkers.py:worker"])
def test_worker_run_serves_until_sigterm(engine_server: EngineServer, tmp_path: Path,
                                         target: str) -> None:
    q = new_id("run")
    proc = _run_worker(tmp_path, engine_server.url, q, target, "--concurrency", "2")
    seen = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # both loops register before the workflow is started
            seen.append(line)
            if sum("Registered as worker" in x for x in seen) == 2:
                break
        with Client(engine_server.url) as c:
            wid = c.start("Twice", input=21, task_queue=q)["workflow_id"]
            assert c.result(wid, timeout=60) == 42
            assert len([w for w in c.workers() if w["task_queue"] == q]) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=60)
    err = "".join(seen) + rest
    assert proc.returncode == 0, err
    assert "2 poll loop(s)" in err and "SIGTERM" in err


def test_worker_run_overrides_the_queue(engine_server: EngineServer, tmp_path: Path) -> None:
    q = new_id("other")
    proc = _run_worker(tmp_path, "http://127.0.0.1:9", "unused", "myworkers:worker",
                       "--queue", q, "--url", engine_server.url, activity_queue=q)
    try:
        with Client(engine_server.url) as c:
            wid = c.start("Twice", input=1, task_queue=q)["workflow_id"]
            assert c.result(wid, timeout=60) == 2  # served on q, from the --url engine_server
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_worker_run_rejects_bad_targets(tmp_path: Path) -> None:
    (tmp_path / "myworkers.py").write_text(MODULE)
    for target, text in (("myworkers:not_a_worker", "is not a bridge.Worker"),
                         ("nosuchmodule:worker", "no module named nosuchmodule"),
                         ("missing/file.py:worker", "no such file")):
        done = cli_process("worker", "run", target, cwd=tmp_path,
                           env={"ASSAY_ENGINE_URL": "http://127.0.0.1:9", "TEST_QUEUE": "q"})
        assert done.returncode == 2, (target, done.stderr)
        assert text in done.stderr, target
    done = cli_process("worker", "run", "myworkers", "--concurrency", "0", cwd=tmp_path)
    assert done.returncode == 2
