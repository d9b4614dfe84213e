"""http.serve and _SERVER_PORT (lua-globals §3.1): a script run by ``assay-bridge run``, a real client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

SCRIPT = r"""
local released = false
async.spawn(function()
    sleep(0)
    print("PORT " .. _SERVER_PORT)
    io.stdout:flush()
end)
http.serve(0, {
    GET = {
        ["/hello"] = function(req)
            return {body = "hi " .. req.method .. " " .. req.path .. " " .. req.query}
        end,
        ["/req"] = function(req)
            return {json = {params = req.params, agent = req.headers["x-agent"], body = req.body}}
        end,
        ["/headers"] = function(req)
            return {status = 201, headers = {["x-one"] = "1", ["x-many"] = {"a", "b"}}, json = {ok = true}}
        end,
        ["/api/*"] = function(req) return {body = "api " .. req.path} end,
        ["/api/v1/*"] = function(req) return {body = "v1 " .. req.path} end,
        ["/*"] = function(req) return {status = 404, body = "fallback " .. req.path} end,
        ["/boom"] = function(req) error("boom") end,
        ["/nontable"] = function(req) return 42 end,
        ["/wait"] = function(req)
            while not released do sleep(0.01) end
            return {body = "released"}
        end,
        ["/release"] = function(req) released = true return {body = "ok"} end,
        ["/sse"] = function(req)
            return {sse = function(send)
                send({event = "tick", id = "1", data = "line1\nline2"})
                send({data = "x"})
            end}
        end,
    },
    POST = {["/echo"] = function(req) return {body = req.body, headers = {["Content-Type"] = "text/x-echo"}} end},
    PUT = {["/m"] = function(req) return {body = req.method} end},
    PATCH = {["/m"] = function(req) return {body = req.method} end},
    DELETE = {["/m"] = function(req) return {body = req.method} end},
})
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    script = tmp_path_factory.mktemp("serve") / "serve.lua"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "run", str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), line
    port = int(line.split()[1])
    assert port > 0
    yield f"http://127.0.0.1:{port}", proc
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


@pytest.fixture
def url(served: tuple[str, subprocess.Popen[str]]) -> str:
    return served[0]


def test_get_route_sees_method_path_and_raw_query(url: str) -> None:
    r = requests.get(f"{url}/hello?a=1&b=x+y", timeout=10)
    assert (r.status_code, r.text) == (200, "hi GET /hello a=1&b=x+y")
    assert r.headers["content-type"] == "text/plain"


def test_req_has_params_headers_and_body(url: str) -> None:
    r = requests.get(f"{url}/req?a=1&a=2&b=x+y", headers={"X-Agent": "me"}, data="payload", timeout=10)
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"params": {"a": "2", "b": "x y"}, "agent": "me", "body": "payload"}


def test_status_and_headers_with_repeated_values(url: str) -> None:
    r = requests.get(f"{url}/headers", timeout=10)
    assert r.status_code == 201
    assert r.headers["x-one"] == "1"
    assert r.raw.headers.getlist("x-many") == ["a", "b"]
    assert r.json() == {"ok": True}


def test_post_body_and_given_content_type(url: str) -> None:
    r = requests.post(f"{url}/echo", data=b"\xc3\xa9t\xc3\xa9", timeout=10)
    assert r.content == "été".encode()
    assert r.headers["content-type"] == "text/x-echo"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods(url: str, method: str) -> None:
    assert requests.request(method, f"{url}/m", timeout=10).text == method


def test_wildcards_match_longest_prefix_first(url: str) -> None:
    assert requests.get(f"{url}/api/v1/x", timeout=10).text == "v1 /api/v1/x"
    assert requests.get(f"{url}/api/x", timeout=10).text == "api /api/x"
    assert requests.get(f"{url}/other", timeout=10).text == "fallback /other"


def test_unknown_method_is_404_not_found(url: str) -> None:
    r = requests.post(f"{url}/hello", timeout=10)
    assert (r.status_code, r.text) == (404, "not found")


def test_handler_error_gives_500_with_the_error(url: str) -> None:
    r = requests.get(f"{url}/boom", timeout=10)
    assert r.status_code == 500
    assert r.text.startswith("handler error: ") and r.text.endswith("serve.lua:22: boom")


def test_non_table_return_gives_500(url: str) -> None:
    r = requests.get(f"{url}/nontable", timeout=10)
    assert r.status_code == 500 and r.text.startswith("handler error: ")


def test_sse_response(url: str) -> None:
    r = requests.get(f"{url}/sse", timeout=10)
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    assert r.text == "event: tick\nid: 1\ndata: line1\ndata: line2\n\ndata: x\n\n"


def test_a_waiting_handler_does_not_hold_other_requests(url: str) -> None:
    # /wait returns only once /release has been handled: if a waiting handler held the server,
    # /release would never be answered and both calls would time out
    with requests.Session() as waiting:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(waiting.get, f"{url}/wait", timeout=30)
            assert requests.get(f"{url}/release", timeout=30).text == "ok"
            assert pending.result().text == "released"


def test_garbage_bytes_do_not_stop_the_script(served: tuple[str, subprocess.Popen[str]]) -> None:
    url, proc = served
    host, port = url.removeprefix("http://").split(":")
    for junk in (b"\x00\xff\xfe garbage \r\n\r\n", b"GET / HTTP/9.9\r\nHost\r\n\r\n", b"\x16\x03\x01\x02\x00"):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)  # a 400 or the server closing the connection
    assert proc.poll() is None
    assert requests.get(f"{url}/hello", timeout=10).status_code == 200


async def _load(host: str, port: int, n: int) -> list[int]:
    async def one(i: int) -> int:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /hello?i={i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        assert body == f"hi GET /hello i={i}".encode()
        return status

    return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout=120)


def test_a_thousand_concurrent_requests_all_succeed(served: tuple[str, subprocess.Popen[str]]) -> None:
    url, proc = served
    host, port = url.removeprefix("http://").split(":")
    statuses = asyncio.run(_load(host, int(port), 1000))
    assert statuses == [200] * 1000
    assert proc.poll() is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("http.serve(8080.0, {})", "http.serve: first argument must be a port number"),
        ('http.serve("8080", {})', "http.serve: first argument must be a port number"),
        ("http.serve(0, 1)", "http.serve: second argument must be a routes table"),
    ],
)
def test_bad_arguments(lua_error: Callable[..., str], call: str, message: str) -> None:
    assert lua_error(call) == message


def test_bind_failure(lua_error: Callable[..., str]) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert lua_error(f"http.serve({port}, {{}})").startswith("http.serve: bind failed: ")


def test_serve_in_a_runtime_answers_and_stops_when_closed(tmp_path: Path) -> None:
    from bridge.runtime.runtime import Runtime
    from tests.helpers import wait_until

    rt = Runtime(log_stderr=False)
    errors: list[Any] = []
    import threading

    def run() -> None:
        try:
            rt.execute('http.serve(0, {GET = {["/"] = function() return {json = {a = 1}} end}})', "=s")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    from bridge.globals.http_serve import ServeState

    servers = wait_until(lambda: rt.state(ServeState).servers, what="the server")
    assert json.loads(requests.get(f"http://127.0.0.1:{servers[0].port}/", timeout=10).text) == {"a": 1}
    rt.close()
    t.join(timeout=10)
    assert not t.is_alive()
    assert "http.serve: server stopped" in str(errors[0])
