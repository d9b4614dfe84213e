"""``env.get/set/list`` over the process environment (lua-globals §3.7)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_str, type_name

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost


def install(rt: LuaHost) -> None:
    """Install the ``env`` global."""

    def get(name: Any = None, *_ignored: Any) -> bytes | None:
        key = to_str(rt, name)
        if key in rt.options.env_overrides:
            return rt.options.env_overrides[key].encode()
        value = os.environ.get(key)
        return None if value is None else value.encode("utf-8", "surrogateescape")

    def set_(name: Any = None, value: Any = None, *_ignored: Any) -> None:
        key = to_str(rt, name)
        if value is None:
            os.environ.pop(key, None)
            return
        if isinstance(value, bool):
            raise LuaCallError(f"bad argument #2: error converting Lua {type_name(value)} to String (expected string or number)")
        os.environ[key] = to_str(rt, value, 2)

    def list_(*_ignored: Any) -> Any:
        return rt.to_lua([{"key": k, "value": v} for k, v in os.environ.items()])

    rt.set_global("env", {"get": get, "set": set_, "list": list_})
