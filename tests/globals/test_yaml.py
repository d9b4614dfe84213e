"""yaml.parse/encode through the JSON model, YAML 1.2 core schema (lua-globals §3.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_parse_core_schema(lua: Callable[..., Any]) -> None:
    src = """local y = yaml.parse("a: yes\\nb: 010\\nc: 2024-01-01\\nd: .nan\\ne: null\\nf: 0x10\\ng: [1, 2.5]\\nh: true")
    return y.a, y.b, math.type(y.b), y.c, y.d, y.e, y.f, math.type(y.g[2]), y.h"""
    assert lua(src) == ("yes", 10, "integer", "2024-01-01", None, None, 16, "float", True)


def test_encode_sorted_block_style(lua: Callable[..., Any]) -> None:
    assert lua('return yaml.encode({items = {"a", "b"}, n = 1, e = {}, f = 1.5})') == "e: []\nf: 1.5\nitems:\n- a\n- b\nn: 1\n"


def test_round_trip(lua: Callable[..., Any]) -> None:
    assert lua('return yaml.parse(yaml.encode({x = {y = "on", z = {1, 2}}})).x.y') == "on"


def test_errors(lua_error: Callable[..., str]) -> None:
    assert lua_error('yaml.parse("a: [1")').startswith("yaml.parse: ")
    assert lua_error("yaml.encode({f = print})") == "yaml.encode: unsupported Lua type for JSON: function"
