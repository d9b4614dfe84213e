"""``http.serve(port, routes)`` and ``_SERVER_PORT`` (lua-globals §3.1, §1.4).

uvicorn and starlette serve the socket on a thread of their own; the Lua state is only
touched on the script's thread. Each request becomes a :class:`Call` put on a queue; the
script's thread takes calls off it (an async wait, so tasks run meanwhile), runs each
handler as a task of the runtime's scheduler, and hands the reply back to the server's event
loop, where the request waits on a future. A slow handler therefore holds only its own
request. Like assay, ``http.serve`` never returns; it raises once the runtime is closed.

Routes are read into Python once (each handler anchored). Matching: the exact path, then
``prefix/*`` patterns from the longest prefix to the shortest, then ``/*``; no match is a
404 ``not found`` answered by the server thread alone. A handler that raises or returns a
non-table gives a 500 ``handler error: <err>``. SSE responses (``sse = function(send)``) are
collected while the function runs and sent when it returns (not streamed event by event).
"""

from __future__ import annotations

import itertools
import queue
import threading
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table, to_str
from bridge.globals.json import encode_lua_value
from bridge.runtime.boundary import Anchor
from bridge.runtime.lua import lua_type
from bridge.runtime.scheduler import Blocking, Outcome, Pending

if TYPE_CHECKING:
    # asyncio, socket (and uvicorn) are imported when a script serves, not when the global is
    # installed; so are logging and urllib.parse (W7 cold start)
    import asyncio
    import socket

    from bridge.runtime.host import LuaHost

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_SERVE_LUA = r"""
local start, next_call, spawn, respond = ...
local pcall = pcall
return function(port, routes)
    local server = start(port, routes)
    while true do
        local call = next_call(server)
        local handler, req, id = call.handler, call.req, call.id
        spawn(server, function()
            local ok, res = pcall(handler, req)
            respond(server, id, ok, res)
        end)
    end
end
"""


# Plain classes, not dataclasses: importing dataclasses costs every ``assay-bridge run`` a
# tenth of its start (W7 cold start).
class Reply:
    """What the server sends back for one request."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Call:
    """One request waiting for its handler; no Lua object in it."""

    __slots__ = ("id", "handler", "request", "loop", "future")

    def __init__(self, id: int, handler: Anchor, request: dict[str, Any],  # noqa: A002
                 loop: asyncio.AbstractEventLoop, future: asyncio.Future[Reply]) -> None:
        self.id = id
        self.handler = handler
        self.request = request
        self.loop = loop
        self.future = future


class Server:
    """One ``http.serve`` server: its routes, the uvicorn thread and the queue of calls."""

    def __init__(self, routes: dict[str, dict[str, Anchor]], port: int = 0) -> None:
        self.routes = routes
        self.port = port
        self.calls: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self.pending: dict[int, Call] = {}
        self.tasks: list[int] = []
        self.ids: itertools.count[int] = itertools.count()
        self.uvicorn_server: Any = None
        self.thread: threading.Thread | None = None

    def match(self, method: str, path: str) -> Anchor | None:
        """The handler of ``method path`` by assay's matching order, or None."""
        table = self.routes.get(method)
        if not table:
            return None
        if path in table:
            return table[path]
        wildcards = sorted((p[:-2] for p in table if p.endswith("/*")), key=len, reverse=True)
        for prefix in wildcards:
            if prefix == "" or path == prefix or path.startswith(prefix + "/"):
                return table[prefix + "/*"]
        return None

    def stop(self) -> None:
        """Stop the server thread and release the script's wait."""
        if self.uvicorn_server is not None:
            self.uvicorn_server.should_exit = True
        self.calls.put(None)
        if self.thread is not None:
            self.thread.join(timeout=5)
        for call in list(self.pending.values()):
            _answer(call, Reply(503, [("content-type", "text/plain")], b"server stopped"))
        self.pending.clear()


