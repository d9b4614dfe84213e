"""``Replayer``: one runtime with workflow.lua loaded, replaying histories in-process."""

from __future__ import annotations

from typing import Any

from bridge.runtime.runtime import Runtime
from bridge.worker.trampoline import PythonHandlers


class Replayer:
    """One runtime with workflow.lua loaded; registers handlers and replays histories."""

    def __init__(self) -> None:
        self.rt = Runtime(log_stderr=False)
        self.handlers = PythonHandlers(self.rt)
        self.module = self.rt.require("assay.workflow")

    def py_workflow(self, name: str, fn: Any) -> None:
        self.rt.call(self.module[b"define"], name.encode(), self.handlers.workflow(fn))

    def py_activity(self, name: str, fn: Any) -> None:
        self.rt.call(self.module[b"activity"], name.encode(), self.handlers.activity(fn))

    def lua(self, source: str) -> None:
        self.rt.execute(source, "@workflows.lua", self.module)

    def replay(self, workflow_type: str, history: list[dict[str, Any]] | None = None,
               input: Any = None, workflow_id: str = "wf-1") -> list[dict[str, Any]]:
        """The commands workflow.lua produces for a task with this history."""
        task = {"workflow_id": workflow_id, "workflow_type": workflow_type, "input": input,
                "history": [
                    {"seq": i + 1, **event} for i, event in enumerate(history or [])
                ]}
        commands = self.rt.call(self.module[b"_handle_workflow_task"], self.rt.to_lua(task))
        result: list[dict[str, Any]] = self.rt.to_python(commands)
        return result

    def run_activity(self, name: str, input: Any, task_id: int = 7) -> Any:
        """Run an activity the way workflow.lua's poll loop does; returns (ok, value)."""
        task = {"id": task_id, "name": name, "input": input, "workflow_id": "wf-1",
                "attempt": 1, "task_queue": "default"}
        fn = self.rt.execute(
            "local M, task = ...\n"
            "local ok, r = pcall(function() return M._execute_activity(task) end)\n"
            "if ok then return true, r end\n"
            "return false, tostring(r)",
            "=test", self.module, self.rt.to_lua(task),
        )
        ok, value = fn
        return ok, self.rt.to_python(value)


def completed(seq: int, result: Any) -> dict[str, Any]:
    return {"event_type": "ActivityCompleted", "payload": {"activity_seq": seq, "result": result}}


def failed(seq: int, error: str) -> dict[str, Any]:
    return {"event_type": "ActivityFailed", "payload": {"activity_seq": seq, "error": error}}
