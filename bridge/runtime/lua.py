"""The one place that imports lupa: building a sandboxed Lua 5.5 state and translating its errors.

Everything else in the package talks to Lua through :class:`bridge.runtime.runtime.Runtime`.
lupa's exception classes are per module (``lupa.lua55.LuaError`` is not ``lupa.lua54.LuaError``),
so they are only ever caught here.
"""

from __future__ import annotations

import re
from typing import Any

import lupa.lua55 as _lupa

LuaError = _lupa.LuaError
LuaMemoryError = _lupa.LuaMemoryError
LuaSyntaxError = _lupa.LuaSyntaxError

def _probe_types() -> tuple[type, type]:
    probe = _lupa.LuaRuntime(register_eval=False, register_builtins=False)
    return type(probe.eval("{}")), type(probe.eval("print"))


LuaTable: Any
LuaFunction: Any
LuaTable, LuaFunction = _probe_types()
lua_type = _lupa.lua_type
LUA_MAXINTEGER: int = _lupa.LUA_MAXINTEGER
LUA_MININTEGER: int = _lupa.LUA_MININTEGER

# compiled on the first error message (re caches it), not when the runtime is imported
_POSITION = r"^(?P<chunk>[^\n:]+):(?P<line>\d+): "


def _deny_attribute(obj: Any, name: Any, is_setting: bool) -> Any:
    """lupa's ``attribute_filter``: Lua code never reads or writes Python attributes.

    Python objects do reach Lua (callables of the globals, exceptions caught by ``pcall``);
    without this filter ``err.__class__.__mro__`` walks to ``object.__subclasses__()`` and from
    there to ``os.system`` (docs/security.md).
    """
    raise AttributeError("Lua code cannot access attributes of Python objects")


def new_state(*, max_memory: int | None) -> Any:
    """A fresh Lua 5.5 state with lupa's ``python`` bridge not registered.

    Strings cross as ``bytes`` (``encoding=None``) so binary data survives. Attribute access
    on Python objects from Lua is refused (:func:`_deny_attribute`).
    """
    return _lupa.LuaRuntime(
        encoding=None,
        source_encoding="utf-8",
        unpack_returned_tuples=True,
        register_eval=False,
        register_builtins=False,
        max_memory=max_memory,
        attribute_filter=_deny_attribute,
    )


def split_position(message: str) -> tuple[str | None, int | None]:
    """Return the ``chunk`` and ``line`` of a Lua error message like ``a.lua:3: boom``."""
    m = re.match(_POSITION, message)
    if not m:
        return None, None
    return m.group("chunk"), int(m.group("line"))
