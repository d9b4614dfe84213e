"""``assay-bridge workflow ...`` against a real engine process and worker."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from bridge import Client
from bridge.testing import EngineServer
from tests.cli.clikit import cli, cli_process
from tests.helpers import new_id

pytestmark = pytest.mark.usefixtures("worker")
Cap = pytest.CaptureFixture[str]


def test_start_then_result_wait_prints_json(engine_server: EngineServer, queue: str,
                                            capsys: Cap) -> None:
    wid = new_id()
    r = cli(capsys, engine_server.url, "workflow", "start", "--type", "Echo", "--id", wid,
            "--input", '{"b": [1, 2], "a": "x"}', "--queue", queue)
    assert r.code == 0, r.err
    assert f"workflow_id: {wid}" in r.out and "PENDING" in r.out
    r = cli(capsys, engine_server.url, "workflow", "result", wid, "--wait", "--timeout", "30")
    assert r.code == 0, r.err
    assert r.json() == {"a": "x", "b": [1, 2]}
    assert r.err == ""  # no spinner off a terminal


def test_start_json_and_generated_id(engine_server: EngineServer, queue: str, capsys: Cap) -> None:
    r = cli(capsys, engine_server.url, "workflow", "start", "--type", "Echo", "--queue", queue, "--json")
    assert r.code == 0, r.err
    started = r.json()
    assert started["workflow_id"].startswith("Echo-") and started["status"] == "PENDING"


def test_describe_shows_decoded_fields(engine_server: EngineServer, queue: str, capsys: Cap) -> None:
    wid = new_id()
    with Client(engine_server.url) as c:
        c.start("Echo", wid, {"k": 1}, task_queue=queue)
        c.result(wid, timeout=30)
    r = cli(capsys, engine_server.url, "workflow", "describe", wid)
    assert r.code == 0
    assert "status:    COMPLETED" in r.out and 'result:    {"k": 1}' in r.out
    r = cli(capsys, engine_server.url, "workflow", "describe", wid, "--json")
    assert r.json()["result"] == {"k": 1} and r.json()["id"] == wid


def test_signal_with_payload_completes_a_waiting_workflow(engine_server: EngineServer, queue: str,
                                                          capsys: Cap) -> None:
    wid = new_id()
    assert cli(capsys, engine_server.url, "workflow", "start", "--type", "Gate", "--id", wid,
               "--queue", queue).code == 0
    r = cli(capsys, engine_server.url, "workflow", "signal", wid, "go", '{"ok": true}')
    assert r.code == 0 and f"sent signal go to {wid}" in r.out
    r = cli(capsys, engine_server.url, "workflow", "result", wid, "--wait")
    assert r.json() == {"got": {"ok": True}}


def test_failed_workflow_result_exits_1_with_the_error(engine_server: EngineServer, queue: str,
                                                       capsys: Cap) -> None:
    wid = new_id()
    cli(capsys, engine_server.url, "workflow", "start", "--type", "Fails", "--id", wid, "--queue", queue)
    r = cli(capsys, engine_server.url, "workflow", "result", wid, "--wait")
    assert r.code == 1 and "no luck today" in r.err and r.out == ""
    r = cli(capsys, engine_server.url, "workflow", "result", wid)  # finished: no --wait needed
    assert r.code == 1


def test_result_of_an_unfinished_workflow_exits_5(engine_server: EngineServer, capsys: Cap) -> None:
    wid = new_id()
    cli(capsys, engine_server.url, "workflow", "start", "--type", "Echo", "--id", wid,
        "--queue", f"nobody-{wid}")
    r = cli(capsys, engine_server.url, "workflow", "result", wid)
    assert r.code == 5 and "--wait" in r.err
    r = cli(capsys, engine_server.url, "workflow", "result", wid, "--wait", "--timeout", "0.2")
    assert r.code == 5 and "still PENDING" in r.err


def test_cancel_and_terminate(engine_server: EngineServer, queue: str, capsys: Cap) -> None:
    a, b = new_id(), new_id()
    cli(capsys, engine_server.url, "workflow", "start", "--type", "Gate", "--id", a, "--queue", queue)
    cli(capsys, engine_server.url, "workflow", "start", "--type", "Gate", "--id", b, "--queue", queue)
    assert cli(capsys, engine_server.url, "workflow", "cancel", a).code == 0
    r = cli(capsys, engine_server.url, "workflow", "terminate", b, "--reason", "stop it", "--json")
    assert r.code == 0 and r.json() == {"workflow_id": b, "terminated": True, "reason": "stop it"}
    r = cli(capsys, engine_server.url, "workflow", "result", a, "--wait", "--timeout", "30")
    assert r.code == 1 and "CANCELLED" in r.err
    r = cli(capsys, engine_server.url, "workflow", "result", b)
    assert r.code == 1 and "stop it" in r.err
    assert cli(capsys, engine_server.url, "workflow", "cancel", a).code == 3  # already terminal


def test_list_table_and_filters(engine_server: EngineServer, capsys: Cap) -> None:
    kind = f"K{new_id('x').replace('-', '')}"
    ids = [new_id() for _ in range(3)]
    for wid in ids:
        cli(capsys, engine_server.url, "workflow", "start", "--type", kind, "--id", wid,
            "--queue", f"nobody-{kind}")
    cli(capsys, engine_server.url, "workflow", "terminate", ids[1])
    r = cli(capsys, engine_server.url, "workflow", "list", "--type", kind)
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "QUEUE", "CREATED", "COMPLETED"]
    assert [ln.split()[0] for ln in lines[1:]] == ids[::-1]
    r = cli(capsys, engine_server.url, "workflow", "list", "--type", kind, "--status", "FAILED", "--json")
    assert [w["id"] for w in r.json()] == [ids[1]]
    r = cli(capsys, engine_server.url, "workflow", "list", "--type", kind, "--limit", "1", "--json")
    assert len(r.json()) == 1
    r = cli(capsys, engine_server.url, "workflow", "list", "--type", "NoSuchType")
    assert r.code == 0 and r.out.strip() == "(none)"


def test_events_and_children(engine_server: EngineServer, queue: str, capsys: Cap) -> None:
    wid = new_id()
    cli(capsys, engine_server.url, "workflow", "start", "--type", "Parent", "--id", wid, "--queue", queue)
    assert cli(capsys, engine_server.url, "workflow", "result", wid, "--wait").code == 0
    r = cli(capsys, engine_server.url, "workflow", "events", wid)
    assert r.out.splitlines()[0].split() == ["SEQ", "EVENT", "TIME", "PAYLOAD"]
    assert "ChildWorkflowCompleted" in r.out and "WorkflowCompleted" in r.out
    events = cli(capsys, engine_server.url, "workflow", "events", wid, "--json").json()
    assert events[-1]["event_type"] == "WorkflowCompleted"
    assert events[-1]["payload"] == {"child": {"from": "parent"}}  # decoded
    r = cli(capsys, engine_server.url, "workflow", "children", wid)
    assert f"{wid}-child" in r.out and "COMPLETED" in r.out
    assert cli(capsys, engine_server.url, "workflow", "children", f"{wid}-child").out.strip() == "(none)"


def test_not_found_exits_3(engine_server: EngineServer, capsys: Cap) -> None:
    missing = new_id("missing")
    for argv in (["describe", missing], ["result", missing], ["result", missing, "--wait"],
                 ["signal", missing, "go"], ["cancel", missing], ["terminate", missing],
                 ["events", missing], ["children", missing]):
        r = cli(capsys, engine_server.url, "workflow", *argv)
        assert r.code == 3, (argv, r)
        assert "not found" in r.err


def test_usage_errors_exit_2(engine_server: EngineServer, capsys: Cap) -> None:
    assert cli(capsys, engine_server.url, "workflow", "start", "--id", "x").code == 2  # no --type
    r = cli(capsys, engine_server.url, "workflow", "start", "--type", "Echo", "--input", "{bad")
    assert r.code == 2 and "--input is not valid JSON" in r.err
    r = cli(capsys, engine_server.url, "workflow", "signal", new_id(), "go", "not json")
    assert r.code == 2 and "PAYLOAD" in r.err
    assert cli(capsys, engine_server.url, "workflow", "list", "--limit", "many").code == 2
    r = cli(capsys, "ftp://example", "workflow", "list")
    assert r.code == 2 and "http://" in r.err
    assert cli(capsys, engine_server.url, "workflow").code == 2  # a group without a subcommand


def test_duplicate_id_exits_1(engine_server: EngineServer, queue: str, capsys: Cap) -> None:
    wid = new_id()
    cli(capsys, engine_server.url, "workflow", "start", "--type", "Echo", "--id", wid, "--queue", queue)
    r = cli(capsys, engine_server.url, "workflow", "start", "--type", "Echo", "--id", wid)
    assert r.code == 1 and wid in r.err


def test_unreachable_engine_exits_4_and_env_var_is_read(engine_server: EngineServer) -> None:
    done = cli_process("workflow", "list", url="http://127.0.0.1:9")
    assert done.returncode == 4 and "engine unreachable" in done.stderr
    done = cli_process("workflow", "list", "--json", url=engine_server.url)
    assert done.returncode == 0 and done.stdout.startswith("[")


def test_default_url_is_localhost_8080() -> None:
    done = cli_process("workflow", "describe", "x")
    assert done.returncode in (1, 3, 4)  # 4 unless something happens to serve :8080 here
    if done.returncode == 4:
        assert "localhost:8080" in done.stderr


def test_token_comes_from_assay_token(tmp_path: object) -> None:
    with EngineServer(auth_api_key=True) as secured:
        key = secured.create_api_key()
        assert cli_process("workflow", "list", url=secured.url).returncode == 2
        done = cli_process("workflow", "list", url=secured.url, env={"ASSAY_TOKEN": key})
        assert done.returncode == 0, done.stderr
        assert cli_process("workflow", "list", "--token", key, url=secured.url).returncode == 0


def test_result_wait_shows_a_spinner_on_a_terminal(engine_server: EngineServer) -> None:
    wid = new_id()
    with Client(engine_server.url) as c:
        c.start("Echo", wid, task_queue=f"nobody-{wid}")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "workflow", "result", wid, "--wait",
             "--timeout", "0.5", "--url", engine_server.url],
            stdout=subprocess.PIPE, stderr=follower, text=True)
        os.close(follower)
        out, _ = proc.communicate(timeout=60)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 5 and out == ""
    assert f"waiting for {wid}".encode() in seen


@pytest.mark.parametrize("argv", [
    [], ["workflow"], ["workflow", "start"], ["workflow", "describe"], ["workflow", "result"],
    ["workflow", "signal"], ["workflow", "cancel"], ["workflow", "terminate"],
    ["workflow", "list"], ["workflow", "events"], ["workflow", "children"],
    ["schedule"], ["schedule", "create"], ["schedule", "list"], ["schedule", "get"],
    ["schedule", "pause"], ["schedule", "resume"], ["schedule", "delete"],
    ["worker"], ["worker", "list"], ["worker", "run"], ["queue"], ["queue", "list"],
])
def test_help_on_every_command(argv: list[str], capsys: Cap) -> None:
    from bridge.cli import main

    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: assay-bridge")
