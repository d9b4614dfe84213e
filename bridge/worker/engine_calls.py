"""Hooks on workflow.lua's module table that make a worker resilient and stoppable.

Every engine call of the unchanged client goes through ``M._api``. The bridge wraps it:

* a transport failure (engine restarting, network blip) or a 502/503/504 answer (database
  full, busy or down) is retried with bounded exponential backoff instead of killing the worker
  or dropping the call (compat-policy); a finished activity's result or a workflow task's
  commands are delivered once the engine is back;
* a ``/workers/heartbeat`` within :data:`HEARTBEAT_LOCAL_S` of the last one the engine took
  is answered here as the engine answers it (200, empty): the engine writes at most one beat a
  second per worker anyway, and workflow.lua ignores the answer, so nothing the engine records
  changes while a busy poll loop makes a third fewer calls;
* when a stop was requested, the next ``/workers/heartbeat`` (the top of the poll loop,
  outside any task) raises :class:`WorkerStopped`, so the task in hand finishes and is
  reported first.

User calls of ``http.*`` to other hosts are untouched and keep assay's behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.globals import emit
from bridge.globals.http import HttpTransportError

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost
    from bridge.wire import InProcessEngine
    from bridge.worker.transport import EngineTransport


INITIAL_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0
# How long a call that delivers finished work keeps retrying after a stop was requested.
STOP_GRACE_S = 10.0
#: How long a worker waits for a first engine by default: as long as it rides out a restart.
WAIT_FOREVER = None
# Answers that mean "not now" (engine-api: 503 with Retry-After when the database is busy, full
# or down; 502/504 from a proxy in front): retried like a transport failure. workflow.lua ignores
# the status of /complete, /fail and /commands, so without this a finished activity's result
# refused with 503 would be dropped and the activity run again after its timeout.
RETRY_STATUSES = frozenset({502, 503, 504})


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _log_failure(rt: LuaHost, path: bytes, body: Any) -> None:
    """Log a failure the worker is about to report (an activity's /fail, a FailWorkflow
    command). ``body`` is the call's own Lua table, read during the call."""
    try:
        if path.endswith(b"/fail") and path.startswith(b"/tasks/"):
            emit(rt, "WARN", f"worker: activity {_text(path.split(b'/')[2])} failed: "
                             f"{_text(body[b'error'])}")
        elif path.endswith(b"/commands"):
            workflow_id = _text(path.split(b"/")[2])
            for cmd in (body[b"commands"] or {}).values():
                if cmd[b"type"] == b"FailWorkflow":
                    emit(rt, "WARN", f"worker: workflow {workflow_id} failed: "
                                     f"{_text(cmd[b'error'])}")
    except (TypeError, KeyError, AttributeError, IndexError):
        pass  # an unexpected shape is the engine's to reject, not the log's


def _worth_logging(attempt: int) -> bool:
    """Retry lines for attempts 1-5, then every 30th (about once a minute at the 2 s cap)."""
    return attempt <= 5 or attempt % 30 == 0


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


#: A heartbeat this soon after the last one the engine took is answered by the worker itself.
HEARTBEAT_LOCAL_S = 1.0
_HEARTBEAT = b"/workers/heartbeat"


class WorkerStopped(BaseException):
    """Raised at the top of the poll loop once a stop was requested (private control flow)."""


class EngineNeverAnswered(BaseException):
    """Raised when no engine answered within the worker's ``wait_engine`` (private control
    flow: it passes through workflow.lua as itself; the worker logged why)."""


_ACTIVITY_HOOK = r"""
local M, note = ...
local execute = M._execute_activity
M._execute_activity = function(task)
    note(task)
    return execute(task)
end
"""

_DELIVERS_RESULT = (b"/complete", b"/fail", b"/commands")
_REPORTS_ACTIVITY = (b"/complete", b"/fail")