class ServeState:
    """The servers a runtime started (stopped when it closes)."""

    def __init__(self) -> None:
        self.servers: list[Server] = []

    def close(self) -> None:
        """Stop every server."""
        for s in self.servers:
            s.stop()
        self.servers.clear()


def _answer(call: Call, reply: Reply) -> None:
    def settle() -> None:
        if not call.future.done():
            call.future.set_result(reply)

    try:
        call.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the server's loop has ended
        pass


def _text(status: int, body: str) -> Reply:
    return Reply(status, [("content-type", "text/plain; charset=utf-8")], body.encode())


# -- the server thread ----------------------------------------------------------------------

def _make_app(server: Server) -> Any:
    import asyncio
    from urllib.parse import parse_qsl

    from starlette.requests import Request
    from starlette.responses import Response

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        method = request.method.upper()
        path = request.url.path
        handler = server.match(method, path)
        if handler is None:
            reply = _text(404, "not found")
        else:
            body = await request.body()
            query = scope.get("query_string", b"").decode("latin-1")
            headers: dict[str, str] = {}
            for k, v in scope["headers"]:
                headers[k.decode("latin-1").lower()] = v.decode("latin-1")
            loop = asyncio.get_running_loop()
            call = Call(next(server.ids), handler, {
                "method": method, "path": path, "query": query,
                "params": dict(parse_qsl(query, keep_blank_values=True)),
                "headers": headers, "body": body.decode("utf-8", "replace"),
            }, loop, loop.create_future())
            server.calls.put(call)
            reply = await call.future
        response = Response(reply.body, status_code=reply.status)
        response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in reply.headers] + [
            (b"content-length", str(len(reply.body)).encode())]
        await response(scope, receive, send)

    return app


def _start_thread(server: Server, sock: socket.socket) -> None:
    import asyncio

    import uvicorn

    config = uvicorn.Config(_make_app(server), log_level="warning", access_log=False,
                            lifespan="off", loop="asyncio", timeout_graceful_shutdown=1)
    uv = uvicorn.Server(config)
    server.uvicorn_server = uv
    started = threading.Event()

    def run() -> None:
        async def main() -> None:
            task = asyncio.ensure_future(uv.serve(sockets=[sock]))
            while not uv.started and not task.done():
                await asyncio.sleep(0.005)
            started.set()
            await task

        try:
            asyncio.run(main())
        except Exception:  # noqa: BLE001 - logged; the script sees no more requests
            import logging

            logging.getLogger(__name__).exception("http.serve: the server stopped")
        finally:
            started.set()

    server.thread = threading.Thread(target=run, name=f"http.serve:{server.port}", daemon=True)
    server.thread.start()
    started.wait()


# -- on the Lua thread ------------------------------------------------------------------------

def _read_routes(rt: LuaHost, routes: Any) -> dict[str, dict[str, Anchor]]:
    out: dict[str, dict[str, Anchor]] = {}
    for method, table in routes.items():
        if not isinstance(method, bytes) or not is_table(table):
            continue
        paths: dict[str, Anchor] = {}
        for path, fn in table.items():
            if isinstance(path, bytes) and lua_type(fn) == "function":
                paths[path.decode("utf-8", "replace")] = rt.anchor(fn)
        out.setdefault(method.decode("utf-8", "replace").upper(), {}).update(paths)
    return out


def _reply_of(rt: LuaHost, ok: Any, res: Any) -> Reply:
    if not ok:
        from bridge.globals.async_ import error_text
        return _text(500, f"handler error: runtime error: {error_text(rt, res)}")
    if not is_table(res):
        return _text(500, "handler error: handler must return a table")
    status = res[b"status"]
    code = status if isinstance(status, int) and not isinstance(status, bool) else 200
    headers: list[tuple[str, str]] = []
    given = res[b"headers"]
    if given is not None and is_table(given):
        for k, v in given.items():
            name = to_str(rt, k)
            if is_table(v):
                headers.extend((name, to_str(rt, item)) for item in v.values())
            else:
                headers.append((name, to_str(rt, v)))
    has_type = any(k.lower() == "content-type" for k, _ in headers)
    if res[b"json"] is not None:
        body = encode_lua_value(rt, res[b"json"])
        if not has_type:
            headers.append(("content-type", "application/json"))
    elif lua_type(res[b"sse"]) == "function":
        body = _collect_sse(rt, res[b"sse"])
        for name, value in (("content-type", "text/event-stream"), ("cache-control", "no-cache"),
                            ("connection", "keep-alive")):
            if not any(k.lower() == name for k, _ in headers):
                headers.append((name, value))
    else:
        raw = res[b"body"]
        body = raw if isinstance(raw, bytes) else b"" if raw is None else to_str(rt, raw).encode()
        if not has_type:
            headers.append(("content-type", "text/plain"))
    return Reply(code, headers, body)


