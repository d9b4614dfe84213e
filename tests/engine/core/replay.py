"""A Python mirror of workflow.lua's replay (``_make_workflow_ctx``), for driving the core.

It reads history exactly as the Lua client does (the same event types and payload keys) and
yields one command per replay, so a test that passes here passes for the unchanged client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bridge.engine.core import Engine
from tests.helpers import poll_task


class _Yield(BaseException):
    def __init__(self, command: dict[str, Any]) -> None:
        self.command = command


class Ctx:
    """The ``ctx`` a workflow handler gets."""

    def __init__(self, history: list[dict[str, Any]]) -> None:
        self.activities: dict[int, tuple[bool, Any]] = {}
        self.timers: set[int] = set()
        self.signals: dict[str, list[Any]] = {}
        self.side_effects: dict[int, Any] = {}
        self.children: dict[str, tuple[bool, Any]] = {}
        self.cancel_requested = False
        for ev in history:
            p, kind = ev["payload"], ev["event_type"]
            if kind == "ActivityCompleted":
                self.activities[p["activity_seq"]] = (True, p["result"])
            elif kind == "ActivityFailed":
                self.activities[p["activity_seq"]] = (False, p["error"])
            elif kind == "TimerFired":
                self.timers.add(p["timer_seq"])
            elif kind == "SignalReceived":
                self.signals.setdefault(p["signal"], []).append(p["payload"])
            elif kind == "SideEffectRecorded":
                self.side_effects[p["side_effect_seq"]] = p["value"]
            elif kind == "ChildWorkflowCompleted":
                self.children[p["child_workflow_id"]] = (True, p["result"])
            elif kind == "ChildWorkflowFailed":
                self.children[p["child_workflow_id"]] = (False, p["error"])
            elif kind == "WorkflowCancelRequested":
                self.cancel_requested = True
        self._act = self._timer = self._se = 0
        self._cursor: dict[str, int] = {}

    def _check(self) -> None:
        if self.cancel_requested:
            raise _Yield({"type": "CancelWorkflow"})

    def execute_activity(self, name: str, input: Any = None, **opts: Any) -> Any:
        self._check()
        self._act += 1
        if self._act in self.activities:
            ok, value = self.activities[self._act]
            if ok:
                return value
            raise RuntimeError(f"activity '{name}' failed: {value}")
        raise _Yield({"type": "ScheduleActivity", "seq": self._act, "name": name,
                      "task_queue": opts.pop("task_queue", "default"), "input": input, **opts})

    def sleep(self, seconds: float) -> None:
        self._check()
        self._timer += 1
        if self._timer not in self.timers:
            raise _Yield({"type": "ScheduleTimer", "seq": self._timer, "duration_secs": seconds})

    def side_effect(self, name: str, fn: Callable[[], Any]) -> Any:
        self._check()
        self._se += 1
        if self._se in self.side_effects:
            return self.side_effects[self._se]
        raise _Yield({"type": "RecordSideEffect", "seq": self._se, "name": name, "value": fn()})

    def start_child_workflow(self, workflow_type: str, workflow_id: str,
                             input: Any = None) -> Any:
        self._check()
        if workflow_id in self.children:
            ok, value = self.children[workflow_id]
            if ok:
                return value
            raise RuntimeError(f"child workflow '{workflow_id}' failed: {value}")
        raise _Yield({"type": "StartChildWorkflow", "workflow_type": workflow_type,
                      "workflow_id": workflow_id, "input": input, "task_queue": "default"})

    def wait_for_signal(self, name: str) -> Any:
        self._check()
        consumed = self._cursor.get(name, 0)
        arrivals = self.signals.get(name, [])
        if consumed < len(arrivals):
            self._cursor[name] = consumed + 1
            return arrivals[consumed]
        raise _Yield({"type": "WaitForSignal", "name": name})


Handler = Callable[[Any, Any], Any]


def commands_for(task: dict[str, Any],
                 handlers: Mapping[str, Handler]) -> list[dict[str, Any]]:
    """The one-command batch workflow.lua would submit for ``task``."""
    handler = handlers.get(task["workflow_type"])
    if handler is None:
        return [{"type": "FailWorkflow", "error": "no workflow handler registered for type: "
                 + task["workflow_type"]}]
    try:
        result = handler(Ctx(task["history"]), task["input"])
    except _Yield as y:
        return [y.command]
    except Exception as exc:
        return [{"type": "FailWorkflow", "error": str(exc)}]
    return [{"type": "CompleteWorkflow", "result": result}]


def drain(core: Engine, handlers: Mapping[str, Handler],
          activities: dict[str, Callable[[Any], Any]] | None = None, *,
          queue: str = "default", worker_id: str = "worker-1", max_turns: int = 200) -> int:
    """Run workflow and activity tasks on ``queue`` until none is ready; returns the turns."""
    activities = activities or {}
    for turn in range(max_turns):
        task = poll_task(core, queue=queue, worker_id=worker_id)
        if task is not None:
            core.submit_commands(task["workflow_id"], worker_id=worker_id,
                                   commands=commands_for(task, handlers))
            continue
        act = core.poll_activity_task(queue=queue, worker_id=worker_id)
        if act is None:
            return turn
        try:
            value = activities[act["name"]](json.loads(act["input"]) if act["input"] else None)
        except Exception as exc:
            core.fail_activity(act["id"], str(exc))
        else:
            core.complete_activity(act["id"], value)
    raise AssertionError("workflow did not settle")