def install_engine_hooks(
    rt: LuaHost,
    *,
    on_activity_task: Callable[[Any], None] | None = None,
    on_registered: Callable[[], None] | None = None,
    engine: InProcessEngine | None = None,
    engine_url: str | None = None,
    wait_engine: float | None = WAIT_FOREVER,
) -> None:
    """Arrange for ``require("assay.workflow")`` in ``rt`` to return the hooked module.

    Once ``rt.control.stop`` is set, the poll loop ends at its next turn (:class:`WorkerStopped`).

    Args:
        on_activity_task: called with each activity task table before it runs.
        on_registered: called once the worker's ``/workers/register`` call succeeded.
        engine: an engine in this process; calls to ``engine_url`` are answered by it
            (:mod:`bridge.worker.inprocess_transport`) instead of over a socket.
        engine_url: the base URL workflow.lua is given for ``engine``.
        wait_engine: until an engine has answered once, how many seconds to keep trying before
            :class:`EngineNeverAnswered` (None: for ever, as after a restart).
    """

    control = rt.control
    stop_event = control.stop
    activity_hook = rt.anchor(rt.compile(_ACTIVITY_HOOK, "=bridge.activity_hook"))

    def hook(module: Any) -> None:
        # made when workflow.lua is first required: a script that never becomes a worker
        # does not import the engine transport and its sockets (W7 cold start)
        transport = _transport(rt, engine, engine_url)
        original_api = rt.anchor(module[b"_api"])
        connected = {"ok": False}
        beat = {"at": float("-inf")}  # when the engine last took a heartbeat (monotonic)

        def api(method: Any, path: Any, body: Any = None) -> Any:
            if path == _HEARTBEAT:
                if stop_event.is_set():
                    raise WorkerStopped()
                if time.monotonic() - beat["at"] < HEARTBEAT_LOCAL_S:
                    return rt.to_lua({"status": 200, "body": b"", "headers": {}})
            if path.endswith(_REPORTS_ACTIVITY):
                control.in_task = False  # workflow.lua reports right after the activity returned
            _log_failure(rt, path, body)
            delay = INITIAL_BACKOFF_S
            attempt = 0
            started = time.monotonic()
            stop_seen_at: float | None = None
            while True:
                failure: HttpTransportError | None = None
                try:
                    resp = transport.api_call(rt, method, path, body)
                    if resp is None:
                        with transport.engine_call():
                            resp = rt.call(original_api.get(), method, path, body,
                                           reraise=(HttpTransportError,))
                except HttpTransportError as exc:
                    failure, reason = exc, f"engine unreachable ({exc})"
                else:
                    status = resp[b"status"]
                    if status not in RETRY_STATUSES:
                        connected["ok"] = True
                        if path == _HEARTBEAT and status == 200:
                            beat["at"] = time.monotonic()
                        if attempt >= 1:
                            emit(rt, "INFO", f"worker: engine answered {_text(method)} "
                                             f"{path.decode()} after {attempt + 1} attempts")
                        if on_registered is not None and path == b"/workers/register" \
                                and status == 200:
                            on_registered()
                        return resp
                    reason = f"engine answered {status}"
                now = time.monotonic()
                if not connected["ok"] and wait_engine is not None:
                    delay = min(delay, wait_engine - (now - started))
                if delay <= 0:
                    text = (f"no engine answered within {_seconds(wait_engine or 0.0)} "
                            f"({attempt + 1} attempts; last: {reason}); giving up. Is it "
                            f"running at that address? (--wait-engine sets how long to wait)")
                    emit(rt, "ERROR", f"worker: {text}")
                    raise EngineNeverAnswered(text) from None
                if stop_event.is_set():
                    if not path.endswith(_DELIVERS_RESULT):
                        raise WorkerStopped() from failure
                    stop_seen_at = stop_seen_at or now
                    if now - stop_seen_at > STOP_GRACE_S:
                        emit(rt, "ERROR", f"worker: giving up delivering {path.decode()} after "
                                          f"the stop request: {reason}")
                        raise WorkerStopped() from failure
                attempt += 1
                if _worth_logging(attempt):
                    emit(rt, "WARN", f"worker: {reason} on {_text(method)} {path.decode()} "
                                     f"(attempt {attempt}, {_seconds(now - started)} so far); "
                                     f"retrying in {_seconds(delay)}")
                if stop_event.is_set():
                    time.sleep(delay)  # delivering after the stop: the event waits no more
                else:
                    stop_event.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

        module[b"_api"] = rt.function(api, "workflow._api")

        # Wrapped in Lua, not Python, so a Lua activity's error value reaches workflow.lua
        # exactly as it would under assay. While an activity runs (from here until its
        # /complete or /fail), a stop request must not cut its sleeps short.
        def note(task: Any) -> None:
            control.in_task = True
            if on_activity_task is not None:
                on_activity_task(task)

        rt.call(activity_hook.get(), module, rt.function(note, "workflow._execute_activity"))

    rt.on_module_loaded("assay.workflow", hook)


def _transport(rt: LuaHost, engine: InProcessEngine | None,
               engine_url: str | None) -> EngineTransport:
    if engine is None or engine_url is None:
        from bridge.worker.transport import EngineTransport

        return EngineTransport.install(rt)
    from bridge.worker.inprocess_transport import InProcessTransport

    return InProcessTransport.install_for(rt, engine, engine_url)
