"""assay's os table replacing Lua's (lua-globals §3.8, §0.2)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest


def test_only_assays_functions_exist(lua: Callable[..., Any]) -> None:
    names = lua("local t = {} for k in pairs(os) do t[#t + 1] = k end table.sort(t) return table.concat(t, ',')")
    assert names == "arch,clock,date,hostname,platform,time"


def test_original_library_stays_reachable(lua: Callable[..., Any]) -> None:
    assert lua('return type(require("os").getenv), type(package.loaded.os.getenv)') == ("function", "function")


def test_time_is_integer_and_ignores_arguments(lua: Callable[..., Any]) -> None:
    kind, value = lua("local t = os.time{year = 2000, month = 1, day = 1} return math.type(t), t")
    assert kind == "integer"
    assert abs(value - time.time()) < 5


def test_hostname_arch_platform(lua: Callable[..., Any]) -> None:
    host, arch, plat = lua("return os.hostname(), os.arch(), os.platform()")
    assert host == socket.gethostname()
    assert arch in ("x86_64", "aarch64", "arm", "x86", "riscv64", "powerpc64", "s390x")
    assert plat in ("linux", "macos", "windows", "freebsd")


def test_clock_is_wall_seconds_since_runtime_start(lua: Callable[..., Any]) -> None:
    kind, value = lua("local c = os.clock() return math.type(c), c")
    assert kind == "float" and 0 <= value < 60


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ('"%Y-%m-%d %H:%M:%S", 0', "1970-01-01 00:00:00"),
        ('"%c", 86399.9', "1970-01-01 23:59:59"),
        ('"%d/%m %%x", 0, 2', "01/01 %%x"),
        ('"!%H", 0, 5', "00"),
        ('nil, 1700000000', "2023-11-14 22:13:20"),
    ],
)
def test_date_formats_in_utc(lua: Callable[..., Any], args: str, expected: str) -> None:
    assert lua(f"return os.date({args})") == expected


def test_date_star_t(lua: Callable[..., Any]) -> None:
    got = lua('local t = os.date("*t", 0) return t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday')
    assert got == (1970, 1, 1, 0, 0, 0, None)


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("os.date(5)", "os.date: format must be a string"),
        ('os.date("%Y", "x")', "os.date: time must be a number"),
        ('os.date("%Y", 0, "x")', "os.date: tz_offset must be a number (hours from UTC)"),
    ],
)
def test_date_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message
