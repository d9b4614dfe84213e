"""assay's assert table (lua-globals §3.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def test_passing_assertions_return_nothing(lua: Callable[..., Any]) -> None:
    src = """assert.eq(1, 1) assert.eq(1, 1.0) assert.eq("a", "a") assert.eq(nil, nil) assert.ne({}, {})
    local t = {} assert.ne(t, t) assert.gt(2, 1) assert.lt(1, 2.5) assert.contains("abc", "b")
    assert.not_nil(false) assert.matches("abc123", "%d+$") return 'ok'"""
    assert lua(src) == "ok"


def test_assert_is_a_table(lua_error: Callable[..., str]) -> None:
    assert "attempt to call a table value" in lua_error("assert(true)")


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("assert.eq(1, 2)", 'assert.eq failed: "1" != "2"'),
        ('assert.eq("a\\n", 5.0, "ctx")', 'assert.eq failed: "a\\n" != "5" - ctx'),
        ("assert.eq(1, 2, nil)", 'assert.eq failed: "1" != "2" - nil'),
        ("local t = {} assert.eq(t, t)", 'assert.eq failed: "<table>" != "<table>"'),
        ('assert.ne("x", "x")', 'assert.ne failed: "x" == "x"'),
        ("assert.gt(1, 5)", "assert.gt failed: 1 is not > 5"),
        ("assert.lt(2.5, 1, 7)", "assert.lt failed: 2.5 is not < 1 - 7"),
        ('assert.gt("1", 0)', "assert.gt: both arguments must be numbers"),
        ('assert.contains("abc", "z")', 'assert.contains failed: "abc" does not contain "z"'),
        ("assert.contains(1, 'z')", "assert.contains: first argument must be a string"),
        ("assert.contains('a', 1)", "assert.contains: second argument must be a string"),
        ("assert.not_nil(nil, 'v')", "assert.not_nil failed: value is nil - v"),
        ('assert.matches("abc", "^b")', 'assert.matches failed: "abc" does not match pattern "^b"'),
        ('assert.matches("abc", 5)', "assert.matches: second argument must be a pattern string"),
    ],
)
def test_failure_messages(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message


def test_bad_pattern(lua_error: Callable[..., str]) -> None:
    assert lua_error('assert.matches("abc", "%")').startswith("assert.matches: pattern error: ")
