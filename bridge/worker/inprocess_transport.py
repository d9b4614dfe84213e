"""The transport of workflow.lua's engine calls to an engine in this process.

``Worker(engine=...)`` gives workflow.lua the engine's base URL (its HTTP URL when it serves,
else :data:`~bridge.wire.IN_PROCESS_URL`). The worker's hook on ``M._api`` hands each call to
:meth:`InProcessTransport.api_call`, which builds the request workflow.lua's ``M._api`` would
send through the ``http`` global (the same path, the same body bytes) and returns the engine's
answer as the table ``http.post`` would have returned, without the round trip through Lua and
the ``http`` global. The engine's :meth:`~bridge.wire.InProcessEngine.request` answers it:
the same app, the same bytes as over HTTP, no socket. A report (commands, an activity's
completion or failure) holds back the wake-ups it causes until the loop's next call, which
follows at once, waits or returns; the transport releases them when it closes. Requests the
``http`` global still sends (a body ``M._api`` never passes) take
:meth:`InProcessTransport.send`, which answers those to the base URL the same way; anything
else goes the way :class:`~bridge.worker.transport.EngineTransport` sends it. A closed engine is a transport
failure, retried like an engine that went away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.errors import EngineClosedError
from bridge.globals import http
from bridge.globals.args import is_table
from bridge.globals.http import HttpRequest, HttpResponse, HttpTransportError
from bridge.globals.json import encode_lua_value
from bridge.wire import API_PREFIX
from bridge.worker.transport import EngineTransport

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost
    from bridge.wire import InProcessEngine


#: The methods workflow.lua's ``M._api`` sends (any other it refuses with its own error).
_METHODS = frozenset({b"GET", b"POST", b"DELETE"})
#: Ends of the paths of the reports after which ``workflow.listen`` polls at once (a
#: heartbeat first, at most): their wake-ups may wait for that poll (``hold_wakeups``).
_REPORTS = (b"/commands", b"/complete", b"/fail")


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

    def api_call(self, rt: LuaHost, method: Any, path: Any, body: Any) -> Any:
        """workflow.lua's ``M._api(method, path, body)``: its request answered in-process, as
        the ``http`` global's result table; None for a call ``M._api`` would refuse or encode
        otherwise (it then runs as written)."""
        if method not in _METHODS or not isinstance(path, bytes):
            return None
        verb = method.decode()
        data: bytes | None = None
        headers: dict[str, str] = {}  # the embedded engine has no auth: no token to send
        if verb == "POST":
            if body is None or body is False:
                body = rt.to_lua({})  # M._api posts `body or {}`
            if not is_table(body):
                return None
            data = encode_lua_value(rt, body, keep_empty_objects=True)
            headers["Content-Type"] = "application/json"
        target = API_PREFIX + path.decode("utf-8", "replace")
        try:
            report = data is not None and path.endswith(_REPORTS)
            status, answer_headers, content = self._engine.request(
                verb, target, data, headers, hold_wakeups=report)
        except EngineClosedError:
            url = self._prefix[:-1] + target
            raise HttpTransportError(http.transport_failure(verb.lower(), url)) from None
        return http.result_table(rt, HttpResponse(status, answer_headers, content))

    def close(self) -> None:
        """Wake what this runtime's last report held back (its loop has ended), then close
        the sockets."""
        self._engine.release_wakeups()
        super().close()

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
