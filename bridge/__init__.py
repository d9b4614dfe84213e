"""assay-bridge: assay's durable Lua workflows, run from Python.

The public surface is re-exported here; ``tests/test_public_api.py`` pins ``__all__``.
"""

from __future__ import annotations

from bridge.errors import (
    ActivityFailedError,
    ApplicationError,
    BridgeError,
    ChildWorkflowFailedError,
    ClientError,
    ConfigError,
    EngineClosedError,
    EngineError,
    EngineResponseError,
    EngineUnavailableError,
    LeaseLostError,
    LuaMemoryLimitError,
    LuaScriptError,
    NonDeterminismError,
    WorkflowAlreadyExistsError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)

from typing import TYPE_CHECKING, Any

from bridge._version import __version__

if TYPE_CHECKING:
    from bridge.client import Client
    from bridge.engine.embedded import EmbeddedEngine as Engine
    from bridge.runtime.runtime import Runtime
    from bridge.worker import ActivityContext, Worker, WorkflowCancelled, WorkflowContext

# Imported on first use (PEP 562), so ``assay-bridge run`` and the CLI's engine commands do not
# pay for the HTTP client, the worker or lupa before they need them (issue 7, W7 cold start).
_LAZY = {
    "Client": "bridge.client",
    "Engine": "bridge.engine.embedded:EmbeddedEngine",
    "Runtime": "bridge.runtime.runtime",
    "ActivityContext": "bridge.worker",
    "Worker": "bridge.worker",
    "WorkflowCancelled": "bridge.worker",
    "WorkflowContext": "bridge.worker",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'bridge' has no attribute {name!r}")
    import importlib
    import sys

    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    # not globals(): inside this package that name is the subpackage bridge.globals
    setattr(sys.modules[__name__], name, value)
    return value


def __dir__() -> list[str]:
    import sys

    return sorted(set(vars(sys.modules[__name__])) | set(_LAZY))

__all__ = [
    # version
    "__version__",
    # the bridge
    "ActivityContext",
    "Client",
    "Engine",
    "Runtime",
    "Worker",
    "WorkflowCancelled",
    "WorkflowContext",
    # errors
    "ActivityFailedError",
    "ApplicationError",
    "BridgeError",
    "ChildWorkflowFailedError",
    "ClientError",
    "ConfigError",
    "EngineClosedError",
    "EngineError",
    "EngineResponseError",
    "EngineUnavailableError",
    "LeaseLostError",
    "LuaMemoryLimitError",
    "LuaScriptError",
    "NonDeterminismError",
    "WorkflowAlreadyExistsError",
    "WorkflowFailedError",
    "WorkflowNotFoundError",
]
