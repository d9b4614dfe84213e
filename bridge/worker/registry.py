"""Adapters that register Python handlers with workflow.lua, beside the Lua ones."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.errors import ActivityFailedError, ChildWorkflowFailedError
from bridge.runtime import trampoline
from bridge.worker.context import (
    ActivityContext,
    ActivityInfo,
    WorkflowCancelled,
    WorkflowContext,
    _Suspend,
)

if TYPE_CHECKING:
    from bridge.runtime.runtime import Runtime

logger = logging.getLogger(__name__)

WorkflowHandler = Callable[[WorkflowContext, Any], Any]
ActivityHandler = Callable[[ActivityContext, Any], Any]


def describe_exception(exc: BaseException) -> str:
    """``"<Type>: <message>"``, the text reported for a failed Python handler."""
    return f"{type(exc).__name__}: {exc}"


class PythonHandlers:
    """Turns Python callables into Lua functions that workflow.lua can register."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._wrap_workflow = rt.compile(trampoline.WORKFLOW_WRAPPER, "=bridge.trampoline")
        self._wrap_activity = rt.compile(trampoline.ACTIVITY_WRAPPER, "=bridge.activity")
        self.current_activity = ActivityInfo()

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
                result = fn(ctx, rt.to_python(input))
            except _Suspend:
                return b"yield", None
            except WorkflowCancelled as exc:
                return b"error", str(exc).encode()
            except (ActivityFailedError, ChildWorkflowFailedError) as exc:
                # the same text a Lua workflow would fail with
                return b"error", str(exc).encode()
            except Exception as exc:  # noqa: BLE001 - reported to the engine as FailWorkflow
                logger.debug("workflow handler raised", exc_info=True)
                return b"error", describe_exception(exc).encode()
            return b"ok", rt.to_lua(result)

        return self._wrap_workflow(rt.function(run))

    def activity(self, fn: ActivityHandler) -> Any:
        """A Lua activity handler that runs ``fn(ctx, input)`` and reports its result."""
        rt = self._rt

        def run(lua_ctx: Any, input: Any) -> tuple[bytes, Any]:
            ctx = ActivityContext(rt, lua_ctx, self.current_activity)
            try:
                result = fn(ctx, rt.to_python(input))
            except Exception as exc:  # noqa: BLE001 - reported to the engine as a failed attempt
                logger.info("activity %s failed: %s", ctx.info.name, describe_exception(exc))
                return b"error", describe_exception(exc).encode()
            return b"ok", rt.to_lua(result)

        return self._wrap_activity(rt.function(run))


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return None if v is None else str(v)
