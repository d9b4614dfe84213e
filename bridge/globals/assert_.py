"""assay's ``assert`` table, which replaces Lua's ``assert`` function (lua-globals §3.5, §0.1).

``eq``, ``ne``, ``gt``, ``lt``, ``contains``, ``not_nil`` and ``matches`` (a *Lua pattern*,
despite assay's docs). Failures raise assay's messages with no position prefix; an optional
last argument ``msg`` is appended as `` - <msg>`` (``tostring`` of it, so an explicit nil
appends `` - nil``). Calling ``assert(cond)`` fails as in assay: ``assert`` is a table.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, rust_debug_str, type_name
from bridge.runtime.convert import rust_float_display

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_FIND = r"""
local find, pcall = string.find, pcall
return function(s, pattern)
    local ok, r = pcall(find, s, pattern)
    if not ok then return false, tostring(r) end
    return true, r ~= nil
end
"""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def values_equal(a: Any, b: Any) -> bool:
    """assay's equality: nil, booleans, integers exactly, floats within f64::EPSILON, bytes."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if type(a) is int and type(b) is int:
        return a == b
    if _is_number(a) and _is_number(b):
        return abs(float(a) - float(b)) < sys.float_info.epsilon
    if isinstance(a, bytes) and isinstance(b, bytes):
        return a == b
    return False  # tables, functions, ...: never equal, not even to themselves


def value_text(v: Any) -> str:
    """How assay prints a value in eq/ne messages, before ``{:?}`` quoting."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if type(v) is int:
        return str(v)
    if type(v) is float:
        return rust_float_display(v)
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return "<invalid utf-8>"
    return f"<{type_name(v)}>"


def install(rt: LuaHost) -> None:
    """Replace the ``assert`` global with assay's table."""
    lua_find = rt.anchor(rt.compile(_FIND, "=assert.matches")())

    def suffix(extra: tuple[Any, ...]) -> str:
        if not extra:
            return ""
        msg = extra[0]
        return " - " + (msg.decode("utf-8", "replace") if isinstance(msg, bytes) else rt.tostring(msg))

    def eq(a: Any = None, b: Any = None, *extra: Any) -> None:
        if not values_equal(a, b):
            raise LuaCallError(
                f"assert.eq failed: {rust_debug_str(value_text(a))} != {rust_debug_str(value_text(b))}{suffix(extra)}"
            )

    def ne(a: Any = None, b: Any = None, *extra: Any) -> None:
        if values_equal(a, b):
            raise LuaCallError(
                f"assert.ne failed: {rust_debug_str(value_text(a))} == {rust_debug_str(value_text(b))}{suffix(extra)}"
            )

    def compare(name: str, op: str) -> Any:
        def check(a: Any = None, b: Any = None, *extra: Any) -> None:
            if not (_is_number(a) and _is_number(b)):
                raise LuaCallError(f"assert.{name}: both arguments must be numbers")
            x, y = float(a), float(b)
            ok = x > y if op == ">" else x < y
            if not ok:
                raise LuaCallError(
                    f"assert.{name} failed: {rust_float_display(x)} is not {op} {rust_float_display(y)}{suffix(extra)}"
                )

        return check

    def contains(s: Any = None, sub: Any = None, *extra: Any) -> None:
        if not isinstance(s, bytes):
            raise LuaCallError("assert.contains: first argument must be a string")
        if not isinstance(sub, bytes):
            raise LuaCallError("assert.contains: second argument must be a string")
        if sub not in s:
            raise LuaCallError(
                f"assert.contains failed: {rust_debug_str(value_text(s))} does not contain "
                f"{rust_debug_str(value_text(sub))}{suffix(extra)}"
            )

    def not_nil(v: Any = None, *extra: Any) -> None:
        if v is None:
            raise LuaCallError(f"assert.not_nil failed: value is nil{suffix(extra)}")

    def matches(s: Any = None, pattern: Any = None, *extra: Any) -> None:
        if not isinstance(s, bytes):
            raise LuaCallError("assert.matches: first argument must be a string")
        if not isinstance(pattern, bytes):
            raise LuaCallError("assert.matches: second argument must be a pattern string")
        ok, found = lua_find(s, pattern)
        if not ok:
            err = found.decode("utf-8", "replace") if isinstance(found, bytes) else str(found)
            raise LuaCallError(f"assert.matches: pattern error: {err}")
        if not found:
            raise LuaCallError(
                f"assert.matches failed: {rust_debug_str(value_text(s))} does not match pattern "
                f"{rust_debug_str(value_text(pattern))}{suffix(extra)}"
            )

    rt.set_global(
        "assert",
        {
            "eq": eq, "ne": ne, "gt": compare("gt", ">"), "lt": compare("lt", "<"),
            "contains": contains, "not_nil": not_nil, "matches": matches,
        },
    )
