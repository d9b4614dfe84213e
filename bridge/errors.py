"""The exception tree of assay-bridge.

Everything the package raises on purpose derives from :class:`BridgeError`::

    BridgeError
      ConfigError (+ValueError)          bad flag, URL or setting (CLI exit code 2)
      LuaScriptError                     a Lua error reaching Python (.lua_traceback, .chunk, .line)
        LuaMemoryLimitError (+MemoryError)
      ApplicationError                   raised by handler code (.type, .non_retryable, .details)
      ActivityFailedError                a Python workflow's activity failed (replayed from history)
      ChildWorkflowFailedError           a Python workflow's child workflow failed
      WorkflowFailedError                awaiting a failed/cancelled/terminated workflow
      NonDeterminismError                workflow code no longer replays its recorded history
      EngineError                        a refusal by the engine; ``status`` is its HTTP status
        InvalidRequestError       400/422
        AuthError                 401
        WorkflowNotFoundError     404
        NotFoundError             404 (anything else not found)
        WorkflowAlreadyExistsError 409
        LeaseLostError            409
        ConflictError             409
        StoreUnavailableError     503
      StoreError                         database failure (.retryable), driver error as __cause__
      ClientError                        raised only by the Python client
        EngineUnavailableError           connect failure or timeout
          EngineClosedError              a call to a closed in-process engine (bridge.Engine)
        EngineResponseError              any other unexpected status (.status, .body)

Internal control-flow signals (a Python workflow handler being suspended) derive
from ``BaseException`` and live next to their users; they are never exported.
"""

from __future__ import annotations

import re

from typing import Any


class BridgeError(Exception):
    """Base of every exception assay-bridge raises on purpose."""


class ConfigError(BridgeError, ValueError):
    """A bad flag, URL or setting."""


class LuaScriptError(BridgeError):
    """A Lua error that reached Python.

    Attributes:
        message: the Lua error message (with ``chunk:line:`` prefix when Lua added one).
        lua_traceback: the Lua stack traceback text, or ``""``.
        chunk: the chunk name of the failing position, when known.
        line: the line of the failing position, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        lua_traceback: str = "",
        chunk: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message if not lua_traceback else f"{message}\n{lua_traceback}")
        self.message = message
        self.lua_traceback = lua_traceback
        self.chunk = chunk
        self.line = line


class LuaMemoryLimitError(LuaScriptError, MemoryError):
    """A Lua runtime went over its memory cap."""


class ApplicationError(BridgeError):
    """An error raised on purpose by handler code.

    Args:
        message: the text reported to the engine.
        type: an error type name; defaults to the class name.
        non_retryable: a hint that retrying cannot help.
        details: any JSON-able value carried along.
    """

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        non_retryable: bool = False,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.type = type or self.__class__.__name__
        self.non_retryable = non_retryable
        self.details = details


class ActivityFailedError(BridgeError):
    """Raised inside a Python workflow when an activity it awaited has failed.

    The message is exactly the text workflow.lua raises for a Lua workflow:
    ``activity '<name>' failed: <error>``.
    """


class ChildWorkflowFailedError(BridgeError):
    """Raised inside a Python workflow when a child workflow it awaited has failed."""


# a pattern, not a compiled one: compiled on the first failure (re caches it), not at import
_LUA_POSITION = r"^((?:[\w./@-]+\.lua|\[string \"[^\"]*\"\]):\d+): "


def readable_error(text: str) -> str:
    """A failure text with the user's error first: a leading Lua position (``file.lua:311: ``,
    which workflow.lua's own ``error`` adds) moves to the end as ``(at file.lua:311)``."""
    found = re.match(_LUA_POSITION, text)
    if found is None:
        return text
    return f"{text[found.end():]} (at {found.group(1)})"


class WorkflowFailedError(BridgeError):
    """A workflow being awaited ended in FAILED, CANCELLED or TIMED_OUT.

    Attributes:
        workflow_id: the workflow's id.
        status: its terminal status.
        error: the engine's error text, if any.
    """

    def __init__(self, workflow_id: str, status: str, error: str | None) -> None:
        if error:
            super().__init__(f"workflow {workflow_id} ended {status}: {readable_error(error)}")
        else:
            super().__init__(f"workflow {workflow_id} ended {status} (no reason given)")
        self.workflow_id = workflow_id
        self.status = status
        self.error = error


class NonDeterminismError(BridgeError):
    """Workflow code asked for something other than what its recorded history holds.

    Raised by :func:`bridge.testing.replay` at the first history event where the code
    diverges (another activity, input, timer, child, signal or side effect, or another end).

    Attributes:
        workflow_id: the id of the workflow whose history was replayed.
        workflow_type: its type.
        seq: the ``seq`` of the first event where the code diverges.
        event_type: that event's type.
        recorded: what the history recorded there, in words.
        asked: what the code asked for instead, in words.
    """

    def __init__(self, *, workflow_id: str, workflow_type: str, seq: int, event_type: str,
                 recorded: str, asked: str) -> None:
        super().__init__(
            f"{workflow_type} {workflow_id} does not replay: at event {seq} ({event_type}) "
            f"the history recorded {recorded}, but the code asked for {asked}")
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type
        self.seq = seq
        self.event_type = event_type
        self.recorded = recorded
        self.asked = asked


class EngineError(BridgeError):
    """A refusal by the engine. ``status`` is the HTTP status it maps to."""

    status: int = 400


class InvalidRequestError(EngineError):
    """The request is malformed (400) or of the wrong shape (422)."""

    status = 400


class AuthError(EngineError):
    """Missing or wrong credentials."""

    status = 401


class NotFoundError(EngineError):
    """A named object does not exist."""

    status = 404


class WorkflowNotFoundError(NotFoundError):
    """No workflow has that id."""


class ConflictError(EngineError):
    """The request conflicts with the current state."""

    status = 409


class WorkflowAlreadyExistsError(ConflictError):
    """A workflow with that id exists already."""


class LeaseLostError(ConflictError):
    """Commands came from a worker that no longer holds the workflow task's lease."""


class StoreUnavailableError(EngineError):
    """The database cannot take writes right now (full disk, read-only file, lost server)."""

    status = 503


class StoreError(BridgeError):
    """A database failure. The driver's exception is the ``__cause__``."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ClientError(BridgeError):
    """Raised only by the Python client."""


class EngineUnavailableError(ClientError):
    """The engine could not be reached (connect failure or timeout)."""


class EngineClosedError(EngineUnavailableError):
    """A call reached an in-process engine (:class:`bridge.Engine`) after it was closed.

    A kind of :class:`EngineUnavailableError`, so code that handles an unreachable engine
    handles a closed one the same way (a worker retries until it is stopped).
    """


class EngineResponseError(ClientError):
    """The engine answered with an unexpected status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"engine answered {status}: {body[:500]}")
        self.status = status
        self.body = body
