"""``time()``: float seconds since the Unix epoch (lua-globals §3.8)."""

from __future__ import annotations

import time as _time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost


def install(rt: LuaHost) -> None:
    """Install the ``time`` global."""

    def now(*_ignored: Any) -> float:
        return _time.time()

    rt.set_global("time", now)
