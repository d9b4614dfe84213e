"""Run workflow code over a history in-process, the way a worker's workflow task does,
recording every ``ctx`` call the code makes.

The code runs inside the unchanged workflow.lua (``_handle_workflow_task``) on a fresh
:class:`~bridge.runtime.runtime.Runtime`; nothing talks to an engine. Each ``ctx`` method of
the ctx workflow.lua builds is wrapped (through the module's ``_make_workflow_ctx`` field,
the file itself is not edited) to note what was asked and whether the call returned, raised,
or yielded a command. Python handlers reach the same ctx through the trampoline, so both
languages are recorded alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError
from bridge.runtime.runtime import Runtime
from bridge.globals.json import to_lua_keeping_objects, to_python_keeping_objects
from bridge.worker.context import Later
from bridge.worker.trampoline import PythonHandlers, WorkflowHandler

# Installed once per runtime, before the user's Lua runs: connect/listen do nothing (as in
# Worker.load_lua), and every ctx gets its methods wrapped. The returned function runs one
# workflow task given as JSON text (parsed by the json global, as the worker parses a poll).
_DRIVER = r"""
local M = ...
M.connect = function() end
M.listen = function() end
local METHODS = { "execute_activity", "sleep", "side_effect", "start_child_workflow",
                  "wait_for_signal" }
local calls = {}
local real_make_ctx = M._make_workflow_ctx
M._make_workflow_ctx = function(workflow_id, history)
    local ctx = real_make_ctx(workflow_id, history)
    for _, method in ipairs(METHODS) do
        local real = ctx[method]
        ctx[method] = function(self, a, b, c)
            local call = { method = method, a = a, c = c }
            if method ~= "side_effect" then call.b = b end
            calls[#calls + 1] = call
            -- a yield inside passes through pcall; such a call never gets an outcome
            local r = table.pack(pcall(real, self, a, b, c))
            if not r[1] then
                call.outcome = "raised"
                error(r[2], 0)
            end
            call.outcome = "returned"
            return table.unpack(r, 2, r.n)
        end
    end
    return ctx
end
return function(task_text)
    calls = {}
    local commands = M._handle_workflow_task(json.parse(task_text))
    return commands, calls
end
"""


@dataclass(frozen=True)
class LuaCode:
    """A Lua file or Lua source text defining workflows (``workflow.define``)."""

    path: Path | None
    source: str | None
    chunk_name: str


@dataclass(frozen=True)
class WorkflowCode:
    """The workflow code to replay: Lua files or texts, and Python workflow handlers."""

    lua: Sequence[LuaCode] = ()
    python: Mapping[str, WorkflowHandler] = field(default_factory=dict)
    search_paths: Sequence[str | Path] = ()

    def script_dir(self) -> Path | None:
        """The folder of the first Lua file (searched by ``require``, as the worker does)."""
        for src in self.lua:
            if src.path is not None:
                return src.path.resolve().parent
        return None


def lua_code(path_or_source: str | Path) -> LuaCode:
    """A path (a ``Path``, or one line ending ``.lua``) or Lua source text, as
    :meth:`bridge.Worker.load_lua` tells them apart."""
    text = str(path_or_source)
    if isinstance(path_or_source, Path) or ("\n" not in text and text.endswith(".lua")):
        path = Path(path_or_source)
        if not path.is_file():
            raise ConfigError(f"no such Lua file: {path}")
        return LuaCode(path, None, f"@{path}")
    return LuaCode(None, text, "=<replay>")


@dataclass(frozen=True)
class Call:
    """One ``ctx`` call the workflow code made.

    Attributes:
        method: the ctx method (``execute_activity``, ``sleep``, ``side_effect``,
            ``start_child_workflow``, ``wait_for_signal``).
        args: its arguments as plain values (a side effect's function is left out).
        outcome: ``"returned"``, ``"raised"``, or ``"yielded"`` (the step had no result in
            history, so the code asked the engine for it and the replay stopped there).
    """

    method: str
    args: tuple[Any, Any, Any]
    outcome: str


@dataclass(frozen=True)
class Recording:
    """What one workflow task made of a history: the ctx calls, in order, and the one
    command workflow.lua would submit (``CompleteWorkflow``, ``FailWorkflow``,
    ``CancelWorkflow``, or the command of the step that yielded)."""

    calls: list[Call]
    command: dict[str, Any]


def run_task(code: WorkflowCode, task: Mapping[str, Any]) -> Recording:
    """Run one workflow task (``{workflow_id, workflow_type, input, history}``) on a fresh
    runtime loaded with ``code``."""
    rt = Runtime(log_stderr=False, search_paths=code.search_paths, script_dir=code.script_dir())
    try:
        module = rt.require("assay.workflow")
        run = rt.execute(_DRIVER, "=bridge.replay", module)
        for src in code.lua:
            if src.path is not None:
                rt.run_file(src.path)
            else:
                rt.execute(src.source or "", src.chunk_name)
        if code.python:
            handlers = PythonHandlers(rt)
            for name, fn in code.python.items():
                rt.call(module[b"define"], name.encode(), handlers.workflow(fn))
        commands, calls = rt.call(run, json.dumps(task).encode())
        def plain(value: Any) -> Any:
            # a Python workflow's activity input reaches workflow.lua unconverted (Later)
            if isinstance(value, Later):
                return to_python_keeping_objects(rt, to_lua_keeping_objects(rt, value.value))
            return value

        recorded = [
            Call(str(c.get("method")), (plain(c.get("a")), plain(c.get("b")), plain(c.get("c"))),
                 str(c.get("outcome") or "yielded"))
            for c in rt.to_python(calls) or []
        ]
        command: dict[str, Any] = rt.to_python(commands)[0]
        return Recording(recorded, command)
    finally:
        rt.close()
