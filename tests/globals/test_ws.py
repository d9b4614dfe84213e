"""ws.* against a real websockets server (lua-globals §3.15)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.sync.server import Server, ServerConnection, serve


def _handler(conn: ServerConnection) -> None:
    for message in conn:
        if message == "close":
            conn.close()
            return
        if message == "binary":
            conn.send("bin\u00e9".encode())
            conn.send(b"\xff\xfe")  # not UTF-8: skipped by recv
            conn.send("after")
            continue
        if message == "ping":
            conn.ping()
        conn.send(f"echo:{message!s}")


@pytest.fixture
def ws_url() -> Iterator[str]:
    server: Server = serve(_handler, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    server.shutdown()
    thread.join(timeout=10)


def test_send_and_recv_text(lua: Callable[..., Any], ws_url: str) -> None:
    assert lua("local c = ws.connect(...) ws.send(c, 'hi') local r = ws.recv(c) ws.close(c) return r",
               ws_url.encode()) == "echo:hi"


def test_utf8_binary_is_returned_and_other_binary_skipped(lua: Callable[..., Any], ws_url: str) -> None:
    assert lua("local c = ws.connect(...) ws.send(c, 'binary') return ws.recv(c), ws.recv(c)",
               ws_url.encode()) == ("bin\u00e9", "after")


def test_pings_are_skipped(lua: Callable[..., Any], ws_url: str) -> None:
    assert lua("local c = ws.connect(...) ws.send(c, 'ping') return ws.recv(c)", ws_url.encode()) == "echo:ping"


def test_recv_after_close_frame_raises(lua_error: Callable[..., str], ws_url: str) -> None:
    assert lua_error("local c = ws.connect(...) ws.send(c, 'close') ws.recv(c)",
                     ws_url.encode()) == "ws.recv: connection closed"


def test_tasks_wait_on_their_own_sockets(lua: Callable[..., Any], ws_url: str) -> None:
    got = lua(
        "local url = ... local hs = {}\n"
        "for i = 1, 3 do hs[i] = async.spawn(function()\n"
        "  local c = ws.connect(url) ws.send(c, 'n' .. i) local r = ws.recv(c) ws.close(c) return r end) end\n"
        "return hs[1]:await()[1], hs[2]:await()[1], hs[3]:await()[1]", ws_url.encode())
    assert got == ("echo:n1", "echo:n2", "echo:n3")


def test_connect_refused(lua_error: Callable[..., str]) -> None:
    assert lua_error("ws.connect('ws://127.0.0.1:1')") == "ws.connect: IO error: Connection refused (os error 111)"


@pytest.mark.parametrize("fn", ["send", "recv", "close"])
def test_wrong_connection_argument(lua_error: Callable[..., str], fn: str) -> None:
    assert lua_error(f"ws.{fn}({{}}, 'x')") == f"ws.{fn}: first argument must be a ws connection"
