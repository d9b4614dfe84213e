"""The worker's transport for workflow.lua's own calls to its engine.

workflow.lua sends every engine call through ``http.get/post/delete``. While the worker's hook
on ``M._api`` runs (:mod:`bridge.worker.engine_calls`), :meth:`EngineTransport.engine_call`
installs this transport as the ``http`` global's override, so those calls skip ``requests``'
per-call work (settings merge, proxy lookup in the environment, hooks: ~0.35 ms a call, more
than the engine's answer) and go through :mod:`bridge.http_direct`, sending the same
request. When a proxy variable or a ``.netrc`` file would change the request, when the URL is
not plain ``http://``, and for redirects, the request takes the ``requests`` path like every
other call. User calls of ``http.*`` are untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.globals import http
from bridge.globals.http import HttpRequest, HttpResponse, HttpTransportError
from bridge.http_direct import REDIRECTS, DirectClient, DirectError, direct_ok

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

__all__ = ["EngineTransport", "direct_ok"]


class EngineCall:
    """The block of one engine call (see :meth:`EngineTransport.engine_call`); a plain class,
    not a generator, as every engine call enters one."""

    __slots__ = ("_state", "_send", "_previous")

    def __init__(self, state: http.HttpState,
                 send: Callable[[HttpRequest], HttpResponse]) -> None:
        self._state = state
        self._send = send
        self._previous: tuple[Any, bool] | None = None

    def __enter__(self) -> None:
        state = self._state
        self._previous = state.transport_override, state.keep_empty_objects
        state.transport_override, state.keep_empty_objects = self._send, True

    def __exit__(self, *exc_info: object) -> None:
        assert self._previous is not None
        self._state.transport_override, self._state.keep_empty_objects = self._previous


class EngineTransport:
    """Sends a runtime's engine calls over keep-alive sockets (one per engine address)."""

    def __init__(self, http_state: http.HttpState) -> None:
        self._http = http_state
        self._direct = DirectClient()
        self._lock = threading.Lock()  # a task's engine call may run on an I/O thread

    @classmethod
    def install(cls, rt: LuaHost) -> EngineTransport:
        """The transport of ``rt`` (made on first use, closed with the runtime)."""
        try:
            return rt.state(cls)
        except KeyError:
            transport = cls(http.state(rt))
            return rt.provide(transport, close=transport.close)

    def engine_call(self) -> EngineCall:
        """A context manager: the requests made inside its block go through this transport,
        their table bodies keeping the empty objects the worker was given as ``{}``."""
        return EngineCall(self._http, self.send)

    def api_call(self, rt: LuaHost, method: Any, path: Any, body: Any) -> Any:
        """workflow.lua's ``M._api(method, path, body)`` answered by the transport itself, or
        None: send it through workflow.lua's own ``M._api`` (what this transport does)."""
        return None

    def send(self, req: HttpRequest) -> HttpResponse:
        """Send one request (a transport for :class:`~bridge.globals.http.HttpRequest`)."""
        if not req.url.startswith("http://") or not direct_ok():
            return self._http.send_with_requests(req)
        try:
            with self._lock:
                status, headers, content = self._direct.request(
                    req.method.upper(), req.url, req.data, req.headers, req.client.timeout_s)
        except ValueError:  # not sendable as is: requests builds (or refuses) it
            return self._http.send_with_requests(req)
        except DirectError:
            raise HttpTransportError(http.transport_failure(req.method, req.url)) from None
        if status in REDIRECTS and req.client.follow_redirects and "location" in headers:
            return self._http.send_with_requests(req)
        kept = {name: value for name, value in headers.items()
                if value.isascii() and (value.isprintable()
                                        or all(32 <= ord(c) < 127 or c == "\t" for c in value))}
        return HttpResponse(status, kept, content)

    def close(self) -> None:
        """Close the sockets."""
        self._direct.close()
