"""The wire vocabulary the engine and its clients share, spelled once.

Statuses, the terminal set, the default namespace and queue, and the HTTP status of each
engine error (engine-api §0-§2). The engine's error responses use :data:`ERROR_STATUS`; the
client's inverse table is derived from it (:func:`error_for_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from bridge.errors import (
    AuthError,
    ConflictError,
    EngineError,
    InvalidRequestError,
    LeaseLostError,
    NotFoundError,
    StoreUnavailableError,
    WorkflowAlreadyExistsError,
    WorkflowNotFoundError,
)

#: Every workflow status (engine-api §2.1).
WORKFLOW_STATUSES = frozenset(
    {"PENDING", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
#: Workflow statuses that are final.
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
#: The namespace of a request that names none.
DEFAULT_NAMESPACE = "main"
#: The task queue of a workflow or schedule that names none (workflow.lua's default too).
DEFAULT_QUEUE = "default"
#: Where the engine's HTTP API lives under its base URL (workflow.lua's ``M._api`` adds it too).
API_PREFIX = "/api/v1"

#: What the engine core announces after a commit (bridge/engine/notify.py says what each carries).
NoticeKind = Literal["workflow_task", "activity_task", "deadline", "event", "workflow_terminal"]
#: The notices other engine instances on one database need (they wake held polls and waits).
SHARED_NOTICE_KINDS: frozenset[NoticeKind] = frozenset(
    {"workflow_task", "activity_task", "workflow_terminal"})

#: Engine error class -> HTTP status. Most specific classes first.
ERROR_STATUS: tuple[tuple[type[EngineError], int], ...] = (
    (WorkflowNotFoundError, 404),
    (NotFoundError, 404),
    (WorkflowAlreadyExistsError, 409),
    (LeaseLostError, 409),
    (ConflictError, 409),
    (AuthError, 401),
    (StoreUnavailableError, 503),
    (InvalidRequestError, 400),
)

# Statuses assay's engine also answers with (its extractors' 422, a proxy's 403).
_ALSO = {422: InvalidRequestError, 403: AuthError}


def error_for_status(status: int) -> type[EngineError] | None:
    """The most general engine error answered with ``status`` (None for other statuses)."""
    classes = [cls for cls, s in ERROR_STATUS if s == status]
    for cls in classes:
        if all(issubclass(other, cls) for other in classes):
            return cls
    return _ALSO.get(status)


#: The base URL workflow.lua and the client are given for an in-process engine that is not
#: serving HTTP; only the in-process transports answer it.
IN_PROCESS_URL = "http://embedded.engine"


class InProcessEngine(Protocol):
    """What ``Worker(engine=...)`` and ``Client(engine=...)`` need of an engine running in this
    process (:class:`bridge.Engine`): the HTTP API answered without a socket."""

    @property
    def url(self) -> str | None:
        """The URL it serves over HTTP, or None when it does not."""
        ...

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, *,
                hold_wakeups: bool = False) -> tuple[int, dict[str, str], bytes]:
        """Answer one API request (``path`` with its query string) as the HTTP API would:
        ``(status, lower-cased headers, body)``. ``hold_wakeups``: the caller calls again at
        once, so the threads this call wakes may wait until that call waits or returns."""
        ...

    def release_wakeups(self) -> None:
        """Wake the threads whose wake-ups a ``hold_wakeups`` call held back."""
        ...
