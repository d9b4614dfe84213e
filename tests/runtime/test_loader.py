"""assay's modules folder (lua-globals §5): ``$ASSAY_MODULES_PATH``, else ``~/.assay/modules``,
read by ``assay-bridge run`` (a real process here) and by ``Worker``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bridge import Client, Worker
from bridge.runtime.loader import default_modules_dir
from bridge.testing import EngineServer

MAIN = 'local m = require("assay.greeter") print(m.hello("ann"))\n'


def _module(folder: Path, text: str, rel: str = "greeter.lua") -> None:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _run(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (cwd / "main.lua").write_text(MAIN)
    base = {k: v for k, v in os.environ.items() if k not in ("ASSAY_MODULES_PATH", "HOME")}
    return subprocess.run([sys.executable, "-m", "bridge", "run", "main.lua"], cwd=cwd,
                          env={**base, **env}, capture_output=True, text=True, timeout=60)


def test_run_finds_a_module_in_assay_modules_path(tmp_path: Path) -> None:
    mods = tmp_path / "mods"
    _module(mods, 'return { hello = function(n) return "hello " .. n .. " from ASSAY_MODULES_PATH" end }')
    (tmp_path / "work").mkdir()
    done = _run(tmp_path / "work", {"ASSAY_MODULES_PATH": str(mods), "HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello ann from ASSAY_MODULES_PATH\n"


def test_run_finds_an_init_lua_package_with_dots(tmp_path: Path) -> None:
    mods = tmp_path / "mods"
    _module(mods, 'return { hello = function(n) return "nested " .. n end }', "greeter/init.lua")
    (tmp_path / "work").mkdir()
    done = _run(tmp_path / "work", {"ASSAY_MODULES_PATH": str(mods)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "nested ann\n"


def test_run_falls_back_to_home_assay_modules(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _module(home / ".assay" / "modules", 'return { hello = function(n) return "home " .. n end }')
    (tmp_path / "work").mkdir()
    done = _run(tmp_path / "work", {"HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "home ann\n"


def test_assay_modules_path_replaces_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _module(home / ".assay" / "modules", 'return { hello = function(n) return "home " .. n end }')
    (tmp_path / "empty").mkdir()
    (tmp_path / "work").mkdir()
    done = _run(tmp_path / "work", {"HOME": str(home), "ASSAY_MODULES_PATH": str(tmp_path / "empty")})
    assert done.returncode == 1
    assert "module 'assay.greeter' not found" in done.stderr


def test_local_modules_folder_comes_first(tmp_path: Path) -> None:
    mods = tmp_path / "mods"
    _module(mods, 'return { hello = function(n) return "far " .. n end }')
    work = tmp_path / "work"
    _module(work / "modules", 'return { hello = function(n) return "near " .. n end }')
    done = _run(work, {"ASSAY_MODULES_PATH": str(mods)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "near ann\n"


def test_default_modules_dir() -> None:
    assert default_modules_dir({"ASSAY_MODULES_PATH": "/m", "HOME": "/h"}) == Path("/m")
    assert default_modules_dir({"HOME": "/h"}) == Path("/h/.assay/modules")
    assert default_modules_dir({}) is None


def test_worker_reads_assay_modules_path(engine_server: EngineServer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    mods = tmp_path / "mods"
    _module(mods, 'return { hello = function(n) return "worker " .. n end }')
    monkeypatch.setenv("ASSAY_MODULES_PATH", str(mods))
    queue = f"q-{uuid.uuid4().hex[:8]}"
    w = Worker(engine_server.url, queue=queue, log_stderr=False)
    w.load_lua('local workflow = require("assay.workflow")\n'
               'local greeter = require("assay.greeter")\n'
               'workflow.define("Greet", function(ctx, input) return greeter.hello(input.name) end)\n')
    w.start()
    try:
        assert w.wait_registered(timeout=30)
        with Client(engine_server.url) as client:
            client.start("Greet", f"greet-{queue}", {"name": "bo"}, task_queue=queue)
            assert client.result(f"greet-{queue}", timeout=30) == "worker bo"
    finally:
        w.stop()
        w.join(timeout=30)
    assert w.errors == []
