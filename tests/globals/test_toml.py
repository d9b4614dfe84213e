"""toml.parse/encode through the JSON model (lua-globals §3.3)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any


def test_parse_values_and_datetime(lua: Callable[..., Any]) -> None:
    src = """local t = toml.parse('a = 1\\nb = "x"\\n[c]\\nd = 1979-05-27T07:32:00Z\\ne = [1, 2.5]')
    return t.a, math.type(t.a), t.b, t.c.d["$__toml_private_datetime"], math.type(t.c.e[2])"""
    assert lua(src) == (1, "integer", "x", "1979-05-27T07:32:00Z", "float")


def test_encode_round_trips(lua: Callable[..., Any]) -> None:
    text = lua('return toml.encode({name = "n", list = {1, 2}, sub = {k = true}, ["$x"] = 1})')
    assert tomllib.loads(text) == {"name": "n", "list": [1, 2], "sub": {"k": True}, "$x": 1}


def test_datetime_table_encodes_as_datetime(lua: Callable[..., Any]) -> None:
    text = lua('return toml.encode(toml.parse("d = 1979-05-27T07:32:00Z"))')
    assert str(tomllib.loads(text)["d"]) == "1979-05-27 07:32:00+00:00"


def test_errors(lua_error: Callable[..., str]) -> None:
    assert lua_error("toml.encode({})").startswith("toml.encode: ")
    assert lua_error("toml.encode(1)").startswith("toml.encode: ")
    assert lua_error('toml.parse("a = ")').startswith("toml.parse: ")
