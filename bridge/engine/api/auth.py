"""API-key authentication (engine-api §4), as a pure ASGI middleware.

When on, every ``/api/v1`` route needs ``Authorization: Bearer <key>``, except
:data:`OPEN_PATHS`: health and version (compat-policy: probes must work under auth), the
OpenAPI document and its HTML page (open in assay too). Failures are 401 ``{"error": ...}``
with assay's messages. Keys are checked by the core (``verify_api_key``); a positive answer is
remembered for :data:`CACHE_S` seconds, keyed by the key's SHA-256, so a busy worker does not
cost a database read per poll.
Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import time

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.engine.api.errors import error_response
from bridge.engine.api.state import ApiState

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset(
    {"/api/v1/health", "/api/v1/version", "/api/v1/openapi.json", "/api/v1/docs"}
)
API_PREFIX = "/api/v1"
CACHE_S = 30.0
MISSING_MESSAGE = "Missing Authorization: Bearer <api-key>"
INVALID_MESSAGE = "Invalid API key"


def needs_auth(path: str) -> bool:
    """Whether ``path`` is protected when API-key auth is on."""
    if path in OPEN_PATHS:
        return False
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class ApiKeyAuthMiddleware:
    """Rejects unauthenticated requests to protected paths with 401.

    Args:
        app: the wrapped ASGI app.
        state: the API state; auth applies only while ``state.auth_api_key`` is true.
    """

    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app = app
        self.state = state
        self._verified: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.state.auth_api_key or not needs_auth(scope["path"]):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            await error_response(401, MISSING_MESSAGE)(scope, receive, send)
            return
        try:
            ok = await self._verify(token)
        except Exception:  # answered 500 like assay; the traceback goes to the log
            logger.exception("API key check failed on %s", scope["path"])
            await error_response(500, "auth check failed")(scope, receive, send)
            return
        if not ok:
            logger.info("rejected an invalid API key on %s", scope["path"])
            await error_response(401, INVALID_MESSAGE)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _verify(self, token: str) -> bool:
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        now = time.monotonic()
        until = self._verified.get(digest)
        if until is not None and until > now:
            return True
        ok = await anyio.to_thread.run_sync(
            self.state.engine.verify_api_key, token, limiter=self.state.get_limiter()
        )
        if ok:
            if len(self._verified) > 1000:
                self._verified.clear()
            self._verified[digest] = now + CACHE_S
        return bool(ok)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            text: str = bytes(value).decode("latin-1")
            if text.startswith("Bearer ") and len(text) > len("Bearer "):
                return text[len("Bearer ") :]
            return None
    return None
