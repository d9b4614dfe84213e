"""``ws.connect/send/recv/close`` (lua-globals §3.15) over the ``websockets`` library.

Each call is async in assay's sense: the socket work runs on an I/O thread with
``websockets``' synchronous client (plain Python, no Lua), so inside a task only that task
waits. ``recv`` answers text messages, and binary ones that are valid UTF-8; pings and pongs
are handled by the library; a close or the end of the stream raises
``ws.recv: connection closed``.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError
from bridge.runtime.scheduler import Blocking, Outcome, Pending

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from bridge.runtime.host import LuaHost


# Plain classes, not dataclasses: importing dataclasses costs every ``assay-bridge run`` a
# tenth of its start (W7 cold start).
class WsConnection:
    """One ``ws.connect`` connection."""

    __slots__ = ("conn", "stack")

    def __init__(self, conn: ClientConnection, stack: ExitStack) -> None:
        self.conn = conn
        self.stack = stack

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.stack.close()


class WsState:
    """The connections a runtime opened (closed when it closes)."""

    def __init__(self) -> None:
        self.connections: list[WsConnection] = []

    def close(self) -> None:
        """Close every connection."""
        for c in self.connections:
            c.close()
        self.connections.clear()


def _connect(url: str) -> WsConnection:
    from websockets.sync.client import connect

    try:
        # used as the context manager it is: newer websockets refuse a bare connect()
        stack = ExitStack()
        return WsConnection(stack.enter_context(connect(url, open_timeout=30, max_size=None)), stack)
    except OSError as exc:
        if exc.errno is not None:  # tungstenite's wording for a socket error
            raise LuaCallError(f"ws.connect: IO error: {exc.strerror} (os error {exc.errno})") from None
        raise LuaCallError(f"ws.connect: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure becomes assay's text
        raise LuaCallError(f"ws.connect: {exc}") from None


def _send(ws: WsConnection, msg: str) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        ws.conn.send(msg)
    except ConnectionClosed:
        raise LuaCallError("ws.send: connection closed") from None
    except Exception as exc:  # noqa: BLE001 - any failure becomes assay's text
        raise LuaCallError(f"ws.send: {exc}") from None


def _recv(ws: WsConnection) -> str:
    from websockets.exceptions import ConnectionClosed

    while True:
        try:
            msg = ws.conn.recv()
        except ConnectionClosed:
            raise LuaCallError("ws.recv: connection closed") from None
        except Exception as exc:  # noqa: BLE001 - any failure becomes assay's text
            raise LuaCallError(f"ws.recv: {exc}") from None
        if isinstance(msg, str):
            return msg
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError:
            continue  # assay skips a binary message that is not UTF-8


def install(rt: LuaHost) -> None:
    """Install the ``ws`` global."""
    ws_state = rt.provide(WsState(), close=lambda: ws_state.close())

    def check(name: str, conn: Any) -> WsConnection:
        if not isinstance(conn, WsConnection):
            raise LuaCallError(f"ws.{name}: first argument must be a ws connection")
        return conn

    def begin_connect(url: Any = None, *_: Any) -> Pending:
        if not isinstance(url, bytes):
            raise LuaCallError("ws.connect: first argument must be a URL string")
        return Blocking(lambda: _connect(url.decode("utf-8", "replace")))

    def finish_connect(outcome: Outcome) -> Any:
        conn = outcome.unwrap()
        ws_state.connections.append(conn)
        return conn

    def begin_send(conn: Any = None, msg: Any = None, *_: Any) -> Pending:
        ws = check("send", conn)
        if not isinstance(msg, (bytes, int, float)) or isinstance(msg, bool):
            raise LuaCallError("ws.send: second argument must be a string")
        text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else rt.tostring(msg)
        return Blocking(lambda: _send(ws, text))

    def begin_recv(conn: Any = None, *_: Any) -> Pending:
        ws = check("recv", conn)
        return Blocking(lambda: _recv(ws))

    def begin_close(conn: Any = None, *_: Any) -> Pending:
        ws = check("close", conn)
        return Blocking(ws.close)

    def finish_none(outcome: Outcome) -> None:
        outcome.unwrap()

    def finish_text(outcome: Outcome) -> Any:
        return str(outcome.unwrap()).encode()

    table = rt.lua.table()
    table[b"connect"] = rt.scheduler.async_function("ws.connect", begin_connect, finish_connect)
    table[b"send"] = rt.scheduler.async_function("ws.send", begin_send, finish_none)
    table[b"recv"] = rt.scheduler.async_function("ws.recv", begin_recv, finish_text)
    table[b"close"] = rt.scheduler.async_function("ws.close", begin_close, finish_none)
    rt.set_global("ws", table)
