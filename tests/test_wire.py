"""The wire vocabulary is the one source of statuses and error codes, for engine and client."""

from __future__ import annotations

from bridge import wire
from bridge.engine.api.errors import status_for
from bridge.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    LeaseLostError,
    NotFoundError,
    StoreUnavailableError,
    WorkflowAlreadyExistsError,
    WorkflowNotFoundError,
)


def test_engine_statuses_and_client_errors_come_from_one_table() -> None:
    for cls, status in wire.ERROR_STATUS:
        assert status_for(cls("x")) == status
        back = wire.error_for_status(status)
        assert back is not None and issubclass(cls, back)
    assert wire.error_for_status(404) is NotFoundError
    assert wire.error_for_status(409) is ConflictError
    assert wire.error_for_status(400) is InvalidRequestError
    assert wire.error_for_status(422) is InvalidRequestError
    assert wire.error_for_status(401) is AuthError
    assert wire.error_for_status(503) is StoreUnavailableError
    assert wire.error_for_status(500) is None
    assert status_for(WorkflowNotFoundError("x")) == 404
    assert status_for(WorkflowAlreadyExistsError("x")) == status_for(LeaseLostError("x")) == 409


def test_terminal_statuses_are_workflow_statuses() -> None:
    assert wire.TERMINAL_STATUSES < wire.WORKFLOW_STATUSES
    assert "RUNNING" not in wire.TERMINAL_STATUSES
