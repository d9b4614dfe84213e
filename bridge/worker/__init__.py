"""Workers: poll loops running Lua and Python handlers side by side."""

from __future__ import annotations

from bridge.worker.context import ActivityContext, ActivityInfo, WorkflowCancelled, WorkflowContext
from bridge.worker.engine_calls import EngineNeverAnswered, WorkerStopped, install_engine_hooks
from bridge.worker.worker import Worker

__all__ = ["ActivityContext", "ActivityInfo", "Worker", "WorkerStopped", "WorkflowCancelled",
           "WorkflowContext", "install_engine_hooks", "EngineNeverAnswered"]
