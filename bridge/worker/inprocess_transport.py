"""The transport of workflow.lua's engine calls to an engine in this process.

``Worker(engine=...)`` gives workflow.lua the engine's base URL (its HTTP URL when it serves,
else :data:`~bridge.wire.IN_PROCESS_URL`). While the worker's hook on ``M._api`` runs, this
transport answers requests to that base URL with the engine's
:meth:`~bridge.wire.InProcessEngine.request`: the same app, the same bytes as over HTTP, no
socket. Anything else goes the way :class:`~bridge.worker.transport.EngineTransport` sends it.
A closed engine is a transport failure, retried like an engine that went away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.errors import EngineClosedError
from bridge.globals import http
from bridge.globals.http import HttpRequest, HttpResponse, HttpTransportError
from bridge.worker.transport import EngineTransport

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost
    from bridge.wire import InProcessEngine


class InProcessTransport(EngineTransport):
    """Sends a runtime's calls to ``base_url`` to ``engine`` in-process.

    Args:
        http_state: the runtime's ``http`` state.
        engine: the in-process engine.
        base_url: the URL workflow.lua was given for it (no trailing slash).
    """

    def __init__(self, http_state: http.HttpState, engine: InProcessEngine, base_url: str) -> None:
        super().__init__(http_state)
        self._engine = engine
        self._prefix = base_url.rstrip("/") + "/"

    @classmethod
    def install_for(cls, rt: LuaHost, engine: InProcessEngine, base_url: str) -> InProcessTransport:
        """A transport for ``rt`` answering ``base_url`` in-process (closed with ``rt``)."""
        transport = cls(http.state(rt), engine, base_url)
        return rt.provide(transport, close=transport.close)

    def send(self, req: HttpRequest) -> HttpResponse:
        """Answer a request to the engine's base URL in-process; send anything else."""
        if not req.url.startswith(self._prefix):
            return super().send(req)
        path = req.url[len(self._prefix) - 1:]
        try:
            status, headers, body = self._engine.request(req.method.upper(), path, req.data,
                                                         req.headers)
        except EngineClosedError:
            raise HttpTransportError(http.transport_failure(req.method, req.url)) from None
        return HttpResponse(status, headers, body)
