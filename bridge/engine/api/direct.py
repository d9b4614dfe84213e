"""The embedded engine's direct path: a hot route answered in the calling thread.

:class:`DirectPath` matches a request against :data:`~bridge.engine.api.hot.HOT_ROUTES` and
runs the route's handler right there, in the thread that asked, with the checks the app makes
(415 and 413 before the handler) and its error mapping
(:func:`~bridge.engine.api.errors.reply_for`), and times it into the same request histogram
the app's middleware feeds. So a worker or client in the engine's process pays no hop to the
event loop and no ASGI machinery for the calls every workflow makes.

A held poll or ``/wait`` waits in the calling thread too, woken by the hub's thread waiters.
It answers None, and the caller sends the request through the app on the loop instead,
whenever the app would do more: any other route, or an auth mode switched on. Core calls are
thread-safe (each is one store transaction), so any thread but the loop's may take this
path.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote

from bridge.engine.api import hot
from bridge.engine.api.errors import reply_for
from bridge.engine.api.parsing import check_body
from bridge.engine.api.state import ApiState

if TYPE_CHECKING:
    from bridge.engine.api.metrics import EngineMetrics

#: ``(status, lower-cased headers, body)``: one answer.
Answer = tuple[int, dict[str, str], bytes]


class DirectPath:
    """Answers hot routes in the calling thread.

    Args:
        state: the app's API state (engine, hub, limits, auth modes).
        metrics: the app's metrics, where each request is timed, or None to time nothing.
    """

    def __init__(self, state: ApiState, metrics: EngineMetrics | None) -> None:
        self._state = state
        self._metrics = metrics

    def answer(self, method: str, target: str, body: bytes | None,
               headers: Mapping[str, str]) -> Answer | None:
        """The answer to ``method target`` (path and query), or None to send it to the app."""
        state = self._state
        if state.auth_api_key or state.jwt is not None:
            return None  # the app's middleware checks the token
        method = method.upper()
        raw_path, _, query = target.partition("?")
        path = unquote(raw_path) if "%" in raw_path else raw_path
        found = hot.match(method, path)
        if found is None:
            return None
        route, params = found
        started = time.perf_counter()
        data = body or b""
        try:
            if route.check_path is not None:
                route.check_path(params)
            if route.reads_body:
                check_body(_header(headers, "content-type"), len(data), state.max_body_bytes)
            reply = route.handler(state, hot.HotCall(params, data, query))
        except Exception as exc:  # noqa: BLE001 - every error becomes its answer
            reply = reply_for(exc, method, path)
        self._time(method, route.path, reply.status, time.perf_counter() - started)
        return reply.answer()

    def _time(self, method: str, route: str, status: int, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.request(method, route, status, seconds)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
