"""The replay checker: does the current workflow code still replay a recorded history?

:func:`replay` feeds a history (from :meth:`bridge.Client.events`, or a JSON file written by
``assay-bridge workflow events ID --json``) to the workflow code, Lua or Python, inside the
unchanged workflow.lua, in this process: no engine, no socket. It raises
:class:`~bridge.errors.NonDeterminismError` at the first event where the code asks for
something else (:mod:`bridge.testing.determinism`), and otherwise returns what the workflow
returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, WorkflowFailedError
from bridge.testing.determinism import check, end_event
from bridge.testing.recorder import LuaCode, WorkflowCode, lua_code, run_task
from bridge.worker import Worker
from bridge.worker.trampoline import WorkflowHandler

History = Sequence[Mapping[str, Any]]

_FROM_HISTORY: Any = object()
_NO_HANDLER = "no workflow handler registered for type: "


def replay(
    history: History | str | Path,
    workflow_type: str,
    *,
    lua: str | Path | Sequence[str | Path] | None = None,
    handlers: Worker | Mapping[str, WorkflowHandler] | None = None,
    input: Any = _FROM_HISTORY,
    workflow_id: str | None = None,
    search_paths: Sequence[str | Path] = (),
) -> Any:
    """Replay a recorded history against the current workflow code.

    The code is run the way a worker runs a workflow task, inside the unchanged
    workflow.lua, and every ``ctx`` call it makes is compared with the history: activity
    name and input, timer length, side effect name, child workflow id and type, the signal
    waited for, and how the workflow ended (a completed history's result must come out
    equal; a failed one must fail, error texts aside).

    Args:
        history: the events, oldest first, as :meth:`bridge.Client.events` returns them
            (payloads as JSON text) or as ``assay-bridge workflow events ID --json`` prints
            them (payloads parsed); or the path of a JSON file holding such a list.
        workflow_type: the type the workflow was started with (the history does not say).
        lua: a Lua file (or several, or Lua source text) defining the workflow with
            ``workflow.define``; its ``workflow.connect`` and ``workflow.listen`` do nothing.
        handlers: a :class:`bridge.Worker` (its Python workflows and the Lua it loaded), or a
            mapping of workflow type to Python workflow function.
        input: the workflow's input; by default the ``WorkflowStarted`` payload.
        workflow_id: the id ``ctx.workflow_id`` shows; by default the events' own
            ``workflow_id``, which :meth:`bridge.Client.events` includes.
        search_paths: extra folders for Lua's ``require``.

    Returns:
        The workflow's result: the one recorded, when the history ends with
        ``WorkflowCompleted``; for a history still open, the result the code reaches after
        the last event, or ``None`` when it is waiting for a step not yet in the history.

    Raises:
        NonDeterminismError: the code asks for something other than the history holds;
            ``.seq`` is the first event where they differ.
        WorkflowFailedError: the workflow failed, was cancelled or terminated, as recorded
            (or, for an open history, as the code would now).
        ConfigError: no code given, or it defines no ``workflow_type``, or a bad file, or
            a history that is empty or does not begin with ``WorkflowStarted``.
        LuaScriptError: the Lua code failed to load.
    """
    events = normalize_events(load_history(history) if isinstance(history, (str, Path))
                              else history)
    if not events:
        raise ConfigError("the history is empty: there is nothing to replay")
    if events[0]["event_type"] != "WorkflowStarted":
        raise ConfigError(f"the history does not begin with WorkflowStarted (its first event "
                          f"is {events[0]['event_type']}): give a workflow's whole history")
    code = _workflow_code(lua, handlers, search_paths)
    wid = workflow_id or _events_workflow_id(events) or "replay"
    if input is _FROM_HISTORY:
        input = next((e.get("payload") for e in events
                      if e["event_type"] == "WorkflowStarted"), None)

    def task(history: list[dict[str, Any]]) -> dict[str, Any]:
        return {"workflow_id": wid, "workflow_type": workflow_type, "input": input,
                "history": [{k: e.get(k) for k in ("seq", "event_type", "payload", "timestamp")}
                            for e in history]}

    # Every recorded step was asked for before the code saw a cancel request (workflow.lua
    # cancels at the first ctx call once one is in history), so steps are checked without them.
    cancelled = any(e["event_type"] == "WorkflowCancelRequested" for e in events)
    steps_run = run_task(code, task([e for e in events
                                     if e["event_type"] != "WorkflowCancelRequested"]))
    end_run = run_task(code, task(events)) if cancelled else steps_run
    error = str(steps_run.command.get("error") or "")
    if not steps_run.calls and error == _NO_HANDLER + workflow_type:
        raise ConfigError(f"the workflow code given defines no workflow {workflow_type!r}")
    check(events, steps_run, end_run, workflow_id=wid, workflow_type=workflow_type)

    end = end_event(events)
    kind = end[1]["event_type"] if end else None
    if kind == "WorkflowCompleted":
        return steps_run.command.get("result")
    if kind == "WorkflowFailed":
        raise WorkflowFailedError(wid, "FAILED", steps_run.command.get("error"))
    if kind == "WorkflowCancelled":
        raise WorkflowFailedError(wid, "CANCELLED", None)
    if kind == "WorkflowTerminated" and end is not None:
        payload = end[1].get("payload")
        reason = payload.get("reason") if isinstance(payload, Mapping) else None
        raise WorkflowFailedError(wid, "FAILED", reason)
    if kind is not None:  # continued as new: this run ended without a result
        return None
    command = end_run.command
    if command["type"] == "CompleteWorkflow":
        return command.get("result")
    if command["type"] == "FailWorkflow":
        raise WorkflowFailedError(wid, "FAILED", command.get("error"))
    if command["type"] == "CancelWorkflow":
        raise WorkflowFailedError(wid, "CANCELLED", None)
    return None


def load_history(path: str | Path) -> list[dict[str, Any]]:
    """The events in a JSON file (a list, as ``assay-bridge workflow events ID --json``
    writes it)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read history file {path}: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"history file {path} is not JSON: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ConfigError(f"history file {path} does not hold a list of events")
    return data


