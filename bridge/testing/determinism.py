"""Compare what workflow code asked for with what its recorded history holds.

workflow.lua yields one command per workflow task, at the first step whose result is not in
history, and the engine records each command as an event (engine-api §3.4). So the history's
*step events* (``ActivityScheduled``, ``TimerScheduled``, the first ``SideEffectRecorded`` of
each seq, ``ChildWorkflowStarted``) appear in the order the code made those calls, each
matched to a call by its key (activity, timer and side-effect seq; child workflow id).
``WorkflowAwaitingSignal`` says which signal the code was waiting for between two steps. The
end event says how the code finished.

:func:`check` walks the code's calls against these and raises
:class:`~bridge.errors.NonDeterminismError` at the earliest event where they disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.errors import NonDeterminismError
from bridge.testing.recorder import Call, Recording

Event = Mapping[str, Any]

#: step event type -> (the ctx method that records it, the payload field that is its key)
STEP_EVENTS = {
    "ActivityScheduled": ("execute_activity", "activity_seq"),
    "TimerScheduled": ("sleep", "timer_seq"),
    "SideEffectRecorded": ("side_effect", "side_effect_seq"),
    "ChildWorkflowStarted": ("start_child_workflow", "child_workflow_id"),
}

#: events that end a run; only the first three are the code's own doing
END_EVENTS = ("WorkflowCompleted", "WorkflowFailed", "WorkflowCancelled", "WorkflowTerminated",
              "WorkflowContinuedAsNew")

ENDING_COMMANDS = ("CompleteWorkflow", "FailWorkflow", "CancelWorkflow")

_WAIT = "wait_for_signal"
_TEXT_LIMIT = 200


@dataclass(frozen=True)
class _Divergence:
    index: int
    recorded: str
    asked: str


def end_event(events: Sequence[Event]) -> tuple[int, Event] | None:
    """The first event that ends the run, with its index, or None for an open history."""
    for i, event in enumerate(events):
        if event.get("event_type") in END_EVENTS:
            return i, event
    return None


def check(events: Sequence[Event], steps_run: Recording, end_run: Recording, *,
          workflow_id: str, workflow_type: str) -> None:
    """Raise :class:`NonDeterminismError` at the first event the code does not reproduce.

    Args:
        events: the history, oldest first, payloads parsed.
        steps_run: the code run over the history without its cancel requests (every step the
            engine recorded was asked for before the code saw a cancellation).
        end_run: the code run over the whole history, for how it ends.
    """
    found = _Matcher(events, steps_run).divergences(end_run)
    if found:
        first = min(found, key=lambda d: d.index)
        event = events[first.index]
        raise NonDeterminismError(
            workflow_id=workflow_id, workflow_type=workflow_type,
            seq=int(event.get("seq") or first.index + 1), event_type=str(event["event_type"]),
            recorded=first.recorded, asked=first.asked)


class _Matcher:
    """Matches one recording's calls to the history's step events."""

    def __init__(self, events: Sequence[Event], run: Recording) -> None:
        self.events = events
        self.run = run
        self.calls = run.calls
        self.call_keys = _call_keys(run.calls)
        self.steps: list[int] = []  # indexes of step events, history order
        self.step_at: dict[tuple[str, Any], int] = {}
        for i, event in enumerate(events):
            kind = STEP_EVENTS.get(str(event.get("event_type")))
            if kind is None:
                continue
            key = (kind[0], _payload(event).get(kind[1]))
            if key not in self.step_at:  # a side effect recorded twice: the first counts
                self.step_at[key] = i
                self.steps.append(i)
        self.matched: dict[int, int] = {}  # step event index -> call index
        self.found: list[_Divergence] = []

    def divergences(self, end_run: Recording) -> list[_Divergence]:
        for ci, call in enumerate(self.calls):
            if call.method != _WAIT:
                self._match(ci, call)
        unmatched = [s for s in self.steps if s not in self.matched]
        if unmatched:
            first = unmatched[0]
            self._diverge(first, self._asked_after(self._call_before(first)))
        for i, event in enumerate(self.events):
            if event.get("event_type") == "WorkflowAwaitingSignal":
                self._check_wait(i, event)
        end = end_event(self.events)
        if end is not None:
            self._check_end(*end, end_run)
        return self.found

    # -- steps ---------------------------------------------------------------------------------
    def _match(self, ci: int, call: Call) -> None:
        index = self.step_at.get(self.call_keys[ci])
        if index is None or index in self.matched:
            return  # the step the code asks for next, or a result without a recorded step
        skipped = [s for s in self.steps if s < index and s not in self.matched]
        if skipped:  # the code reached this step before one recorded earlier
            self._diverge(skipped[0], self._call_text(ci))
        if not _same_step(self.events[index], call):
            self._diverge(index, self._call_text(ci))
        self.matched[index] = ci

    def _call_before(self, index: int) -> int:
        """The call that matched the last step event before ``index`` (-1 if none)."""
        before = [self.matched[s] for s in self.steps if s < index and s in self.matched]
        return max(before, default=-1)

    def _asked_after(self, ci: int) -> str:
        """What the code asked for after call ``ci``: its next step, or how it ended."""
        for cj in range(ci + 1, len(self.calls)):
            call = self.calls[cj]
            if call.outcome == "yielded":
                return self._call_text(cj)
            if call.method != _WAIT and self.call_keys[cj] in self.step_at:
                return self._call_text(cj)
        return _command_text(self.run.command)

    # -- signals -------------------------------------------------------------------------------
    def _check_wait(self, index: int, event: Event) -> None:
        """The code must wait for this signal between the steps around the event."""
        name = _payload(event).get("signal", "?")
        before = [s for s in self.steps if s < index]
        after = [s for s in self.steps if s > index]
        if before and before[-1] not in self.matched:
            return  # the code diverged earlier already
        lo = self.matched[before[-1]] if before else -1
        hi = self.matched.get(after[0], len(self.calls)) if after else len(self.calls)
        for call in self.calls[lo + 1:hi]:
            if call.method == _WAIT and _signal_name(call) == name:
                return
        asked = (self._call_text(lo + 1) if lo + 1 < len(self.calls)
                 else _command_text(self.run.command))
        self._diverge(index, asked)

    # -- the end -------------------------------------------------------------------------------
    def _check_end(self, index: int, event: Event, end_run: Recording) -> None:
        kind = event["event_type"]
        if kind not in ("WorkflowCompleted", "WorkflowFailed", "WorkflowCancelled"):
            return  # terminated or continued as new from outside: the code had no say
        if kind == "WorkflowCancelled":
            command = end_run.command
            if command["type"] != "CancelWorkflow" and self.steps:
                self._diverge(index, self._ending_text(end_run))
            return
        command = self.run.command
        if command["type"] not in ENDING_COMMANDS:
            if not [s for s in self.steps if s not in self.matched]:
                self._diverge(index, self._asked_after(self._call_before(index)))
            return
        if kind == "WorkflowCompleted":
            same = (command["type"] == "CompleteWorkflow"
                    and _same_value(command.get("result"), event.get("payload")))
        else:
            same = command["type"] == "FailWorkflow"
        if not same:
            self._diverge(index, _command_text(command))

    def _ending_text(self, run: Recording) -> str:
        if run.command["type"] in ENDING_COMMANDS:
            return _command_text(run.command)
        keys = _call_keys(run.calls)
        for call, key in zip(reversed(run.calls), reversed(keys)):
            if call.outcome == "yielded":
                return _call_text(call, key)
        return _command_text(run.command)

    # -- reporting ------------------------------------------------------------------------------
    def _diverge(self, index: int, asked: str) -> None:
        self.found.append(_Divergence(index, _event_text(self.events[index]), asked))

    def _call_text(self, ci: int) -> str:
        return _call_text(self.calls[ci], self.call_keys[ci])


def _call_keys(calls: Sequence[Call]) -> list[tuple[str, Any]]:
    """Each call's key, counted as workflow.lua counts them (a seq per kind, from 1)."""
    counters = {"execute_activity": 0, "sleep": 0, "side_effect": 0}
    keys: list[tuple[str, Any]] = []
    for call in calls:
        if call.method in counters:
            counters[call.method] += 1
            keys.append((call.method, counters[call.method]))
        elif call.method == "start_child_workflow":
            keys.append((call.method, _mapping(call.args[1]).get("workflow_id")))
        else:
            keys.append((call.method, _signal_name(call)))
    return keys


