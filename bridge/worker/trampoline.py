"""Python workflow and activity handlers inside the unchanged workflow.lua: the trampoline.

Python handlers are registered with the module's own ``workflow.define`` /
``workflow.activity``, so the unchanged ``workflow.listen`` serves Lua and Python handlers
alike. workflow.lua runs a workflow handler in a coroutine and its ctx methods
``coroutine.yield`` a command. A yield cannot cross the Python frame of a Python handler
("attempt to yield across a C-call boundary", lupa-notes §1.5), so:

* every ctx call the Python handler makes runs the real Lua ctx method in a *nested*
  coroutine (:data:`WORKFLOW_WRAPPER`). If it returns (a replayed result), the value goes back
  to Python. If it yields a command, the command is stashed and Python unwinds with a private
  ``BaseException``;
* once the Python handler has returned, the Lua wrapper performs the real
  ``coroutine.yield(stash)`` from Lua, exactly where a Lua handler would have yielded.

The stash is checked before anything else, so a handler that swallows the unwinding signal
still suspends correctly. The ``ctx`` a handler got is closed when the handler returns: the
Lua objects behind it belong to that call (:mod:`bridge.runtime.boundary`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.globals.json import to_lua_keeping_objects as to_lua
from bridge.globals.json import to_python_keeping_objects as to_python
from bridge.errors import ActivityFailedError, ChildWorkflowFailedError
from bridge.worker.context import (
    ActivityContext,
    ActivityInfo,
    Later,
    WorkflowCancelled,
    WorkflowContext,
    _Suspend,
)

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

logger = logging.getLogger(__name__)

WORKFLOW_WRAPPER = r"""
local py_handler, materialize = ...
return function(ctx, input)
    local stash = nil
    local function ctx_call(method, a, b, c)
        local co = coroutine.create(function() return ctx[method](ctx, a, b, c) end)
        local ok, value = coroutine.resume(co)
        if not ok then return "error", value end
        if coroutine.status(co) == "dead" then return "ok", value end
        -- a new command: its input, still the Python value (a replay never reads it), is
        -- converted now
        if type(value) == "table" and type(value.input) == "userdata" then
            value.input = materialize(value.input)
        end
        stash = value
        return "yield", nil
    end
    local status, value = py_handler(ctx_call, input, ctx.workflow_id)
    if stash ~= nil then
        coroutine.yield(stash)
        error("workflow ctx: yielded but resumed unexpectedly")
    end
    if status == "error" then error(value, 0) end
    return value
end
"""

ACTIVITY_WRAPPER = r"""
local py_handler = ...
return function(ctx, input)
    local status, value = py_handler(ctx, input)
    if status == "error" then error(value, 0) end
    return value
end
"""

WorkflowHandler = Callable[[WorkflowContext, Any], Any]
ActivityHandler = Callable[[ActivityContext, Any], Any]


def describe_exception(exc: BaseException) -> str:
    """``"<Type>: <message>"``, the text reported for a failed Python handler."""
    return f"{type(exc).__name__}: {exc}"


class PythonHandlers:
    """Turns Python callables into Lua functions that workflow.lua can register."""

    def __init__(self, rt: LuaHost) -> None:
        self._rt = rt
        self._wrap_workflow = rt.anchor(rt.compile(WORKFLOW_WRAPPER, "=bridge.trampoline"))
        self._wrap_activity = rt.anchor(rt.compile(ACTIVITY_WRAPPER, "=bridge.activity"))
        self.current_activity = ActivityInfo()
        def materialize(later: Any) -> Any:
            return to_lua(rt, later.value) if isinstance(later, Later) else later

        self._materialize = rt.function(materialize, "workflow.input")

    def note_activity_task(self, task: Any) -> None:
        """Remember the activity task about to run (called from Lua before each one)."""
        self.current_activity = ActivityInfo(
            activity_id=task[b"id"],
            workflow_id=_text(task[b"workflow_id"]),
            name=_text(task[b"name"]),
            attempt=task[b"attempt"],
            task_queue=_text(task[b"task_queue"]),
        )

    def workflow(self, fn: WorkflowHandler) -> Any:
        """A Lua workflow handler that runs ``fn(ctx, input)`` with replay semantics."""
        rt = self._rt

        def run(ctx_call: Any, input: Any, workflow_id: Any) -> tuple[bytes, Any]:
            ctx = WorkflowContext(rt, ctx_call, _text(workflow_id) or "")
            try:
                result = fn(ctx, to_python(rt, input))
                return b"ok", to_lua(rt, result)
            except _Suspend:
                return b"yield", None
            except WorkflowCancelled as exc:
                return b"error", str(exc).encode()
            except (ActivityFailedError, ChildWorkflowFailedError) as exc:
                # the same text a Lua workflow would fail with
                return b"error", str(exc).encode()
            except Exception as exc:  # noqa: BLE001 - reported to the engine as FailWorkflow
                logger.debug("workflow handler raised: %s", describe_exception(exc))
                return b"error", describe_exception(exc).encode()
            finally:
                ctx._close()

        return self._wrap_workflow(rt.function(run, "workflow handler", user_code=True),
                                   self._materialize)

    def activity(self, fn: ActivityHandler) -> Any:
        """A Lua activity handler that runs ``fn(ctx, input)`` and reports its result."""
        rt = self._rt

        def run(lua_ctx: Any, input: Any) -> tuple[bytes, Any]:
            ctx = ActivityContext(rt, lua_ctx, self.current_activity)
            try:
                return b"ok", to_lua(rt, fn(ctx, to_python(rt, input)))
            except Exception as exc:  # noqa: BLE001 - reported to the engine as a failed attempt
                logger.info("activity %s failed: %s", ctx.info.name, describe_exception(exc))
                return b"error", describe_exception(exc).encode()
            finally:
                ctx._close()

        return self._wrap_activity(rt.function(run, "activity handler", user_code=True))


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return None if v is None else str(v)
