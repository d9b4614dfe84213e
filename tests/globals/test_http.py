"""http.* against a real local server (lua-globals §3.1)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import LocalServer


@pytest.mark.parametrize("method", ["get", "delete"])
def test_bodyless_methods_send_method_and_options(lua: Callable[..., Any], http_server: LocalServer, method: str) -> None:
    status, body = lua(
        f'local r = http.{method}(..., {{headers = {{["X-Test"] = "yes", ["X-N"] = 5}}}}) return r.status, r.body',
        f"{http_server.url}/echo".encode(),
    )
    assert status == 200 and type(status) is int
    assert json.loads(body)["method"] == method.upper()
    seen = http_server.requests[-1]
    assert seen.headers["x-test"] == "yes"
    assert seen.headers["x-n"] == "5"
    assert seen.body == b""


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_table_body_is_sorted_json_with_content_type(lua: Callable[..., Any], http_server: LocalServer, method: str) -> None:
    body = lua(f'return http.{method}(..., {{b = 1, a = {{}}, c = 1.5}}).body', f"{http_server.url}/echo".encode())
    echoed = json.loads(body)
    assert echoed["method"] == method.upper()
    assert echoed["body"] == '{"a":[],"b":1,"c":1.5}'
    assert echoed["content_type"] == "application/json"


def test_empty_table_body_is_sent_as_array(lua: Callable[..., Any], http_server: LocalServer) -> None:
    lua("http.post(..., {})", f"{http_server.url}/echo".encode())
    assert http_server.requests[-1].body == b"[]"


def test_string_body_is_sent_raw_without_content_type(lua: Callable[..., Any], http_server: LocalServer) -> None:
    body = lua('return http.post(..., "a=1&b=\\0\\255").body', f"{http_server.url}/echo".encode())
    assert http_server.requests[-1].body == b"a=1&b=\x00\xff"
    assert json.loads(body)["content_type"] is None


def test_nil_body_sends_nothing(lua: Callable[..., Any], http_server: LocalServer) -> None:
    lua("http.post(...)", f"{http_server.url}/echo".encode())
    assert http_server.requests[-1].body == b""


def test_response_headers_are_lower_cased_last_value_wins(lua: Callable[..., Any], http_server: LocalServer) -> None:
    cookie, mixed, upper = lua(
        'local h = http.get(...).headers return h["set-cookie"], h["x-mixed-case"], h["X-Mixed-Case"]',
        f"{http_server.url}/headers".encode(),
    )
    assert (cookie, mixed, upper) == ("b=2", "Value", None)


@pytest.mark.parametrize("status", [201, 204, 404, 422, 500, 503])
def test_non_2xx_statuses_are_returned_not_raised(lua: Callable[..., Any], http_server: LocalServer, status: int) -> None:
    got, body = lua("local r = http.get(...) return r.status, r.body", f"{http_server.url}/status/{status}".encode())
    assert got == status
    assert body == ("" if status == 204 else "status body")


def test_empty_body_is_empty_string(lua: Callable[..., Any], http_server: LocalServer) -> None:
    assert lua("return http.get(...).body", f"{http_server.url}/empty".encode()) == ""


def test_binary_body_is_decoded_with_replacement(rt: Any, http_server: LocalServer) -> None:
    body = rt.execute("return http.get(...).body", "=t", f"{http_server.url}/binary".encode())
    assert body == "\ufffd\x00abc".encode()


def test_redirects_are_followed(lua: Callable[..., Any], http_server: LocalServer) -> None:
    status, body = lua("local r = http.get(...) return r.status, r.body", f"{http_server.url}/redirect".encode())
    assert status == 200 and json.loads(body)["path"] == "/echo"


def test_client_without_redirects_returns_3xx(lua: Callable[..., Any], http_server: LocalServer) -> None:
    status = lua("local c = http.client{follow_redirects = false} return c:get(...).status",
                 f"{http_server.url}/redirect".encode())
    assert status == 302


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_connection_refused_message(lua_error: Callable[..., str], method: str) -> None:
    port = _closed_port()
    err = lua_error(f"http.{method}(...)", f"http://127.0.0.1:{port}".encode())
    assert err == f"http.{method} failed: error sending request for url (http://127.0.0.1:{port}/)"


def test_client_timeout_raises_send_error(lua_error: Callable[..., str], http_server: LocalServer) -> None:
    url = f"{http_server.url}/slow"
    err = lua_error("local c = http.client{timeout = 0.2} c:get(...)", url.encode())
    assert err == f"http.get failed: error sending request for url ({url})"


def test_per_request_timeout_option_is_ignored(lua: Callable[..., Any], http_server: LocalServer) -> None:
    assert lua("return http.get(..., {timeout = 0.000001}).status", f"{http_server.url}/echo".encode()) == 200


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("http.get(42)", "http.get: first argument must be a URL string"),
        ("http.get(nil)", "http.get: first argument must be a URL string"),
        ('http.get("http://x", 5)', "http.get: second argument must be a table or nil"),
        ('http.delete("http://x", "body")', "http.delete: second argument must be a table or nil"),
        ('http.post("http://x", 5)', "http.post: second argument must be a string, table, or nil"),
        ('http.put("http://x", true)', "http.put: second argument must be a string, table, or nil"),
        ('http.patch("http://x", "", 5)', "http.patch: third argument must be a table or nil"),
        ('http.post("http://x", {f = print})', "unsupported Lua type for JSON: function"),
        ('http.get("not a url")', "http.get failed: builder error"),
    ],
)
def test_argument_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message


def test_workflow_style_call_returns_integer_status(lua: Callable[..., Any], http_server: LocalServer) -> None:
    status, kind = lua(
        'local r = http.post(..., {worker_id = "w-1"}, {headers = {}}) return r.status, math.type(r.status)',
        f"{http_server.url}/echo".encode(),
    )
    assert (status, kind) == (200, "integer")