def _same_step(event: Event, call: Call) -> bool:
    p = _payload(event)
    kind = event["event_type"]
    if kind == "ActivityScheduled":
        return bool(p.get("name") == call.args[0]
                    and _same_value(_json_text(p.get("input")), call.args[1]))
    if kind == "TimerScheduled":
        return _seconds(p.get("duration_secs")) == _seconds(call.args[0])
    if kind == "SideEffectRecorded":
        return bool(p.get("name") == call.args[0])
    return bool(p.get("workflow_type") == call.args[0])  # ChildWorkflowStarted


def _same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values, with Lua's rule that an empty table is both ``{}`` and ``[]``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (dict, list)) and isinstance(b, (dict, list)) and not a and not b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    scalars = (int, float, str, type(None))
    return isinstance(a, scalars) and isinstance(b, scalars) and bool(a == b)


# -- words --------------------------------------------------------------------------------------
def _event_text(event: Event) -> str:
    p = _payload(event)
    kind = event["event_type"]
    if kind == "ActivityScheduled":
        return _activity_text(p.get("name"), p.get("activity_seq"), _json_text(p.get("input")))
    if kind == "TimerScheduled":
        return _timer_text(p.get("duration_secs"), p.get("timer_seq"))
    if kind == "SideEffectRecorded":
        return f"side effect {p.get('name')!r} (side effect seq {p.get('side_effect_seq')})"
    if kind == "ChildWorkflowStarted":
        return _child_text(p.get("workflow_type"), p.get("child_workflow_id"))
    if kind == "WorkflowAwaitingSignal":
        return f"a wait for signal {p.get('signal', '?')!r}"
    if kind == "WorkflowCompleted":
        return f"the end of the workflow with result {_short(event.get('payload'))}"
    if kind == "WorkflowFailed":
        return f"the end of the workflow, failed: {_first_line(p.get('error'))}"
    return "the end of the workflow, cancelled"


