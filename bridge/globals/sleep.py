"""``sleep(seconds)``: waits float seconds (lua-globals §3.8), async in assay's sense.

Inside an ``async.spawn`` task only that task waits; anywhere else the caller blocks while
ready tasks run (:mod:`bridge.runtime.scheduler`). assay aborts the whole process on a
negative, NaN or infinite argument; here that is a Lua error instead. Outside an activity a
sleep ends early when the runtime is asked to stop (``rt.control.stop``), so a worker idling
between polls stops at once; inside one it runs its full length, so the task in hand finishes
as written.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_number
from bridge.runtime.scheduler import Outcome, Sleep

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost


def install(rt: LuaHost) -> None:
    """Install the ``sleep`` global."""
    control = rt.control

    def begin(seconds: Any = None, *_ignored: Any) -> Sleep:
        s = to_number(seconds)
        if math.isnan(s) or math.isinf(s) or s < 0:
            raise LuaCallError("sleep: seconds must be a non-negative finite number")
        return Sleep(s, None if control.in_task else control.stop)

    def finish(outcome: Outcome) -> None:
        outcome.unwrap()

    rt.set_global("sleep", rt.scheduler.async_function("sleep", begin, finish))
