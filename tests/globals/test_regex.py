"""regex.* with (text, pattern) order and Rust semantics (lua-globals §3.12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def test_match_is_unanchored_and_ascii(lua: Callable[..., Any]) -> None:
    assert lua(r'return regex.match("xx12yy", "\\d+"), regex.match("٣", "\\d"), regex.match("abc\n", "c$")') == (
        True, False, False
    )


def test_find_groups_with_holes(lua: Callable[..., Any]) -> None:
    got = lua(r'local r = regex.find("ab12", "(?<w>[a-z]+)(\\d+)(z)?") return r.match, r.groups[1], r.groups[2], r.groups[3]')
    assert got == ("ab12", "ab", "12", None)
    assert lua('return regex.find("abc", "z")') is None


def test_find_all(lua: Callable[..., Any]) -> None:
    assert lua(r'return table.concat(regex.find_all("a1b22c333", "\\d+"), ",")') == "1,22,333"


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [("<$1>", "a<1>b<22>"), ("${1}x", "a1xb22x"), ("$$", "a$b$"), ("$1a", "ab"), ("${n}", "a1b22")],
)
def test_replace_all_with_rust_syntax(lua: Callable[..., Any], replacement: str, expected: str) -> None:
    assert lua(r'return regex.replace("a1b22", "(?<n>\\d+)", ...)', replacement.encode()) == expected


def test_invalid_pattern(lua_error: Callable[..., str]) -> None:
    assert lua_error('regex.match("a", "(")').startswith("regex.match: invalid pattern: ")
