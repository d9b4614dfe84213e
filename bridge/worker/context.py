"""The ``ctx`` objects handed to Python workflow and activity handlers.

A Python workflow sees the same replay semantics as a Lua one, because every ctx call is
served by workflow.lua's own ctx (see :mod:`bridge.worker.trampoline`): cached results on
replay, :class:`~bridge.errors.ActivityFailedError` when an activity failed, and
cancellation raised as a signal that ``except Exception`` does not catch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.globals.json import to_lua_keeping_objects as to_lua
from bridge.globals.json import to_python_keeping_objects as to_python
from bridge.errors import ActivityFailedError, BridgeError, ChildWorkflowFailedError

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

CANCEL_SENTINEL = "__ASSAY_WORKFLOW_CANCELLED__"


class Later:
    """A Python value handed to workflow.lua unconverted, made a Lua value only if the call
    that got it yields a new command (:mod:`bridge.worker.trampoline`)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Suspend(BaseException):
    """Unwinds a Python workflow handler at a step that has no result yet (private)."""


class WorkflowCancelled(BaseException):
    """Raised from a ctx call of a workflow whose cancellation was requested.

    A ``BaseException`` so that ``except Exception`` in workflow code does not swallow it;
    let it propagate and the workflow ends CANCELLED.
    """


class WorkflowContext:
    """What a Python workflow handler receives as ``ctx``.

    Attributes:
        workflow_id: the id of the workflow being replayed.
    """

    def __init__(self, rt: LuaHost, ctx_call: Any, workflow_id: str) -> None:
        self._rt = rt
        self._call: Any = ctx_call
        self.workflow_id = workflow_id

    def _close(self) -> None:
        self._call = None  # the Lua function belongs to the handler's call

    def _step(self, method: bytes, *args: Any) -> Any:
        if self._call is None:
            raise BridgeError("this workflow ctx belongs to a replay that has ended")
        status, value = self._call(method, *args)
        if status == b"ok":
            return to_python(self._rt, value)
        if status == b"yield":
            raise _Suspend()
        if isinstance(value, BaseException):
            raise value
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if CANCEL_SENTINEL in text:
            raise WorkflowCancelled(text)
        if "' failed: " in text and "child workflow '" in text:
            raise ChildWorkflowFailedError(text)
        if "activity '" in text and "' failed: " in text:
            raise ActivityFailedError(text)
        raise BridgeError(text)

    def execute_activity(
        self,
        name: str,
        input: Any = None,
        *,
        task_queue: str | None = None,
        max_attempts: int | None = None,
        initial_interval_secs: float | None = None,
        backoff_coefficient: float | None = None,
        start_to_close_secs: float | None = None,
        heartbeat_timeout_secs: float | None = None,
    ) -> Any:
        """Run an activity (Lua or Python, on any worker of ``task_queue``) and return its result.

        Raises:
            ActivityFailedError: the activity failed after its retries.
        """
        opts = {
            "task_queue": task_queue,
            "max_attempts": max_attempts,
            "initial_interval_secs": initial_interval_secs,
            "backoff_coefficient": backoff_coefficient,
            "start_to_close_secs": start_to_close_secs,
            "heartbeat_timeout_secs": heartbeat_timeout_secs,
        }
        opts = {k: v for k, v in opts.items() if v is not None}
        # workflow.lua reads the input only when the call is new (it yields the command), not
        # when it replays a recorded result: converted then (trampoline), not at every replay
        later = None if input is None else Later(input)
        return self._step(b"execute_activity", name.encode(), later,
                          to_lua(self._rt, opts) if opts else None)

    def sleep(self, seconds: float) -> None:
        """Sleep durably: the engine keeps the timer, any worker resumes the workflow."""
        self._step(b"sleep", seconds)

    def side_effect(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` once; its value is recorded and returned from history on replays."""
        rt = self._rt

        def run() -> Any:
            return to_lua(rt, fn())

        return self._step(b"side_effect", name.encode(), rt.function(run, name, user_code=True))

    def wait_for_signal(self, name: str) -> Any:
        """Wait for the next signal called ``name``; returns its payload (or ``None``)."""
        return self._step(b"wait_for_signal", name.encode())

    def start_child_workflow(
        self,
        workflow_type: str,
        *,
        workflow_id: str,
        input: Any = None,
        task_queue: str | None = None,
    ) -> Any:
        """Start a child workflow and wait for its result. ``workflow_id`` must be deterministic.

        Raises:
            ChildWorkflowFailedError: the child failed, was cancelled or terminated.
        """
        opts: dict[str, Any] = {"workflow_id": workflow_id, "input": input}
        if task_queue is not None:
            opts["task_queue"] = task_queue
        return self._step(b"start_child_workflow", workflow_type.encode(), to_lua(self._rt, opts))


@dataclass
class ActivityInfo:
    """What is known about the activity task being run."""

    activity_id: int | None = None
    workflow_id: str | None = None
    name: str | None = None
    attempt: int | None = None
    task_queue: str | None = None


class ActivityContext:
    """What a Python activity handler receives as ``ctx``."""

    def __init__(self, rt: LuaHost, lua_ctx: Any, info: ActivityInfo) -> None:
        self._rt = rt
        self._lua_ctx: Any = lua_ctx
        self.info = info

    def _close(self) -> None:
        self._lua_ctx = None  # the Lua table belongs to the handler's call

    def heartbeat(self, details: Any = None) -> None:
        """Tell the engine this activity is alive (resets its heartbeat timeout)."""
        if self._lua_ctx is None:
            raise BridgeError("this activity ctx belongs to an attempt that has ended")
        self._rt.call(self._lua_ctx[b"heartbeat"], self._lua_ctx, to_lua(self._rt, details))
