"""env.get/set/list (lua-globals §3.7)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime


@pytest.fixture
def var() -> Iterator[str]:
    name = f"ASSAY_BRIDGE_TEST_{os.getpid()}_{id(object())}"
    yield name
    os.environ.pop(name, None)


def test_get_reads_process_environment(lua: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "value")
    assert lua("return env.get(...)", var.encode()) == "value"


def test_get_missing_is_nil(lua: Callable[..., Any], var: str) -> None:
    assert lua("return env.get(...)", var.encode()) is None


def test_overrides_win(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "process")
    rt = Runtime(env_overrides={var: "override"}, log_stderr=False)
    assert rt.execute("return env.get(...)", "=t", var.encode()) == b"override"


def test_set_and_unset(lua: Callable[..., Any], var: str) -> None:
    lua("env.set(..., 42)", var.encode())
    assert os.environ[var] == "42"
    lua("env.set(..., nil)", var.encode())
    assert var not in os.environ


def test_list_has_key_value_tables(lua: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "listed")
    found = lua("for _, e in ipairs(env.list()) do if e.key == ... then return e.value end end", var.encode())
    assert found == "listed"


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("env.get(nil)", "bad argument #1: error converting Lua nil to String (expected string or number)"),
        ('env.set("X", true)', "bad argument #2: error converting Lua boolean to String (expected string or number)"),
        ('env.set("X", {})', "bad argument #2: error converting Lua table to String (expected string or number)"),
    ],
)
def test_bad_arguments(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message
