"""JSON text to Python values by serde_json's rules (lua-globals §3.2), with no Lua in it.

Two paths: :func:`parse_text`, exact (integers within i64 stay integers, ``-0`` stays a float,
serde's error texts), and the fast one the ``json`` global takes first: the C scanner
(:data:`fast_decoder`) followed by :func:`prepare`, which applies serde's rules (i64 range,
nesting limit, lone surrogates, out-of-range floats) while making the shape ``table_from``
takes, and raises :class:`NotSerde` when only the exact path can say what is wrong.
"""

from __future__ import annotations

import json as _json
import re
from typing import Any

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


class Constant(ValueError):
    """``NaN`` / ``Infinity`` / ``-Infinity``, which Python's json accepts and serde does not."""


def _no_constants(name: str) -> Any:
    raise Constant(name)


class _OutOfRange(ValueError):
    pass


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _OutOfRange(text)
    return value


_decoder = _json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_no_constants)
fast_decoder = _json.JSONDecoder(parse_constant=_no_constants)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NEGATIVE_ZERO = re.compile(r"-0(?![.0-9eE])")


def parse_text(text: str) -> Any:
    """Parse JSON text into Python values by serde_json's rules; ``ValueError`` with serde's wording."""
    try:
        value = _decoder.decode(text)
    except _json.JSONDecodeError as exc:
        raise ValueError(_serde_message(exc, text)) from None
    except Constant as exc:
        pos = text.find(str(exc).lstrip("-"))
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise ValueError(f"expected value at line {line} column {col}") from None
    except _OutOfRange:
        raise ValueError("number out of range at line 1 column 1") from None
    except RecursionError:
        raise ValueError("recursion limit exceeded at line 1 column 1") from None
    _check_depth(value, 0)
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(value, text)
    return value


def _check_surrogates(value: Any, text: str) -> None:
    """Reject lone surrogates (``\\ud800``), which Python's json accepts and serde_json does not."""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            stack.extend(v.keys())
            stack.extend(v.values())
        elif type(v) is list:
            stack.extend(v)
        elif type(v) is str:
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                m = _SURROGATE_ESCAPE.search(text)
                col = m.end() if m else 1
                raise ValueError(f"lone leading surrogate in hex escape at line 1 column {col}") from None


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



def has_negative_zero(text: str) -> bool:
    """Whether ``text`` may hold the number token ``-0`` (only the exact decoder keeps it apart
    from ``0``). Numbers follow ``:``, ``,``, ``[`` or start the text, so "-0" inside a string
    ("retry-0") does not send a whole history down the slow path; a string holding ", -0"
    still does: slower, never wrong."""
    for m in _NEGATIVE_ZERO.finditer(text):
        before = text[max(0, m.start() - 32) : m.start()].rstrip()
        if not before or before[-1] in ":,[":
            return True  # also when 32 blanks hide what came before: the safe answer
    return False


class NotSerde(Exception):
    """The fast path met something serde_json rejects; the exact path reports it."""


def prepare(value: Any, depth: int) -> Any:
    """A decoded JSON value in ``table_from``'s shape (UTF-8 bytes), checked by serde's rules."""
    t = type(value)
    if t is str:
        return value.encode()
    if t is dict:
        if depth >= MAX_DEPTH:
            raise NotSerde
        out = {}
        for k, v in value.items():
            tv = type(v)
            if tv is str:
                v = v.encode()
            elif tv is dict or tv is list or tv is float or (tv is int and not _I64_MIN <= v <= _I64_MAX):
                v = prepare(v, depth + 1)
            out[k.encode()] = v
        return out
    if t is list:
        if depth >= MAX_DEPTH:
            raise NotSerde
        items = []
        for v in value:
            tv = type(v)
            if tv is str:
                v = v.encode()
            elif tv is dict or tv is list or tv is float or (tv is int and not _I64_MIN <= v <= _I64_MAX):
                v = prepare(v, depth + 1)
            items.append(v)
        return items
    if t is float:
        if value in (_INF, -_INF):
            raise NotSerde
        return value
    if t is int and not _I64_MIN <= value <= _I64_MAX:
        return float(value)
    return value


_INF = float("inf")
