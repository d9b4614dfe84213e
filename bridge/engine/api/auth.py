"""Authentication of the API (engine-api §4), as a pure ASGI middleware: API keys, JWTs from an
OIDC issuer, or both.

When a mode is on, every ``/api/v1`` route needs ``Authorization: Bearer <token>``, except
:data:`OPEN_PATHS`: health and version (probes must work under auth), the OpenAPI document and
its HTML page (open in assay too). ``/metrics`` needs a token too unless the server opens it.
Failures are 401 ``{"error": ...}`` with assay's messages.

* **API keys** are checked by the core (``verify_api_key``); a positive answer is remembered for
  :data:`CACHE_S` seconds, keyed by the key's SHA-256, so a busy worker does not cost a database
  read per poll.
* **JWTs** are checked by :class:`~bridge.engine.api.jwt_auth.JwtVerifier`.
* **Both** (assay takes the issuer and ignores API keys): a token that has the form of an API
  key (``assay_`` + 64 hex digits) is checked as an API key, any other as a JWT.

Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.engine.api import jwt_auth
from bridge.engine.api.errors import error_response
from bridge.engine.api.state import ApiState
from bridge.wire import API_PREFIX

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset(
    {f"{API_PREFIX}/health", f"{API_PREFIX}/version", f"{API_PREFIX}/openapi.json",
     f"{API_PREFIX}/docs"}
)
METRICS_PATH = "/metrics"
CACHE_S = 30.0
MISSING_MESSAGE = "Missing Authorization: Bearer <api-key>"
INVALID_MESSAGE = "Invalid API key"
_API_KEY_FORM = re.compile(r"assay_[0-9a-f]{64}")


def needs_auth(path: str, *, metrics_open: bool = False) -> bool:
    """Whether ``path`` is protected when an auth mode is on."""
    if path in OPEN_PATHS:
        return False
    if path == METRICS_PATH:
        return not metrics_open
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class AuthMiddleware:
    """Rejects unauthenticated requests to protected paths with 401.

    Args:
        app: the wrapped ASGI app.
        state: the API state: ``auth_api_key`` and ``jwt`` say which modes are on.
    """

    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app = app
        self.state = state
        self._verified: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        if (scope["type"] != "http" or not (state.auth_api_key or state.jwt)
                or not needs_auth(scope["path"], metrics_open=state.metrics_open)):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            missing = jwt_auth.MISSING_MESSAGE if state.jwt else MISSING_MESSAGE
            await error_response(401, missing)(scope, receive, send)
            return
        if state.jwt is not None and not (state.auth_api_key and _API_KEY_FORM.fullmatch(token)):
            try:
                await state.jwt.verify(token)
            except jwt_auth.JwtRejected as exc:
                logger.info("rejected a JWT on %s: %s", scope["path"], exc)
                await error_response(401, str(exc))(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        try:
            ok = await self._verify_key(token)
        except Exception:  # answered 500 like assay; the traceback goes to the log
            logger.exception("API key check failed on %s", scope["path"])
            await error_response(500, "auth check failed")(scope, receive, send)
            return
        if not ok:
            logger.info("rejected an invalid API key on %s", scope["path"])
            await error_response(401, INVALID_MESSAGE)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _verify_key(self, token: str) -> bool:
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
