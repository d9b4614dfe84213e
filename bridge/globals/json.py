"""``json.parse`` / ``json.encode`` with assay's rules (lua-globals §3.2, §4)."""

from __future__ import annotations

import json as _json
import re
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_str
from bridge.runtime import convert

if TYPE_CHECKING:
    from bridge.runtime.runtime import Runtime

_I64_MAX = 2**63 - 1
_I64_MIN = -(2**63)
MAX_DEPTH = 128


def _parse_int(text: str) -> int | float:
    if text == "-0":
        return -0.0
    value = int(text)
    if _I64_MIN <= value <= _I64_MAX:
        return value
    return float(value)


def _no_constants(name: str) -> Any:
    raise ValueError(f"Expecting value: {name}")


_decoder = _json.JSONDecoder(parse_int=_parse_int, parse_constant=_no_constants)


def parse_text(text: str) -> Any:
    """Parse JSON text into Python values by serde_json's rules; ``ValueError`` with serde's wording."""
    try:
        value = _decoder.decode(text)
    except _json.JSONDecodeError as exc:
        raise ValueError(_serde_message(exc, text)) from None
    except RecursionError:
        raise ValueError("recursion limit exceeded at line 1 column 1") from None
    _check_depth(value, 0)
    return value


def _check_depth(value: Any, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise ValueError(f"recursion limit exceeded at line 1 column {MAX_DEPTH + 1}")
    if type(value) is dict:
        for v in value.values():
            if type(v) is dict or type(v) is list:
                _check_depth(v, depth + 1)
    elif type(value) is list:
        for v in value:
            if type(v) is dict or type(v) is list:
                _check_depth(v, depth + 1)


def _serde_message(exc: _json.JSONDecodeError, text: str) -> str:
    line, col = exc.lineno, exc.colno
    if exc.pos >= len(text.rstrip()) and exc.msg.startswith("Expecting"):
        return f"EOF while parsing a value at line {line} column {max(col - 1, 0)}"
    if exc.msg.startswith("Extra data"):
        return f"trailing characters at line {line} column {col}"
    if exc.msg.startswith("Expecting value"):
        return f"expected value at line {line} column {col}"
    if exc.msg.startswith("Invalid control character"):
        return f"control character (\\u0000-\\u001F) found while parsing a string at line {line} column {col}"
    if exc.msg.startswith("Unterminated string"):
        return f"EOF while parsing a string at line {line} column {len(text)}"
    words = re.sub(r"^Expecting ", "expected ", exc.msg).replace(" delimiter", "")
    return f"{words.lower()} at line {line} column {col}"


def lua_value_from_json(rt: Runtime, text: str) -> Any:
    """Parse JSON text straight into a Lua value."""
    value = parse_text(text)
    try:
        return convert.to_lua(rt.lua, value)
    except UnicodeEncodeError:
        raise ValueError("lone leading surrogate in hex escape at line 1 column 1") from None


def install(rt: Runtime) -> None:
    """Install the ``json`` global."""

    def parse(s: Any = None) -> Any:
        text = to_str(rt, s)
        try:
            return lua_value_from_json(rt, text)
        except ValueError as exc:
            raise LuaCallError(f"json.parse: {exc}") from None

    def encode(v: Any = None) -> bytes:
        try:
            return convert.encode_json(v).encode()
        except convert.ConversionError as exc:
            raise LuaCallError(str(exc)) from None

    rt.set_global("json", {"parse": parse, "encode": encode})
