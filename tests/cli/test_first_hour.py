"""What a new user meets first: a CLI that waits for an engine still starting, survives a
closed pipe, says why a workflow waits and how to page, and puts the user's error first."""

from __future__ import annotations

import os
import subprocess
import sys

from bridge import Worker
from bridge.testing import EngineServer
from tests.cli.clikit import cli_process
from tests.helpers import free_port, new_id



def test_a_command_waits_for_an_engine_that_is_starting() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_ENGINE_URL", "ASSAY_TOKEN")}
    cmd = subprocess.Popen(
        [sys.executable, "-m", "bridge", "workflow", "start", "--type", "T", "--id", "early",
         "--url", url, "--wait-engine", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with EngineServer(poll_wait_s=0, extra_args=["--port", str(port)]) as server:
            out, err = cmd.communicate(timeout=90)
            assert cmd.returncode == 0, err
            assert "early" in out
            assert requests_status(server.url + "/api/v1/workflows/early") == 200
    finally:
        if cmd.poll() is None:
            cmd.kill()


def requests_status(url: str) -> int:
    import requests

    return requests.get(url, timeout=30).status_code


def test_giving_up_is_one_line_and_exit_4() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = cli_process("workflow", "list", "--wait-engine", "0.3", url=url)
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "connection refused" in done.stderr


def test_a_closed_pipe_ends_quietly(engine_server: EngineServer) -> None:
    env = {**os.environ, "ASSAY_ENGINE_URL": engine_server.url}
    for argv in (["workflow", "list"], ["--help"]):
        proc = subprocess.Popen([sys.executable, "-m", "bridge", *argv], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before anything is written
        err = proc.stderr.read().decode()
        proc.stderr.close()
        proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert proc.returncode in (0, 141)


def test_describe_says_what_a_workflow_waits_on(engine_server: EngineServer) -> None:
    queue = new_id("q")
    wid = new_id("lost")
    assert cli_process("workflow", "start", "--type", "NoOneServesIt", "--id", wid,
                       "--queue", queue, url=engine_server.url).returncode == 0
    described = cli_process("workflow", "describe", wid, url=engine_server.url)
    assert "waiting on:" in described.stdout
    assert (f"a worker for workflow type 'NoOneServesIt' on queue '{queue}': "
            "no live worker serves it") in described.stdout
    listed = cli_process("workflow", "list", "--stalled", "--json", url=engine_server.url)
    assert wid in [w["id"] for w in __import__("json").loads(listed.stdout)]


def test_list_says_when_it_cut_the_list(engine_server: EngineServer) -> None:
    for _ in range(3):
        cli_process("workflow", "start", "--type", "Paged", "--queue", new_id("q"),
                    url=engine_server.url)
    cut = cli_process("workflow", "list", "--type", "Paged", "--limit", "2",
                      url=engine_server.url)
    assert "--offset 2 for the next page" in cut.stderr
    whole = cli_process("workflow", "list", "--type", "Paged", "--limit", "50",
                        url=engine_server.url)
    assert "next page" not in whole.stderr


def test_a_failure_shows_the_users_error_first(engine_server: EngineServer, worker: Worker,
                                               queue: str) -> None:
    wid = new_id("fails")
    cli_process("workflow", "start", "--type", "Fails", "--id", wid, "--queue", queue,
                url=engine_server.url)
    done = cli_process("workflow", "result", wid, "--wait", "--timeout", "60",
                       url=engine_server.url)
    assert done.returncode == 1
    message = done.stderr.split(f"ended FAILED: ", 1)[1]
    assert message.startswith("ApplicationError: no luck today") or "no luck today" in \
        message.split("(at ")[0], done.stderr
    assert not message.startswith(("assay/", "@"))
