"""Workers: poll loops running Lua and Python handlers side by side.

The names below are imported on first use (PEP 562), so ``assay-bridge run``, which needs only
:mod:`bridge.worker.engine_calls`, does not import the worker and its handler machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge import _lazy

if TYPE_CHECKING:
    from bridge.worker.context import (
        ActivityContext,
        ActivityInfo,
        WorkflowCancelled,
        WorkflowContext,
    )
    from bridge.worker.engine_calls import EngineNeverAnswered, WorkerStopped, install_engine_hooks
    from bridge.worker.worker import Worker

_LAZY = {
    "ActivityContext": "bridge.worker.context",
    "ActivityInfo": "bridge.worker.context",
    "WorkflowCancelled": "bridge.worker.context",
    "WorkflowContext": "bridge.worker.context",
    "EngineNeverAnswered": "bridge.worker.engine_calls",
    "WorkerStopped": "bridge.worker.engine_calls",
    "install_engine_hooks": "bridge.worker.engine_calls",
    "Worker": "bridge.worker.worker",
}


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _LAZY, name)


def __dir__() -> list[str]:
    return _lazy.names(__name__, _LAZY)


__all__ = ["ActivityContext", "ActivityInfo", "Worker", "WorkerStopped", "WorkflowCancelled",
           "WorkflowContext", "install_engine_hooks", "EngineNeverAnswered"]
