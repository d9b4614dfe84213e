"""``disk.usage`` / ``sweep`` / ``dir_size`` (lua-globals §3.19).

``usage(path)`` is statvfs: ``{total, free, used, percent}`` in bytes, ``free`` counting all
free blocks (root-reserved ones too), ``percent`` a float (0 for a zero total). ``sweep`` and
``dir_size`` are Lua over ``fs`` and ``time``, as in assay: ``sweep(dir, age_secs)`` removes
each entry of ``fs.list(dir)`` modified more than ``age_secs`` ago (folders with their
contents) and returns how many it removed; ``dir_size(path)`` sums ``fs.stat().size`` over
the ``"file"`` entries of the recursive ``fs.readdir(path)``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, rust_debug_str, to_str
from bridge.globals.fs import io_error_text

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_DISK_LUA = r"""
local disk = ...
function disk.sweep(dir, age_secs)
    local now = time()
    local removed = 0
    for _, entry in ipairs(fs.list(dir)) do
        local path = dir .. "/" .. entry.name
        local st = fs.stat(path)
        if now - st.modified > age_secs then
            fs.remove(path)
            removed = removed + 1
        end
    end
    return removed
end

function disk.dir_size(path)
    local total = 0
    for _, entry in ipairs(fs.readdir(path)) do
        if entry.type == "file" then
            total = total + fs.stat(path .. "/" .. entry.path).size
        end
    end
    return total
end
"""


def usage(path: str) -> dict[str, Any]:
    """statvfs of ``path`` as assay reports it; ``OSError`` on failure."""
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    free = st.f_bfree * st.f_frsize
    used = total - free
    percent = used / total * 100.0 if total else 0.0
    return {"total": total, "free": free, "used": used, "percent": percent}


def install(rt: LuaHost) -> None:
    """Install the ``disk`` global."""

    def usage_(path: Any = None, *_ignored: Any) -> Any:
        p = to_str(rt, path)
        try:
            return rt.to_lua(usage(p))
        except OSError as exc:
            raise LuaCallError(f"disk.usage: failed to stat {rust_debug_str(p)}: {io_error_text(exc)}") from None

    module = rt.table({"usage": usage_}, "disk.")
    rt.compile(_DISK_LUA, "=disk")(module)
    rt.set_global("disk", module)
