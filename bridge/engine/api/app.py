"""Builds the Starlette app of the engine API.

The app is a thin layer: :mod:`~bridge.engine.api.routes` is the one route table, each handler
parses its input, makes one core call and serializes the result;
:mod:`~bridge.engine.api.errors` turns every exception into ``{"error": ...}``. The hot routes
(:mod:`~bridge.engine.api.hot`) are plain ASGI endpoints, and with auth off
:class:`~bridge.engine.api.hot_routes.HotFront` hands their requests over before the route
table and the other middleware. The app does not
own the engine or the background runner: :mod:`bridge.engine.server` does. The dashboard's
routes (:mod:`bridge.engine.dashboard.routes`) sit beside the API's, outside ``/api/v1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from bridge.engine.api.auth import METRICS_PATH, AuthMiddleware
from bridge.engine.api.errors import EXCEPTION_HANDLERS
from bridge.engine.api.hot_routes import HotFront
from bridge.engine.api.jwt_auth import JwtVerifier
from bridge.engine.api.metrics import EngineMetrics, RequestMetricsMiddleware
from bridge.engine.api.notify import Hub
from bridge.engine.api.routes import ROUTES
from bridge.engine.api.state import ApiState
from bridge.engine.dashboard.routes import DASHBOARD_ROUTES
from bridge.engine.store.base import CAP_INLINE_CALLS

if TYPE_CHECKING:
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)


def create_app(
    engine: Engine,
    hub: Hub,
    *,
    auth_api_key: bool = False,
    jwt: JwtVerifier | None = None,
    metrics_open: bool = False,
    poll_wait_s: float = 5.0,
    max_body_bytes: int = 2 * 1024 * 1024,
    engine_threads: int = 8,
) -> Starlette:
    """Build the ASGI app serving ``engine``.

    Args:
        engine: the engine core; its notifier must be ``hub``.
        hub: the notifier hub; bound to the serving loop at startup, closed at shutdown.
        auth_api_key: accept API keys as ``Authorization: Bearer <key>`` (and require a token).
        jwt: accept JWTs of this issuer (and require a token).
        metrics_open: serve ``/metrics`` without a token even when auth is on.
        poll_wait_s: how long an idle workflow-task poll is held open; 0 answers at once.
        max_body_bytes: request bodies above this get 413.
        engine_threads: how many core calls may run at once.
    """
    state = ApiState(
        engine=engine,
        hub=hub,
        auth_api_key=auth_api_key,
        jwt=jwt,
        metrics_open=metrics_open,
        poll_wait_s=poll_wait_s,
        max_body_bytes=max_body_bytes,
        engine_threads=engine_threads,
        inline_hot_calls=CAP_INLINE_CALLS in engine.store.capabilities,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        state.get_limiter()
        try:
            yield
        finally:
            hub.close()

    metrics = EngineMetrics(engine, hub)
    routes = [*ROUTES, *DASHBOARD_ROUTES, Route(METRICS_PATH, metrics.endpoint, methods=["GET"])]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(HotFront, state=state, metrics=metrics),
                    Middleware(RequestMetricsMiddleware, metrics=metrics, routes=routes),
                    Middleware(AuthMiddleware, state=state)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.api = state
    app.state.metrics = metrics
    return app
