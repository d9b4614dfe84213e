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

from bridge.engine.api.reply import Reply, json_reply
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


def error_reply(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """:func:`error_response` as a :class:`~bridge.engine.api.reply.Reply`."""
    return json_reply({"error": message}, status, headers)


def status_for(exc: EngineError) -> int:
    """The HTTP status of an engine refusal."""
    for cls, status in ENGINE_ERROR_STATUS:
        if isinstance(exc, cls):
            # InvalidRequestError may carry 422 on the instance for shape errors.
            return int(getattr(exc, "status", status)) if cls is InvalidRequestError else status
    return int(getattr(exc, "status", 400))


_RETRY_AFTER = (("Retry-After", "1"),)


def reply_for(exc: Exception, method: str, path: str) -> Reply:
    """The answer to a request that raised ``exc``: the one mapping of every handler's errors
    (store and unexpected errors are logged here, with their tracebacks)."""
    if isinstance(exc, EngineError):
        status = status_for(exc)
        return error_reply(status, str(exc) or type(exc).__name__,
                           _RETRY_AFTER if status == 503 else ())
    if isinstance(exc, StoreError):
        logger.error("store error on %s %s: %s", method, path, exc, exc_info=exc)
        if exc.retryable:
            return error_reply(503, f"store unavailable: {exc}", _RETRY_AFTER)
        return error_reply(500, f"store error: {exc}")
    if isinstance(exc, HTTPException):
        return error_reply(exc.status_code, str(exc.detail),
                           tuple(exc.headers.items()) if exc.headers else ())
    logger.error("unhandled error on %s %s", method, path, exc_info=exc)
    return error_reply(500, "internal error")


async def engine_error(request: Request, exc: Exception) -> Response:
    """Handler for :class:`EngineError`."""
    return reply_for(exc, request.method, request.url.path).response()


async def store_error(request: Request, exc: Exception) -> Response:
    """Handler for :class:`StoreError`: 503 when retrying may help, else 500."""
    return reply_for(exc, request.method, request.url.path).response()


async def http_error(request: Request, exc: Exception) -> Response:
    """Handler for Starlette's HTTPException (routing 404/405 and our BadRequestError)."""
    return reply_for(exc, request.method, request.url.path).response()


async def internal_error(request: Request, exc: Exception) -> Response:
    """Last resort: a bug. Logged with its traceback; the client sees a short 500."""
    return reply_for(exc, request.method, request.url.path).response()


EXCEPTION_HANDLERS: dict[Any, Any] = {
    EngineError: engine_error,
    StoreError: store_error,
    HTTPException: http_error,
    Exception: internal_error,
}
