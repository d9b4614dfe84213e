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

from bridge import _lazy

from bridge._version import __version__

if TYPE_CHECKING:
    from bridge.client import Client
    from bridge.engine.embedded import EmbeddedEngine as Engine
    from bridge.runtime.runtime import Runtime
    from bridge.worker import ActivityContext, Worker, WorkflowCancelled, WorkflowContext

# Imported on first use (PEP 562), so ``assay-bridge run`` and the CLI's engine commands do not
# pay for the HTTP client, the worker or lupa before they need them.
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
    return _lazy.load(__name__, _LAZY, name)


def __dir__() -> list[str]:
    return _lazy.names(__name__, _LAZY)


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
