"""log.info/warn/error: assay's stderr format and the ``assay`` Python logger (lua-globals §3.6)."""

from __future__ import annotations

import logging
import re

import pytest

from bridge.runtime.runtime import Runtime

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (?P<level> INFO| WARN|ERROR) (?P<msg>.*)$")


@pytest.mark.parametrize(("fn", "level"), [("info", " INFO"), ("warn", " WARN"), ("error", "ERROR")])
def test_stderr_line_format(capfd: pytest.CaptureFixture[str], fn: str, level: str) -> None:
    rt = Runtime(log_stderr=True, color=False)
    rt.execute(f'log.{fn}("hello " .. 42)')
    err = capfd.readouterr().err
    m = LINE.match(err.rstrip("\n"))
    assert m, err
    assert (m.group("level"), m.group("msg")) == (level, "hello 42")


def test_colour_codes_when_enabled(capfd: pytest.CaptureFixture[str]) -> None:
    Runtime(log_stderr=True, color=True).execute('log.warn("x")')
    err = capfd.readouterr().err
    assert "\x1b[2m" in err and "\x1b[33m WARN\x1b[0m x" in err


def test_numbers_are_accepted_and_formatted_by_lua(capfd: pytest.CaptureFixture[str]) -> None:
    Runtime(log_stderr=True).execute("log.info(0.1 + 0.2)")
    assert capfd.readouterr().err.rstrip().endswith(" INFO 0.30000000000000004")


def test_routed_to_assay_logger(caplog: pytest.LogCaptureFixture) -> None:
    rt = Runtime(log_stderr=False)
    with caplog.at_level(logging.DEBUG, logger="assay"):
        rt.execute('log.info("a") log.warn("b") log.error("c")')
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("assay", logging.INFO, "a"), ("assay", logging.WARNING, "b"), ("assay", logging.ERROR, "c")
    ]


def test_quiet_runtime_writes_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    Runtime(log_stderr=False).execute('log.info("quiet")')
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("arg", "kind"), [("nil", "nil"), ("true", "boolean"), ("{}", "table")]
)
def test_non_string_arguments_raise(arg: str, kind: str) -> None:
    rt = Runtime(log_stderr=False)
    ok, err = rt.execute(f"local ok, e = pcall(log.info, {arg}) return ok, tostring(e)")
    assert ok is False
    assert err.decode() == f"bad argument #1: error converting Lua {kind} to String (expected string or number)"
