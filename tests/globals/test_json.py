"""json.parse / json.encode: assay's rules (lua-globals §3.2, §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

ENCODE_CASES = [
    ("{}", "[]"),
    ("{ result = nil }", "[]"),
    ("{1, 2, 3}", "[1,2,3]"),
    ('{[1] = "a", [3] = "c"}', '{"1":"a","3":"c"}'),
    ("{b = 1, a = 2, C = 3, ['10'] = 4, ['2'] = 5}", '{"10":4,"2":5,"C":3,"a":2,"b":1}'),
    ("{z = {y = 1, x = 2}}", '{"z":{"x":2,"y":1}}'),
    ("1", "1"),
    ("1.0", "1.0"),
    ("2.5", "2.5"),
    ("-0.0", "-0.0"),
    ("1e16", "1e+16"),
    ("1e15", "1000000000000000.0"),
    ("0.00001", "0.00001"),
    ("1e-6", "1e-6"),
    ("1.5e300", "1.5e+300"),
    ("0.1 + 0.2", "0.30000000000000004"),
    ("math.maxinteger", "9223372036854775807"),
    ("math.mininteger", "-9223372036854775808"),
    ("2^53", "9007199254740992.0"),
    ("nil", "null"),
    ("true", "true"),
    ('"a\\"b\\\\c/\\n\\t\\1\\127é"', '"a\\"b\\\\c/\\n\\t\\u0001\x7fé"'),
    ("{[0.5] = 1}", '{"0.5":1}'),
    ("{[1e-7] = 1}", '{"0.0000001":1}'),
    ("{1, nil, 3}", '{"1":1,"3":3}'),
    ("{{}, {{}}}", "[[],[[]]]"),
]


@pytest.mark.parametrize(("expr", "expected"), ENCODE_CASES)
def test_encode(lua: Callable[..., Any], expr: str, expected: str) -> None:
    assert lua(f"return json.encode({expr})") == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0/0", "cannot encode NaN as JSON number"),
        ("1/0", "cannot encode inf as JSON number"),
        ("-1/0", "cannot encode -inf as JSON number"),
        ("{a = {b = 1/0}}", "cannot encode inf as JSON number"),
        ("print", "unsupported Lua type for JSON: function"),
        ("{f = coroutine.create(print)}", "unsupported Lua type for JSON: thread"),
        ("{[true] = 1}", "unsupported table key type: boolean"),
        ("{[{}] = 1}", "unsupported table key type: table"),
        ('"\\255"', "error converting Lua string to &str (invalid utf-8 sequence of 1 bytes from index 0)"),
        ('{k = "ab\\255"}', "error converting Lua string to &str (invalid utf-8 sequence of 1 bytes from index 2)"),
    ],
)
def test_encode_errors(lua_error: Callable[..., str], expr: str, message: str) -> None:
    assert lua_error(f"json.encode({expr})") == message


PARSE_CASES: list[tuple[str, str, Any]] = [
    ("1", "integer", 1),
    ("-5", "integer", -5),
    ("9223372036854775807", "integer", 9223372036854775807),
    ("-9223372036854775808", "integer", -9223372036854775808),
    ("9223372036854775808", "float", 9223372036854775808.0),
    ("1.0", "float", 1.0),
    ("1e2", "float", 100.0),
    ("-0", "float", -0.0),
    ('"x"', "string", "x"),
    ("true", "boolean", True),
    ("null", "nil", None),
]


@pytest.mark.parametrize(("text", "kind", "value"), PARSE_CASES)
def test_parse_scalar_types(lua: Callable[..., Any], text: str, kind: str, value: Any) -> None:
    got_kind, got = lua("local v = json.parse(...) return math.type(v) or type(v), v", text.encode())
    assert (got_kind, got) == (kind, value)


def test_parse_negative_zero_keeps_sign(lua: Callable[..., Any]) -> None:
    assert lua('return 1 / json.parse("-0")') == float("-inf")


def test_parse_object_and_array_shapes(lua: Callable[..., Any]) -> None:
    src = """
    local t = json.parse('{"a": null, "1": "one", "arr": [1, null, 3], "n": {"x": [[]]}, "a2": 1, "a2": 2}')
    return t.a == nil, t["1"], t[1] == nil, t.arr[1], t.arr[2] == nil, t.arr[3], #t.n.x, t.a2
    """
    assert lua(src) == (True, "one", True, 1, True, 3, 1, 2)


def test_parse_integers_stay_integers_in_urls(lua: Callable[..., Any]) -> None:
    assert lua('return "/tasks/" .. json.parse(\'{"task": {"id": 5}}\').task.id') == "/tasks/5"


def test_parse_accepts_numbers_as_text(lua: Callable[..., Any]) -> None:
    assert lua("return json.parse(42)") == 42


def test_parse_escapes(lua: Callable[..., Any]) -> None:
    assert lua(r"""return json.parse('"\\u00e9\\ud83d\\ude00\\n\\/\\u0000"')""") == "é😀\n/\x00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "EOF while parsing a value at line 1 column 0"),
        ("abc", "expected value at line 1 column 1"),
        ("[1] x", "trailing characters at line 1 column 5"),
        ("NaN", "expected value at line 1 column 1"),
        ("1e400", "number out of range at line 1 column 1"),
        ('"\\ud800"', "lone leading surrogate in hex escape at line 1 column 7"),
        ("[" * 129 + "]" * 129, "recursion limit exceeded at line 1 column 129"),
    ],
)
def test_parse_errors(lua_error: Callable[..., str], text: str, message: str) -> None:
    assert lua_error("json.parse(...)", text.encode()) == f"json.parse: {message}"


def test_parse_nesting_128_is_allowed(lua: Callable[..., Any]) -> None:
    text = "[" * 128 + "]" * 128
    assert lua("return json.encode(json.parse(...))", text.encode()) == text


def test_parse_rejects_nil_argument(lua_error: Callable[..., str]) -> None:
    assert lua_error("json.parse(nil)") == (
        "bad argument #1: error converting Lua nil to String (expected string or number)"
    )


def test_round_trip_normalises(lua: Callable[..., Any]) -> None:
    assert lua("""return json.encode(json.parse('{}')), json.encode(json.parse('{"a":null}')),
        json.encode(json.parse('{"b":[1,2.5,"x"],"a":{"c":true}}'))""") == (
        "[]", "[]", '{"a":{"c":true},"b":[1,2.5,"x"]}'
    )


def test_large_history_round_trips(lua: Callable[..., Any]) -> None:
    events = ",".join(f'{{"payload":{{"s":"e{i}","v":{i}.5}},"seq":{i}}}' for i in range(1, 2001))
    text = f'{{"history":[{events}]}}'
    assert lua("return json.encode(json.parse(...))", text.encode()) == text
