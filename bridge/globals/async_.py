"""``async.spawn`` / ``async.spawn_interval`` (lua-globals §1.4, §3.13).

A spawned function becomes a task of the runtime's scheduler (:mod:`bridge.runtime.scheduler`):
it starts when its creator next waits (``sleep``, ``http.*``, an ``await``), and inside it
``sleep`` and ``http.*`` suspend only that task. ``handle:await()`` (or ``handle.await()``)
returns the array of the task's results, raises ``runtime error: <the task's error>`` if it
failed, and ``async handle already awaited`` the second time. Tasks never awaited end with the
script (``Runtime.close``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_number, type_name
from bridge.globals.log import emit
from bridge.runtime.lua import lua_type
from bridge.runtime.scheduler import Outcome, Sleep, TaskDone

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_ASYNC_LUA = r"""
local spawn, await, cancel, check_interval, pause, failed = ...
local pcall = pcall
local A = {}

function A.spawn(fn)
    local id = spawn(fn)
    return { await = function() return await(id) end }
end

function A.spawn_interval(seconds, fn)
    seconds = check_interval(seconds, fn)
    local cancelled = false
    local id = spawn(function()
        while true do
            pause(seconds)
            if cancelled then return end
            local ok, err = pcall(fn)
            if not ok then failed(err) return end
            if cancelled then return end
        end
    end)
    return { cancel = function() cancelled = true cancel(id) end }
end
return A
"""


def install(rt: LuaHost) -> None:
    """Install the ``async`` global."""
    scheduler = rt.scheduler
    awaited: set[int] = set()

    def spawn(fn: Any = None, *_ignored: Any) -> int:
        if lua_type(fn) != "function":
            raise LuaCallError(f"bad argument #1: error converting Lua {type_name(fn)} to function")
        return scheduler.spawn(fn)

    def begin_await(task_id: int, *_ignored: Any) -> TaskDone:
        if task_id in awaited:
            raise LuaCallError("async handle already awaited")
        awaited.add(task_id)
        return TaskDone(task_id)

    def finish_await(outcome: Outcome) -> Any:
        task_id = outcome.unwrap()
        record = scheduler.take_result(task_id)
        if record is None:
            raise LuaCallError("async: the task was cancelled")
        if record[b"ok"]:
            return record[b"values"]
        raise LuaCallError(f"runtime error: {error_text(rt, record[b'err'])}")

    def cancel(task_id: int, *_ignored: Any) -> None:
        scheduler.cancel(task_id)

    def check_interval(seconds: Any = None, fn: Any = None, *_ignored: Any) -> float:
        s = to_number(seconds)
        if lua_type(fn) != "function":
            raise LuaCallError(f"bad argument #2: error converting Lua {type_name(fn)} to function")
        if not s > 0 or math.isinf(s):
            raise LuaCallError("async.spawn_interval: interval must be positive")
        return s

    def begin_pause(seconds: float, *_ignored: Any) -> Sleep:
        return Sleep(seconds)

    def finish_pause(outcome: Outcome) -> None:
        outcome.unwrap()

    def failed(err: Any = None, *_ignored: Any) -> None:
        emit(rt, "ERROR", f"async.spawn_interval: callback error: runtime error: {error_text(rt, err)}")

    module = rt.compile(_ASYNC_LUA, "=async")(
        rt.function(spawn, "async.spawn"),
        scheduler.async_function("await", begin_await, finish_await),
        rt.function(cancel, "cancel"),
        rt.function(check_interval, "async.spawn_interval"),
        scheduler.async_function("async.spawn_interval", begin_pause, finish_pause),
        rt.function(failed, "async.spawn_interval"),
    )
    rt.set_global("async", module)


def error_text(rt: LuaHost, err: Any) -> str:
    """The text of a Lua error value (a string, a global's error, anything ``tostring`` takes)."""
    if isinstance(err, bytes):
        return err.decode("utf-8", "replace")
    if isinstance(err, BaseException):
        return str(err)
    return rt.tostring(err)
