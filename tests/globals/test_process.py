"""process.list / is_running / kill / wait_idle (lua-globals §3.18) against real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime
from tests.helpers import wait_until


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A real process with a name of its own (a copy of sleep) and arguments."""
    exe = tmp_path / "assaysleeper"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "300"])
    yield proc, exe
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_list_shows_pid_name_and_cmdline(lua: Callable[..., Any],
                                         sleeper: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, exe = sleeper
    name = exe.name
    wait_until(lambda: lua("for _, p in ipairs(process.list()) do if p.pid == ... then return p.name end end",
                           proc.pid) == name)
    got = lua("for _, p in ipairs(process.list()) do if p.pid == ... then return p.name, p.cmdline end end",
              proc.pid)
    assert got == (name, f"{exe} 300")


def test_list_includes_this_process(lua: Callable[..., Any]) -> None:
    got = lua("for _, p in ipairs(process.list()) do if p.pid == ... then return math.type(p.pid), "
              "#p.name <= 15, p.cmdline ~= nil end end", os.getpid())
    assert got == ("integer", True, True)


def test_is_running_compares_the_exact_name(lua: Callable[..., Any],
                                            sleeper: tuple[subprocess.Popen[bytes], Path]) -> None:
    name = sleeper[1].name
    wait_until(lambda: lua("return process.is_running(...)", name.encode()) is True)
    assert lua("return process.is_running(...)", name[:-1].encode()) is False
    assert lua("return process.is_running('no-such-process-name')") is False


def test_kill_sends_the_signal(lua: Callable[..., Any], sleeper: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, _ = sleeper
    assert lua("return process.kill(...)", proc.pid) is True
    assert proc.wait(timeout=30) == -signal.SIGTERM


def test_kill_with_another_signal(lua: Callable[..., Any], sleeper: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, _ = sleeper
    assert lua("return process.kill(..., 9)", proc.pid) is True
    assert proc.wait(timeout=30) == -signal.SIGKILL


def test_kill_signal_zero_probes(lua: Callable[..., Any]) -> None:
    assert lua("return process.kill(..., 0)", os.getpid()) is True


def test_wait_idle_true_once_the_process_is_gone(rt: Runtime, sleeper: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, exe = sleeper
    name = exe.name
    wait_until(lambda: rt.execute("return process.is_running(...)", "=t", name.encode()) is True)
    reaper = threading.Thread(target=proc.wait)  # a dead child stays in /proc until reaped
    reaper.start()
    # a task kills the process while wait_idle polls: wait_idle's sleep lets the task run
    got = rt.execute(
        "local name, pid = ... "
        "async.spawn(function() sleep(0.05) process.kill(pid) end) "
        "return process.wait_idle({ 'no-such-process-name', name }, 60, 0.02)", "=t", name.encode(), proc.pid)
    assert got is True
    reaper.join(timeout=30)


def test_wait_idle_false_after_the_timeout(rt: Runtime, sleeper: tuple[subprocess.Popen[bytes], Path]) -> None:
    name = sleeper[1].name
    wait_until(lambda: rt.execute("return process.is_running(...)", "=t", name.encode()) is True)
    assert rt.execute("return process.wait_idle(..., 0.05, 0.01)", "=t", name.encode()) is False


def test_wait_idle_nothing_running_is_immediately_true(lua: Callable[..., Any]) -> None:
    assert lua("return process.wait_idle('no-such-process-name')") is True


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("process.kill(0)", "process.kill: pid must be > 0, got 0"),
        ("process.kill(-5)", "process.kill: pid must be > 0, got -5"),
        ("process.kill(1, -1)", "process.kill: signal must be >= 0, got -1"),
        ("process.kill(2147483000)",
         "process.kill: failed to send signal 15 to pid 2147483000: No such process (os error 3)"),
        ("process.is_running({})", "bad argument #1: error converting Lua table to String (expected string or number)"),
    ],
)
def test_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message


def test_is_linux() -> None:
    assert sys.platform.startswith("linux"), "process.* reads /proc, as assay does on Linux"
