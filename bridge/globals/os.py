"""assay's ``os`` table, which replaces Lua's (lua-globals §3.8).

Only ``hostname``, ``arch``, ``platform``, ``time`` (integer, arguments ignored), ``clock``
(wall seconds since the runtime was made) and ``date`` (UTC formatter). Lua's own library
stays reachable as ``package.loaded.os``.
"""

from __future__ import annotations

import os as _os
import sys
import time
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64", "i386": "x86", "i686": "x86"}
_PLATFORM = {"darwin": "macos", "win32": "windows", "linux": "linux"}


def rust_arch() -> str:
    """Python's machine name mapped to Rust's ``std::env::consts::ARCH``."""
    if sys.platform != "win32":  # what platform.machine() reads, without importing it
        m = _os.uname().machine.lower()
    else:  # pragma: no cover - Windows
        import platform

        m = platform.machine().lower()
    return _ARCH.get(m, m)


def rust_os() -> str:
    """``sys.platform`` mapped to Rust's ``std::env::consts::OS``."""
    p = sys.platform
    if p.startswith("linux"):
        return "linux"
    if p.startswith("freebsd"):
        return "freebsd"
    return _PLATFORM.get(p, p)


def format_date(fmt: str, when: float, offset_hours: float) -> Any:
    """assay's ``os.date`` text substitution (or the ``*t`` table as a dict)."""
    from datetime import datetime, timedelta, timezone  # on the first call

    if fmt.startswith("!"):
        fmt, offset_hours = fmt[1:], 0
    dt = datetime.fromtimestamp(int(when), timezone.utc) + timedelta(hours=offset_hours)
    if fmt == "*t":
        return {"year": dt.year, "month": dt.month, "day": dt.day, "hour": dt.hour, "min": dt.minute, "sec": dt.second}
    out = fmt.replace("%Y", f"{dt.year:04d}").replace("%m", f"{dt.month:02d}").replace("%d", f"{dt.day:02d}")
    out = out.replace("%H", f"{dt.hour:02d}").replace("%M", f"{dt.minute:02d}").replace("%S", f"{dt.second:02d}")
    return out.replace("%c", dt.strftime("%Y-%m-%d %H:%M:%S"))


def install(rt: LuaHost) -> None:
    """Replace the ``os`` global with assay's table."""

    def hostname(*_ignored: Any) -> bytes:
        import socket  # on the first call, not when the global is installed

        try:
            return socket.gethostname().encode()
        except OSError as exc:
            raise LuaCallError(f"os.hostname: {exc}") from None

    def os_time(*_ignored: Any) -> int:
        return int(time.time())

    def clock(*_ignored: Any) -> float:
        return time.monotonic() - rt.created_at

    def date(fmt: Any = None, when: Any = None, tz: Any = None, *_ignored: Any) -> Any:
        if fmt is None:
            fmt_s = "%c"
        elif isinstance(fmt, bytes):
            fmt_s = fmt.decode("utf-8", "replace")
        else:
            raise LuaCallError("os.date: format must be a string")
        if when is None:
            t = time.time()
        elif isinstance(when, (int, float)) and not isinstance(when, bool):
            t = float(when)
        else:
            raise LuaCallError("os.date: time must be a number")
        if tz is None:
            off = 0.0
        elif isinstance(tz, (int, float)) and not isinstance(tz, bool):
            off = float(tz)
        else:
            raise LuaCallError("os.date: tz_offset must be a number (hours from UTC)")
        result = format_date(fmt_s, t, off)
        return rt.to_lua(result) if isinstance(result, dict) else result.encode()

    rt.set_global(
        "os",
        {
            "hostname": hostname,
            "arch": lambda *_: rust_arch().encode(),
            "platform": lambda *_: rust_os().encode(),
            "time": os_time,
            "clock": clock,
            "date": date,
        },
    )
