"""Values across the Lua boundary: Python <-> Lua tables, and Lua -> JSON text.

The rules are assay's (lua-globals §4): a table is an array exactly when every key is an
integer >= 1 and the largest key equals the count (so an empty table is ``[]``); object keys
are sorted byte-wise; integers stay integers; floats are written like serde_json.

Strings cross as UTF-8 ``bytes`` because the runtime runs with ``encoding=None``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from bridge.runtime.lua import LuaTable, lua_type

_encode_str = json.encoder.encode_basestring
_I64_MAX = 2**63 - 1
_I64_MIN = -(2**63)


class ConversionError(Exception):
    """A value cannot cross the boundary; ``str()`` is assay's message for it."""


def prepare(value: Any) -> Any:
    """Copy a Python value into the shape ``LuaRuntime.table_from`` takes (str -> bytes).

    Fresh containers are built on every call, which also sidesteps lupa's bug with
    objects reachable twice (lupa#297).
    """
    t = type(value)
    if t is str:
        return value.encode("utf-8", "surrogatepass")
    if t is dict:
        return {
            (k.encode("utf-8", "surrogatepass") if type(k) is str else k): prepare(v)
            for k, v in value.items()
        }
    if t is list or t is tuple:
        return [prepare(v) for v in value]
    if t is int and not (_I64_MIN <= value <= _I64_MAX):
        return float(value)
    if value is None or t in (int, float, bool, bytes):
        return value
    if isinstance(value, str):
        return str(value).encode()
    if isinstance(value, (dict,)):
        return prepare(dict(value))
    if isinstance(value, (list, tuple)):
        return [prepare(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return prepare(int(value))
    if isinstance(value, float):
        return float(value)
    raise ConversionError(f"cannot pass a Python {type(value).__name__} to Lua")


def to_lua(lua: Any, value: Any) -> Any:
    """Convert a plain Python value (dict/list/str/int/float/bool/None/bytes) to a Lua value."""
    p = prepare(value)
    if type(p) is dict or type(p) is list:
        return lua.table_from(p, recursive=True)
    return p


def to_python(value: Any, *, empty_object: Callable[[Any], bool] | None = None,
              _depth: int = 0) -> Any:
    """Convert a Lua value to plain Python: tables become lists (array rule) or dicts.

    Lua strings become ``str`` (invalid UTF-8 replaced); object keys become ``str``. An empty
    table is ``[]``, or ``{}`` where ``empty_object(table)`` says so.
    """
    if type(value) is bytes:
        return value.decode("utf-8", "replace")
    if type(value) is LuaTable:
        if _depth > 200:
            raise ConversionError("table nesting too deep (cycle?)")
        items = list(value.items())
        if not items and empty_object is not None and empty_object(value):
            return {}
        if _is_array(items):
            out: list[Any] = [None] * len(items)
            for k, v in items:
                out[k - 1] = to_python(v, empty_object=empty_object, _depth=_depth + 1)
            return out
        return {_key_text(k): to_python(v, empty_object=empty_object, _depth=_depth + 1)
                for k, v in items}
    if value is None or type(value) in (int, float, bool):
        return value
    kind = lua_type(value)
    if kind is not None:
        raise ConversionError(f"unsupported Lua type for JSON: {kind}")
    return value  # a Python object travelling through Lua unchanged


def _is_array(items: list[tuple[Any, Any]]) -> bool:
    n = len(items)
    for k, _ in items:
        if type(k) is not int or k < 1 or k > n:
            return False
    return True  # n distinct keys all within 1..n means max == n


def _key_text(k: Any) -> str:
    t = type(k)
    if t is bytes:
        return _utf8(k)
    if t is int:
        return str(k)
    if t is float:
        return rust_float_display(k)
    raise ConversionError(f"unsupported table key type: {_lua_type_name(k)}")


def _lua_type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if v is None:
        return "nil"
    if type(v).__name__ == "_LuaCoroutineFunction":  # lupa's wrapper for a Lua thread
        return "thread"
    kind = lua_type(v)
    return kind.decode() if isinstance(kind, bytes) else str(kind or "userdata")


def format_float(x: float) -> str:
    """Write a float the way serde_json does (shortest digits; plain in 1e-5 <= |x| < 1e16)."""
    if math.isnan(x):
        raise ConversionError("cannot encode NaN as JSON number")
    if math.isinf(x):
        raise ConversionError("cannot encode inf as JSON number" if x > 0 else "cannot encode -inf as JSON number")
    r = repr(x)
    if "e" not in r and "inf" not in r:
        return r
    mant, _, exp_s = r.partition("e")
    exp = int(exp_s)
    if -5 <= exp < 16:
        digits = mant.replace("-", "").replace(".", "")
        sign = "-" if x < 0 else ""
        point = (len(mant.replace("-", "").split(".")[0])) + exp
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits.rstrip('0') or '0'}"
        digits = digits.ljust(point, "0")
        frac = digits[point:].rstrip("0") or "0"
        return f"{sign}{digits[:point]}.{frac}"
    return f"{mant}e{'+' if exp > 0 else '-'}{abs(exp)}"


def rust_float_display(x: float) -> str:
    """Rust's ``Display`` of an f64: shortest digits, never an exponent (``5.0`` -> ``5``)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    r = repr(x)
    if "e" in r:
        from decimal import Decimal  # only for exponents, not with the runtime

        r = format(Decimal(r), "f")
    if r.endswith(".0"):
        r = r[:-2]
    return r


def to_json_value(value: Any) -> Any:
    """A Lua value as the plain Python value assay's JSON model gives it (lua-globals §4).

    Tables follow the array rule (an empty table is ``[]``), strings must be UTF-8, floats
    must be finite; the result feeds yaml/toml encoders. Raises :class:`ConversionError`
    with assay's messages.
    """
    return _json_value(value, 0)


def _json_value(v: Any, depth: int) -> Any:
    t = type(v)
    if t is bytes:
        return _utf8(v)
    if v is None or t is bool or t is int:
        return v
    if t is float:
        if math.isnan(v) or math.isinf(v):
            format_float(v)  # raises assay's message
        return v
    if t is LuaTable:
        if depth > 500:
            raise ConversionError("recursion limit exceeded while encoding JSON (cyclic table?)")
        items = list(v.items())
        if _is_array(items):
            items.sort(key=_first)
            return [_json_value(item, depth + 1) for _, item in items]
        keyed = sorted(((_key_text(k), item) for k, item in items), key=_first)
        return {k: _json_value(item, depth + 1) for k, item in keyed}
    if t is str:
        return v
    raise ConversionError(f"unsupported Lua type for JSON: {_lua_type_name(v)}")


def _utf8(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConversionError(f"error converting Lua string to &str ({utf8_error_text(exc)})") from None


def utf8_error_text(exc: UnicodeDecodeError) -> str:
    """Rust's ``Utf8Error`` Display for the same failure."""
    if exc.reason == "unexpected end of data":
        return f"incomplete utf-8 byte sequence from index {exc.start}"
    return f"invalid utf-8 sequence of {exc.end - exc.start} bytes from index {exc.start}"


def encode_json(value: Any) -> str:
    """Encode a Lua value as compact JSON text by assay's rules (lua-globals §4)."""
    parts: list[str] = []
    _encode(value, parts, 0)
    return "".join(parts)


def _encode(v: Any, out: list[str], depth: int) -> None:
    t = type(v)
    if t is bytes:
        out.append(_encode_str(_utf8(v)))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif t is int:
        out.append(str(v))
    elif t is float:
        out.append(format_float(v))
    elif t is LuaTable:
        if depth > 500:
            raise ConversionError("recursion limit exceeded while encoding JSON (cyclic table?)")
        items = list(v.items())
        if _is_array(items):
            items.sort(key=_first)
            out.append("[")
            for i, (_, item) in enumerate(items):
                if i:
                    out.append(",")
                _encode(item, out, depth + 1)
            out.append("]")
        else:
            keyed = sorted(((_key_text(k), item) for k, item in items), key=_first)
            out.append("{")
            for i, (k, item) in enumerate(keyed):
                if i:
                    out.append(",")
                out.append(_encode_str(k))
                out.append(":")
                _encode(item, out, depth + 1)
            out.append("}")
    elif t is str:  # a Python str that travelled through Lua as a Python object
        out.append(_encode_str(v))
    else:
        raise ConversionError(f"unsupported Lua type for JSON: {_lua_type_name(v)}")


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]