def normalize_events(events: History) -> list[dict[str, Any]]:
    """The events ordered by ``seq``, payloads parsed.

    A history whose every payload is JSON text (or null) is the wire's shape (``GET
    /events``) and is parsed; any other is taken as already parsed. (A parsed history whose
    payloads are all strings that read as JSON would be mistaken for the wire's; an engine
    history always has object payloads once the workflow has taken a step.)
    """
    rows = [dict(e) for e in events]
    for i, row in enumerate(rows):
        if not isinstance(row.get("event_type"), str):
            raise ConfigError(f"history event {i + 1} has no event_type")
    payloads = [r.get("payload") for r in rows if r.get("payload") is not None]
    if all(isinstance(p, str) and _is_json(p) for p in payloads):
        for row in rows:
            if row.get("payload") is not None:
                row["payload"] = json.loads(row["payload"])
    if all(isinstance(r.get("seq"), int) for r in rows):
        rows.sort(key=lambda r: int(r["seq"]))
    return rows


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _events_workflow_id(events: list[dict[str, Any]]) -> str | None:
    ids = {e.get("workflow_id") for e in events}
    if len(ids) == 1:
        only = ids.pop()
        return only if isinstance(only, str) else None
    return None


def _workflow_code(lua: str | Path | Sequence[str | Path] | None,
                   handlers: Worker | Mapping[str, WorkflowHandler] | None,
                   search_paths: Sequence[str | Path]) -> WorkflowCode:
    if lua is None:
        sources: list[LuaCode] = []
    elif isinstance(lua, (str, Path)):
        sources = [lua_code(lua)]
    else:
        sources = [lua_code(item) for item in lua]
    python: dict[str, WorkflowHandler] = {}
    paths = list(search_paths)
    if isinstance(handlers, Worker):
        # what the worker would serve: the Lua it loaded and its Python workflows
        sources += [LuaCode(s.path, s.source, s.chunk_name) for s in handlers._lua]
        python.update(handlers._workflows)
        paths += handlers.search_paths
    elif handlers is not None:
        python.update(handlers)
    if not sources and not python:
        raise ConfigError("replay needs the workflow code: lua=... or handlers=...")
    return WorkflowCode(lua=sources, python=python, search_paths=paths)
