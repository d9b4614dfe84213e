"""Every error the API answers with, translated in one place.

All error responses are JSON objects with a single ``error`` key (engine-api §0), including the
ones axum writes as plain text in assay (unknown route 404, wrong method 405, bad body 400/415/422,
too large 413): a JSON body there is additive, and the status codes are assay's.

The table :data:`ENGINE_ERROR_STATUS` maps each :class:`~bridge.errors.EngineError` subclass to
its status; a subclass not listed falls back to its own ``status`` attribute.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.errors import EngineError, InvalidRequestError, StoreError
from bridge.wire import ERROR_STATUS

logger = logging.getLogger(__name__)

#: EngineError subclass -> HTTP status (the wire vocabulary's table).
ENGINE_ERROR_STATUS = ERROR_STATUS


class BadRequestError(HTTPException):
    """A request the API layer refuses before the core sees it (400, 413, 415 or 422)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code=status_code, detail=message)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The one shape of every error: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def status_for(exc: EngineError) -> int:
    """The HTTP status of an engine refusal."""
    for cls, status in ENGINE_ERROR_STATUS:
        if isinstance(exc, cls):
            # InvalidRequestError may carry 422 on the instance for shape errors.
            return int(getattr(exc, "status", status)) if cls is InvalidRequestError else status
    return int(getattr(exc, "status", 400))


async def engine_error(request: Request, exc: Exception) -> Response:
    """Handler for :class:`EngineError`."""
    assert isinstance(exc, EngineError)
    status = status_for(exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return error_response(status, str(exc) or type(exc).__name__, headers)


async def store_error(request: Request, exc: Exception) -> Response:
    """Handler for :class:`StoreError`: 503 when retrying may help, else 500."""
    assert isinstance(exc, StoreError)
    logger.error("store error on %s %s: %s", request.method, request.url.path, exc, exc_info=exc)
    if exc.retryable:
        return error_response(503, f"store unavailable: {exc}", {"Retry-After": "1"})
    return error_response(500, f"store error: {exc}")


async def http_error(request: Request, exc: Exception) -> Response:
    """Handler for Starlette's HTTPException (routing 404/405 and our BadRequestError)."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, str(exc.detail), headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    """Last resort: a bug. Logged with its traceback; the client sees a short 500."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    EngineError: engine_error,
    StoreError: store_error,
    HTTPException: http_error,
    Exception: internal_error,
}
