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

__all__ = [
    # version
    "__version__",
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
