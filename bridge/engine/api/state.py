"""What every handler needs: the engine, the notifier hub, and a way to call the sync core.

The engine core is plain synchronous Python (SQLite underneath). :func:`call` runs it in a worker
thread through a capacity limiter, so a slow transaction can delay its own request but never the
loop, the long-polls or the SSE streams.

:func:`call_hot` is for the worker's hot path (polls, commands, completions, heartbeats, start,
status reads): small transactions on indexed rows. On a local SQLite store it runs them on the
loop itself: such a call takes tens of microseconds, less than the hop to a thread and back,
which under load costs more (the loop and the thread hand the GIL to each other; measured: one
one-activity workflow 13.7 -> 9.3 ms). On PostgreSQL (network round trips, a pool that
may make a caller wait) it is :func:`call`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

from bridge.engine.api.jwt_auth import JwtVerifier
from bridge.engine.api.notify import Hub

if TYPE_CHECKING:
    from bridge.engine.core import Engine

T = TypeVar("T")


@dataclass
class ApiState:
    """Per-app state, stored on ``app.state.api``.

    Attributes:
        engine: the engine core.
        hub: the notifier the core reports to.
        auth_api_key: whether API-key auth is on.
        jwt: the JWT verifier when JWT auth (``--auth-issuer``) is on.
        metrics_open: ``/metrics`` answers without a token even when auth is on.
        poll_wait_s: how long an idle workflow-task poll is held open.
        max_body_bytes: request bodies above this size get 413.
        engine_threads: size of the thread limiter for core calls.
        inline_hot_calls: run :func:`call_hot` calls on the event loop (a local SQLite store).
    """

    engine: Engine
    hub: Hub
    auth_api_key: bool = False
    jwt: JwtVerifier | None = None
    metrics_open: bool = False
    poll_wait_s: float = 5.0
    max_body_bytes: int = 2 * 1024 * 1024
    engine_threads: int = 8
    inline_hot_calls: bool = False
    limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    def get_limiter(self) -> anyio.CapacityLimiter:
        """The thread limiter, created on first use inside the running loop."""
        if self.limiter is None:
            self.limiter = anyio.CapacityLimiter(self.engine_threads)
        return self.limiter


def api_state(request: Request) -> ApiState:
    """The :class:`ApiState` of the app serving ``request``."""
    state: ApiState = request.app.state.api
    return state


async def call(request: Request, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run one synchronous core call in a worker thread and return its result.

    Exceptions from the core propagate unchanged; :mod:`bridge.engine.api.errors` maps them.
    """
    return await run_sync(api_state(request), fn, *args, **kwargs)


async def run_sync(state: ApiState, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """:func:`call` for an app's ``state``."""
    return await anyio.to_thread.run_sync(
        functools.partial(fn, *args, **kwargs), limiter=state.get_limiter()
    )


async def call_hot(request: Request, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Like :func:`call`, for a short hot-path core call: on the loop when the store allows.

    Only for calls that touch a few indexed rows (never lists or whole histories).
    """
    return await run_hot(api_state(request), fn, *args, **kwargs)


async def run_hot(state: ApiState, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """:func:`call_hot` for an app's ``state``."""
    if state.inline_hot_calls:
        return fn(*args, **kwargs)
    return await run_sync(state, fn, *args, **kwargs)
