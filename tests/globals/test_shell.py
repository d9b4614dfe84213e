"""shell.exec (lua-globals §3.17) running real commands through /bin/sh."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime


def test_status_stdout_stderr(lua: Callable[..., Any]) -> None:
    got = lua('local r = shell.exec("echo out; echo err >&2; exit 3") '
              "return r.status, r.stdout, r.stderr, r.timed_out, math.type(r.status)")
    assert got == (3, "out\n", "err\n", False, "integer")


def test_a_non_zero_exit_does_not_raise(lua: Callable[..., Any]) -> None:
    assert lua('return shell.exec("false").status') == 1


def test_runs_through_sh_with_pipes_and_variables(lua: Callable[..., Any]) -> None:
    assert lua('return shell.exec("printf \'%s\' a b | tr a-z A-Z; X=1; echo $X").stdout') == "AB1\n"


def test_cwd(lua: Callable[..., Any], tmp_path: Path) -> None:
    assert lua("return shell.exec('pwd', {cwd = ...}).stdout", str(tmp_path).encode()) == f"{tmp_path}\n"


def test_env_is_added_to_the_inherited_one(lua: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_SHELL_INHERITED", "yes")
    got = lua('return shell.exec("echo $ASSAY_SHELL_INHERITED $EXTRA $NUM", {env = {EXTRA = "x", NUM = 5}}).stdout')
    assert got == "yes x 5\n"


def test_stdin_is_written_else_dev_null(lua: Callable[..., Any]) -> None:
    assert lua('return shell.exec("cat", {stdin = "line1\\nline2"}).stdout') == "line1\nline2"
    assert lua('return shell.exec("cat").stdout') == ""


def test_timeout_kills_the_child(lua: Callable[..., Any], tmp_path: Path) -> None:
    marker = tmp_path / "late"
    got = lua("local r = shell.exec('echo early; sleep 30; touch ' .. ..., {timeout = 0.3}) "
              "return r.status, r.stdout, r.stderr, r.timed_out", str(marker).encode())
    assert got == (-1, "", "", True)
    assert not marker.exists()


def test_timeout_not_reached(lua: Callable[..., Any]) -> None:
    assert lua('local r = shell.exec("echo fine", {timeout = 10}) return r.stdout, r.timed_out') == ("fine\n", False)


def test_killed_by_a_signal_is_minus_one(lua: Callable[..., Any]) -> None:
    assert lua('return shell.exec("kill -9 $$").status') == -1


def test_invalid_utf8_output(rt: Runtime) -> None:
    lossy, strict = rt.execute("return shell.exec('printf \"a\\\\377b\"').stdout, "
                               "shell.exec('printf \"a\\\\377b\"', {timeout = 10}).stdout", "=t")
    assert lossy == "a\ufffdb".encode()
    assert strict == b""


def test_second_argument_not_a_table_is_ignored(lua: Callable[..., Any]) -> None:
    assert lua('return shell.exec("echo ok", "nonsense").stdout') == "ok\n"


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ('shell.exec("true", {timeout = -1})', "shell.exec: timeout must be a non-negative finite number"),
        ('shell.exec("true", {timeout = 1/0})', "shell.exec: timeout must be a non-negative finite number"),
        ('shell.exec("true", {cwd = "/no/such/dir"})',
         "shell.exec: failed to spawn command: No such file or directory (os error 2)"),
        ("shell.exec()", "bad argument #1: error converting Lua nil to String (expected string or number)"),
    ],
)
def test_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message