def _call_text(call: Call, key: tuple[str, Any]) -> str:
    a, b, _ = call.args
    if call.method == "execute_activity":
        return _activity_text(a, key[1], b)
    if call.method == "sleep":
        return _timer_text(a, key[1])
    if call.method == "side_effect":
        return f"side effect {a!r} (side effect seq {key[1]})"
    if call.method == "start_child_workflow":
        return _child_text(a, key[1])
    return f"a wait for signal {_signal_name(call)!r}"


def _command_text(command: Mapping[str, Any]) -> str:
    kind = command.get("type")
    if kind == "CompleteWorkflow":
        return f"the end of the workflow with result {_short(command.get('result'))}"
    if kind == "FailWorkflow":
        return f"the end of the workflow, failed: {_first_line(command.get('error'))}"
    if kind == "CancelWorkflow":
        return "the end of the workflow, cancelled"
    return f"the command {_short(dict(command))}"


def _activity_text(name: Any, seq: Any, input: Any) -> str:
    return f"activity {name!r} (activity seq {seq}) with input {_short(input)}"


def _timer_text(seconds: Any, seq: Any) -> str:
    return f"a timer of {_seconds(seconds):g} s (timer seq {seq})"


def _child_text(workflow_type: Any, workflow_id: Any) -> str:
    return f"child workflow {workflow_id!r} of type {workflow_type!r}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "..."


def _first_line(text: Any) -> str:
    return str(text).splitlines()[0] if text else str(text)


# -- values -------------------------------------------------------------------------------------
def _payload(event: Event) -> Mapping[str, Any]:
    return _mapping(event.get("payload"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _signal_name(call: Call) -> Any:
    return "?" if call.args[0] is None else call.args[0]


def _seconds(value: Any) -> float:
    """A timer's length as the engine records it (engine-api §3.4: default 0, never negative)."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0


def _json_text(value: Any) -> Any:
    """An ``ActivityScheduled`` input: JSON text on the wire, already parsed in some files."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
