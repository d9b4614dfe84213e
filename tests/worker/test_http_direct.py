"""The worker's direct path to its engine (bridge/http_direct.py) answers like requests."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.http_direct import DirectClient, DirectError
from bridge.worker.transport import EngineTransport
from bridge.runtime.runtime import Runtime
from tests.helpers import LocalServer

CALL = """
local r = http[...](select(2, ...))
local names = {}
for k in pairs(r.headers) do names[#names + 1] = k end
table.sort(names)
local hs = {}
for _, k in ipairs(names) do
    if k ~= "date" and k ~= "server" then hs[#hs + 1] = k .. "=" .. r.headers[k] end
end
return r.status, r.body, table.concat(hs, ";")
"""


def both(rt: Runtime, *args: Any) -> tuple[Any, Any]:
    """The same call through requests and through the direct path."""
    plain = rt.execute(CALL, "=t", *args)
    with EngineTransport.install(rt).engine_call():
        direct = rt.execute(CALL, "=t", *args)
    return plain, direct


@pytest.mark.parametrize("path", ["/echo", "/status/404", "/status/500", "/binary", "/headers",
                                  "/empty", "/redirect", "/echo?q=a b&x=ü", "/pfad mit ü"])
def test_get_answers_like_requests(rt: Runtime, http_server: LocalServer, path: str) -> None:
    plain, direct = both(rt, b"get", f"{http_server.url}{path}".encode())
    assert direct == plain
    if path != "/redirect":  # (a redirect is sent again through requests, which follows it)
        seen = http_server.requests
        assert seen[-1].path == seen[-2].path and seen[-1].method == seen[-2].method


def test_post_sends_what_requests_sends(rt: Runtime, http_server: LocalServer) -> None:
    body = rt.execute('return {a = 1, b = {"x", "y"}}', "=t")
    opts = rt.execute('return {headers = {Authorization = "Bearer k", ["X-Test"] = "1"}}', "=t")
    plain, direct = both(rt, b"post", f"{http_server.url}/echo".encode(), body, opts)
    assert direct == plain
    a, b = http_server.requests[-2:]
    assert b.body == a.body
    drop = {"user-agent", "accept-encoding", "connection"}  # urllib3's own, not reqwest's
    assert {k: v for k, v in b.headers.items() if k not in drop} == \
        {k: v for k, v in a.headers.items() if k not in drop}
    empty = both(rt, b"post", f"{http_server.url}/echo".encode())
    assert empty[0] == empty[1]
    assert http_server.requests[-1].headers["content-length"] == "0"


def test_connections_are_kept_alive_and_reopened(rt: Runtime, http_server: LocalServer) -> None:
    client = DirectClient()
    try:
        for _ in range(3):
            status, _, _ = client.request("GET", f"{http_server.url}/echo", None, {}, 5.0)
            assert status == 200
        assert len(client._conns) == 1
        sock = next(iter(client._conns.values())).sock
        sock.shutdown(socket.SHUT_WR)  # the server sees the end and closes its side
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed by the server while idle
        assert client.request("GET", f"{http_server.url}/echo", None, {}, 5.0)[0] == 200
        assert next(iter(client._conns.values())).sock is not sock
    finally:
        client.close()


def test_an_unreachable_engine_is_a_transport_error(rt: Runtime) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with EngineTransport.install(rt).engine_call():
        ok, err = rt.execute("return pcall(http.get, ...)", "=t", f"http://127.0.0.1:{port}/x".encode())
    assert ok is False
    assert str(err) == f"http.get failed: error sending request for url (http://127.0.0.1:{port}/x)"


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes], str]]:
    """A server that answers one connection with fixed bytes and closes; returns its URL."""
    servers: list[socket.socket] = []

    def start(answer: bytes) -> str:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        servers.append(srv)

        def serve() -> None:
            conn, _ = srv.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                conn.sendall(answer)

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{srv.getsockname()[1]}/x"

    yield start
    for srv in servers:
        srv.close()


@pytest.mark.parametrize("answer, body", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
     b"abcde"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
    (b"HTTP/1.0 200 OK\r\n\r\nuntil close", b"until close"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
     % len(gzip.compress(b"zipped")) + gzip.compress(b"zipped"), b"zipped"),
])
def test_response_framings(raw_server: Callable[[bytes], str], answer: bytes, body: bytes) -> None:
    client = DirectClient()
    try:
        status, _, data = client.request("GET", raw_server(answer), None, {}, 5.0)
    finally:
        client.close()
    assert (status, data) == (200, body)


def test_a_cut_off_response_is_an_error(raw_server: Callable[[bytes], str]) -> None:
    client = DirectClient()
    with pytest.raises(DirectError):
        client.request("GET", raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), None, {}, 5.0)
    assert client._conns == {}


def test_unsendable_headers_are_refused(rt: Runtime) -> None:
    with pytest.raises(ValueError):
        DirectClient().request("GET", "http://127.0.0.1:1/x", None, {"X": "a\r\nB: c"}, 1.0)
