"""Groups of globals switched off per runtime (``globals_off``; docs/security.md)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bridge import Client, Worker
from bridge.errors import ConfigError
from bridge.runtime.runtime import GLOBAL_GROUPS, Runtime
from bridge.testing import EngineServer


def _absent(rt: Runtime, expr: str) -> bool:
    return bool(rt.execute(f"return {expr} == nil"))


def test_everything_is_on_by_default() -> None:
    rt = Runtime(log_stderr=False)
    try:
        for expr in ("shell", "process", "disk", "template", "io.popen", 'require("os").execute'):
            assert not _absent(rt, expr), expr
    finally:
        rt.close()


def test_switched_off_groups_are_absent_and_the_rest_stay() -> None:
    rt = Runtime(log_stderr=False, globals_off={"shell", "process", "db"})
    try:
        for expr in ("shell", "process", "db", "io.popen", 'require("os").execute', "package.loaded.io.popen"):
            assert _absent(rt, expr), expr
        for expr in ("disk", "fs", "http", "json", "io.open", "os.time", "template"):
            assert not _absent(rt, expr), expr
    finally:
        rt.close()


def test_with_shell_off_no_lua_path_starts_a_process(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    rt = Runtime(log_stderr=False, globals_off={"shell"})
    try:
        ok = rt.execute(
            "local cmd = 'touch ' .. ... "
            "local tries = { function() return shell.exec(cmd) end, function() return io.popen(cmd) end, "
            "  function() return require('os').execute(cmd) end, function() return package.loaded.os.execute(cmd) end } "
            "for _, f in ipairs(tries) do if pcall(f) then return false end end return true",
            "=t", str(marker).encode())
    finally:
        rt.close()
    assert ok is True
    assert not marker.exists()


def test_io_group_removes_the_io_library() -> None:
    rt = Runtime(log_stderr=False, globals_off={"io"})
    try:
        assert rt.execute('return io == nil and package.loaded.io == nil and require("os").execute ~= nil')
    finally:
        rt.close()


@pytest.mark.parametrize("names", [{"shel"}, {"python"}, "shell"])
def test_unknown_names_are_refused(names: object) -> None:
    with pytest.raises(ConfigError):
        Runtime(log_stderr=False, globals_off=names)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Worker("http://127.0.0.1:1", globals_off=names)  # type: ignore[arg-type]


def test_every_group_can_be_switched_off() -> None:
    rt = Runtime(log_stderr=False, globals_off=GLOBAL_GROUPS)
    try:
        for name in sorted(GLOBAL_GROUPS):
            assert _absent(rt, name), name
    finally:
        rt.close()


def test_a_worker_runs_its_lua_without_the_switched_off_groups(engine_server: EngineServer) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    w = Worker(engine_server.url, queue=queue, log_stderr=False, globals_off={"shell", "process"})
    w.load_lua(
        'local workflow = require("assay.workflow")\n'
        'workflow.activity("probe", function(ctx, input)\n'
        "  return { shell = type(shell), process = type(process), disk = type(disk), popen = type(io.popen) }\n"
        "end)\n")

    @w.workflow("Probe")
    def probe(ctx: object, input: object) -> object:
        return ctx.execute_activity("probe", None, task_queue=queue)  # type: ignore[attr-defined]

    w.start()
    try:
        assert w.wait_registered(timeout=30)
        with Client(engine_server.url) as client:
            client.start("Probe", f"probe-{queue}", task_queue=queue)
            got = client.result(f"probe-{queue}", timeout=30)
    finally:
        w.stop()
        w.join(timeout=30)
    assert w.errors == []
    assert got == {"shell": "nil", "process": "nil", "disk": "table", "popen": "nil"}


def test_run_globals_off_flag(tmp_path: Path) -> None:
    script = tmp_path / "probe.lua"
    script.write_text("print(type(shell), type(process), type(io.popen), type(disk))\n")
    base = [sys.executable, "-m", "bridge", "run"]
    on = subprocess.run([*base, script.name], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert on.returncode == 0, on.stderr
    assert on.stdout == "table\ttable\tfunction\ttable\n"
    off = subprocess.run([*base, "--globals-off", "shell, process", script.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert off.returncode == 0, off.stderr
    assert off.stdout == "nil\tnil\tnil\ttable\n"
    typo = subprocess.run([*base, "--globals-off", "shel", script.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert typo.returncode == 2
    assert "unknown globals to switch off: shel" in typo.stderr
