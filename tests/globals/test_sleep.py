"""sleep(seconds) (lua-globals §3.8)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def test_sleep_blocks_for_float_seconds(lua: Callable[..., Any]) -> None:
    t0 = time.monotonic()
    assert lua("return sleep(0.05)") is None
    assert time.monotonic() - t0 >= 0.05


def test_numeric_string_is_accepted(lua: Callable[..., Any]) -> None:
    assert lua('return sleep("0")') is None


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("nil", "bad argument #1: error converting Lua nil to f64 (expected number)"),
        ("{}", "bad argument #1: error converting Lua table to f64 (expected number)"),
        ("-1", "sleep: seconds must be a non-negative finite number"),
        ("0/0", "sleep: seconds must be a non-negative finite number"),
        ("1/0", "sleep: seconds must be a non-negative finite number"),
    ],
)
def test_bad_arguments(lua_error: Callable[..., str], arg: str, message: str) -> None:
    assert lua_error(f"sleep({arg})") == message
