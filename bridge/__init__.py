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
    EngineError,
    EngineResponseError,
    EngineUnavailableError,
    LeaseLostError,
    LuaMemoryLimitError,
    LuaScriptError,
    WorkflowAlreadyExistsError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)

__version__ = "0.1.0"

from bridge.client import Client  # noqa: E402 - after __version__, which the CLI reads
from bridge.runtime.runtime import Runtime  # noqa: E402
from bridge.worker import ActivityContext, Worker, WorkflowCancelled, WorkflowContext  # noqa: E402

__all__ = [
    # version
    "__version__",
    # the bridge
    "ActivityContext",
    "Client",
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
    "EngineError",
    "EngineResponseError",
    "EngineUnavailableError",
    "LeaseLostError",
    "LuaMemoryLimitError",
    "LuaScriptError",
    "WorkflowAlreadyExistsError",
    "WorkflowFailedError",
    "WorkflowNotFoundError",
]
