"""``process.list`` / ``is_running`` / ``kill`` / ``wait_idle`` (lua-globals §3.18).

``list`` reads ``/proc`` (Linux, as assay): an array of ``{pid, name, cmdline?}`` where
``name`` is the trimmed ``/proc/<pid>/comm`` (at most 15 characters; processes with an empty
one are skipped) and ``cmdline`` has its NULs turned into spaces (absent when empty).
``is_running(name)`` compares ``comm`` exactly. ``kill(pid, signal=15)`` returns true.
``wait_idle(names, timeout=30, interval=1)`` is Lua, as in assay: it polls ``is_running``
with ``sleep(interval)`` (so it is as async as ``sleep``) until none of ``names`` runs
(true) or ``timeout`` seconds have passed (false).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_number, to_str
from bridge.globals.fs import io_error_text

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

PROC = "/proc"
DEFAULT_SIGNAL = 15

_WAIT_IDLE_LUA = r"""
local process = ...
function process.wait_idle(names, timeout, interval)
    timeout = timeout or 30
    interval = interval or 1
    if type(names) == "string" then names = { names } end
    local waited = 0
    while true do
        local busy = false
        for _, name in ipairs(names) do
            if process.is_running(name) then busy = true break end
        end
        if not busy then return true end
        if waited >= timeout then return false end
        sleep(interval)
        waited = waited + interval
    end
end
"""


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None  # the process ended while we looked


def processes() -> Iterator[dict[str, Any]]:
    """Every process ``/proc`` shows, as ``{pid, name, cmdline?}``."""
    try:
        entries = os.listdir(PROC)
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        comm = _read(f"{PROC}/{entry}/comm")
        name = comm.decode("utf-8", "replace").strip() if comm else ""
        if not name:
            continue
        info: dict[str, Any] = {"pid": int(entry), "name": name}
        raw = _read(f"{PROC}/{entry}/cmdline")
        cmdline = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip() if raw else ""
        if cmdline:
            info["cmdline"] = cmdline
        yield info


def is_running(name: str) -> bool:
    """Whether a process whose ``comm`` is exactly ``name`` exists."""
    return any(p["name"] == name for p in processes())


def install(rt: LuaHost) -> None:
    """Install the ``process`` global."""

    def list_(*_ignored: Any) -> Any:
        return rt.to_lua(list(processes()))

    def is_running_(name: Any = None, *_ignored: Any) -> bool:
        return is_running(to_str(rt, name))

    def kill(pid: Any = None, signal: Any = None, *_ignored: Any) -> bool:
        p = int(to_number(pid, 1))
        if p <= 0:
            raise LuaCallError(f"process.kill: pid must be > 0, got {p}")
        sig = DEFAULT_SIGNAL if signal is None else int(to_number(signal, 2))
        if sig < 0:
            raise LuaCallError(f"process.kill: signal must be >= 0, got {sig}")
        try:
            os.kill(p, sig)
        except OSError as exc:
            raise LuaCallError(
                f"process.kill: failed to send signal {sig} to pid {p}: {io_error_text(exc)}") from None
        except (OverflowError, ValueError):
            raise LuaCallError(f"process.kill: failed to send signal {sig} to pid {p}: "
                               "Invalid argument (os error 22)") from None
        return True

    module = rt.table({"list": list_, "is_running": is_running_, "kill": kill}, "process.")
    rt.compile(_WAIT_IDLE_LUA, "=process")(module)
    rt.set_global("process", module)
