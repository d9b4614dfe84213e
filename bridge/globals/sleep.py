"""``sleep(seconds)``: blocks the calling runtime for float seconds (lua-globals §3.8).

assay aborts the whole process on a negative, NaN or infinite argument; here that is a Lua
error instead. Outside an activity a sleep ends early when the runtime is asked to stop
(``rt.stop_event``), so a worker idling between polls stops at once; inside one it runs its full
length, so the task in hand finishes as written.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_number

if TYPE_CHECKING:
    from bridge.runtime.runtime import Runtime


def install(rt: Runtime) -> None:
    """Install the ``sleep`` global."""

    def sleep(seconds: Any = None, *_ignored: Any) -> None:
        s = to_number(seconds)
        if math.isnan(s) or math.isinf(s) or s < 0:
            raise LuaCallError("sleep: seconds must be a non-negative finite number")
        if rt.in_task:
            time.sleep(s)
        else:
            rt.stop_event.wait(s)

    rt.set_global("sleep", sleep)