def _collect_sse(rt: LuaHost, fn: Any) -> bytes:
    parts: list[str] = []

    def send(event: Any = None, *_: Any) -> None:
        if not is_table(event):
            raise LuaCallError("http.serve: send expects an event table")
        lines = []
        for name in ("event", "id", "retry"):
            v = event[name.encode()]
            if v is not None:
                lines.append(f"{name}: {to_str(rt, v)}")
        data = event[b"data"]
        if data is not None:
            lines.extend(f"data: {line}" for line in to_str(rt, data).split("\n"))
        parts.append("\n".join(lines) + "\n\n")

    fn(rt.function(send, "send"))
    return "".join(parts).encode()


def install(rt: LuaHost, http_table: Any) -> None:
    """Add ``serve`` to the ``http`` table ``http_table``."""
    serve_state = rt.provide(ServeState(), close=lambda: serve_state.close())
    scheduler = rt.scheduler

    def start(port: Any = None, routes: Any = None, *_: Any) -> Server:
        if not isinstance(port, int) or isinstance(port, bool):
            raise LuaCallError("http.serve: first argument must be a port number")
        if not is_table(routes):
            raise LuaCallError("http.serve: second argument must be a routes table")
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port & 0xFFFF))
            sock.listen(2048)
        except OSError as exc:
            sock.close()
            raise LuaCallError(f"http.serve: bind failed: {exc}") from None
        server = Server(_read_routes(rt, routes), port=sock.getsockname()[1])
        rt.set_global("_SERVER_PORT", server.port)
        serve_state.servers.append(server)
        _start_thread(server, sock)
        return server

    def begin_next(server: Any = None, *_: Any) -> Pending:
        if not isinstance(server, Server):
            raise LuaCallError("http.serve: not a server")
        done = [t for t in server.tasks if scheduler.is_done(t)]
        for t in done:
            scheduler.take_result(t)
        if done:
            server.tasks = [t for t in server.tasks if t not in set(done)]
        return Blocking(lambda: (server, server.calls.get()))

    def finish_next(outcome: Outcome) -> Any:
        server, call = outcome.unwrap()
        if call is None:
            raise LuaCallError("http.serve: server stopped")
        server.pending[call.id] = call
        table = rt.lua.table()
        table[b"handler"] = call.handler.get()
        table[b"req"] = rt.to_lua(call.request)
        table[b"id"] = call.id
        return table

    def spawn(server: Any, fn: Any = None, *_: Any) -> None:
        if isinstance(server, Server):
            server.tasks.append(scheduler.spawn(fn))

    def respond(server: Any, call_id: Any, ok: Any, res: Any = None, *_: Any) -> None:
        if not isinstance(server, Server):
            return
        call = server.pending.pop(call_id, None)
        if call is None:
            return
        try:
            reply = _reply_of(rt, ok, res)
        except LuaCallError as exc:
            reply = _text(500, f"handler error: {exc}")
        _answer(call, reply)

    serve = rt.compile(_SERVE_LUA, "=http.serve")(
        rt.function(start, "http.serve"),
        scheduler.async_function("http.serve", begin_next, finish_next),
        rt.function(spawn, "http.serve"),
        rt.function(respond, "http.serve"),
    )
    http_table[b"serve"] = serve
