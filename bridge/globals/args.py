"""Argument checks and errors shared by the Lua globals, with assay's exact texts.

A Python exception raised from a global reaches Lua as an error value whose ``tostring`` is
``str(exc)``; :class:`LuaCallError` carries assay's message (lua-globals §1.5, §1.6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.runtime.boundary import LuaCallError
from bridge.runtime.convert import utf8_error_text
from bridge.runtime.lua import LuaTable, lua_type

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost


__all__ = ["LuaCallError", "is_table", "lua_bytes", "optional_bool", "rust_debug_str",
           "to_number", "to_str", "type_name"]


def type_name(value: Any) -> str:
    """The Lua type name of a value as it arrived from Lua."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, bytes):
        return "string"
    kind = lua_type(value)
    if kind is None:
        return "userdata"
    return kind.decode() if isinstance(kind, bytes) else str(kind)


def to_str(rt: LuaHost, value: Any, argn: int = 1) -> str:
    """mlua's String conversion: strings (valid UTF-8) and numbers; anything else an error."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LuaCallError(
                f"bad argument #{argn}: error converting Lua string to String "
                f"({utf8_error_text(exc)})"
            ) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return rt.tostring(value)
    raise LuaCallError(
        f"bad argument #{argn}: error converting Lua {type_name(value)} to String "
        "(expected string or number)"
    )


def to_number(value: Any, argn: int = 1) -> float:
    """mlua's f64 conversion: numbers and numeric strings."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bytes):
        try:
            return float(value.decode().strip())
        except (UnicodeDecodeError, ValueError):
            pass
    raise LuaCallError(
        f"bad argument #{argn}: error converting Lua {type_name(value)} to f64 (expected number)"
    )


def is_table(value: Any) -> bool:
    """Whether a value from Lua is a table."""
    return type(value) is LuaTable


def rust_debug_str(text: str) -> str:
    """``text`` quoted and escaped the way Rust's ``{:?}`` prints a ``str``."""
    import unicodedata  # on the first call, not with the globals

    out = ['"']
    for ch in text:
        esc = _DEBUG_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif unicodedata.category(ch) in _UNPRINTABLE:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_DEBUG_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", '"': '\\"', "\0": "\\0"}
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def optional_bool(value: Any, message: str) -> bool:
    """A boolean-or-nil argument; anything else raises ``message``."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise LuaCallError(message)


def lua_bytes(rt: LuaHost, value: Any, argn: int = 1) -> bytes:
    """A string argument as raw bytes (binary-safe); numbers use Lua's ``tostring``."""
    if isinstance(value, bytes):
        return value
    return to_str(rt, value, argn).encode()
