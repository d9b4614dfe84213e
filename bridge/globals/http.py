"""``http.get/post/put/patch/delete`` and ``http.client`` (lua-globals §3.1).

One ``requests.Session`` per runtime (keep-alive). Returns ``{status, body, headers}`` with
lower-cased header names (last value wins); non-2xx statuses return normally; transport
failures raise ``http.<method> failed: <reqwest-style text>``. Table bodies are JSON-encoded
by assay's rules with ``Content-Type: application/json``; string bodies go as they are.

Speed (issue 7): ``requests`` is imported on the first request, so scripts that make none
start without it. workflow.lua's own calls to the engine (marked by the worker's engine hooks
with :func:`engine_call`) skip ``requests``' per-call work (settings merge, proxy lookup in
the environment, hooks: ~0.35 ms a call, more than the engine's answer) and go through
:mod:`bridge.globals.http_direct`, sending the same request; when a proxy variable or a
``.netrc`` file would change the request, they take the ``requests`` path like every other
call.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table, to_str
from bridge.globals.json import encode_lua_value
from bridge.runtime.lua import lua_type

if TYPE_CHECKING:
    import requests

    from bridge.runtime.runtime import Runtime

DEFAULT_TIMEOUT_S = 30.0
MAX_REDIRECTS = 10

_CLIENT_LUA = r"""
local request = ...
local methods = {}
for _, m in ipairs({ "get", "post", "put", "patch", "delete" }) do
    methods[m] = function(self, url, a, b)
        return request(self._ud, m, url, a, b)
    end
end
local mt = { __index = methods }
return function(ud) return setmetatable({ _ud = ud }, mt) end
"""


class HttpTransportError(LuaCallError):
    """A request that got no response; ``str()`` is assay's message for Lua code."""


@dataclass(frozen=True)
class ClientOptions:
    """Settings of one ``http.client{...}`` object."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    follow_redirects: bool = True
    verify: bool | str = True


def new_session() -> requests.Session:
    """A session sending what reqwest sends: ``accept: */*``, no User-Agent, no compression."""
    import requests

    s = requests.Session()
    s.headers.clear()
    s.headers["Accept"] = "*/*"
    s.max_redirects = MAX_REDIRECTS
    return s


def _headers_from(rt: Runtime, method: str, opts: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    if opts is None:
        return headers
    table = opts[b"headers"]
    if table is None:
        return headers
    if not is_table(table):
        return headers
    for k, v in table.items():
        headers[to_str(rt, k)] = to_str(rt, v, 2)
    return headers


def request(
    rt: Runtime,
    method: str,
    url: Any,
    body: Any,
    opts: Any,
    client: ClientOptions | None = None,
) -> Any:
    """Perform one request for Lua; returns the Lua result table."""
    if not isinstance(url, bytes):
        raise LuaCallError(f"http.{method}: first argument must be a URL string")
    url_s = url.decode("utf-8", "replace")
    has_body = method in ("post", "put", "patch")
    if opts is not None and not is_table(opts):
        which = "third" if has_body else "second"
        raise LuaCallError(f"http.{method}: {which} argument must be a table or nil")
    headers = _headers_from(rt, method, opts)
    data: bytes | None = None
    if has_body:
        if isinstance(body, bytes):
            data = body or None
        elif is_table(body):
            data = encode_lua_value(rt, body)
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            raise LuaCallError(f"http.{method}: second argument must be a string, table, or nil")
    on_event = opts[b"on_event"] if opts is not None else None
    if on_event is not None and lua_type(on_event) != b"function":
        on_event = None
    return _send(rt, method, url_s, data, headers, on_event, client or ClientOptions())


def _send(
    rt: Runtime,
    method: str,
    url: str,
    data: bytes | None,
    headers: dict[str, str],
    on_event: Any,
    client: ClientOptions,
) -> Any:
    if rt.http_engine_call and on_event is None and url.startswith("http://") and _direct_ok():
        return _send_direct(rt, method, url, data, headers, client)
    return _send_via_requests(rt, method, url, data, headers, on_event, client)


def _send_via_requests(
    rt: Runtime,
    method: str,
    url: str,
    data: bytes | None,
    headers: dict[str, str],
    on_event: Any,
    client: ClientOptions,
) -> Any:
    import requests

    session = _session(rt)
    try:
        resp = session.request(
            method.upper(),
            url,
            data=data,
            headers=headers,
            timeout=client.timeout_s,
            allow_redirects=client.follow_redirects,
            verify=client.verify,
            stream=on_event is not None,
        )
    except requests.TooManyRedirects:
        raise HttpTransportError(f"http.{method} failed: error following redirect for url ({_normal(url)})") from None
    except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader, ValueError):
        raise HttpTransportError(f"http.{method} failed: builder error") from None
    except requests.RequestException:
        raise HttpTransportError(f"http.{method} failed: error sending request for url ({_normal(url)})") from None
    out_headers: dict[str, str] = {}
    for name, value in resp.raw.headers.items():
        if all(32 <= ord(c) < 127 or c == "\t" for c in value):
            out_headers[name.lower()] = value
    if on_event is not None and "text/event-stream" in out_headers.get("content-type", ""):
        _stream_sse(rt, method, resp, on_event)
        return rt.to_lua({"status": resp.status_code, "headers": out_headers})
    try:
        content = resp.content
    except requests.RequestException as exc:
        raise HttpTransportError(f"http.{method}: reading body failed: request or response body error") from exc
    body = content.decode("utf-8", "replace").encode()
    table = rt.to_lua({"status": resp.status_code, "headers": out_headers})
    table[b"body"] = body
    return table


def _stream_sse(rt: Runtime, method: str, resp: requests.Response, on_event: Any) -> None:
    import requests

    try:
        buffer = ""
        for chunk in resp.iter_content(chunk_size=None):
            buffer += chunk.decode("utf-8", "replace")
            while "\n\n" in buffer:
                raw, buffer = buffer.split("\n\n", 1)
                event: dict[str, Any] = {}
                for line in raw.split("\n"):
                    for field in ("event", "data", "id"):
                        if line.startswith(field + ": "):
                            event[field] = line[len(field) + 2 :]
                    if line.startswith("retry: ") and line[7:].strip().isdigit():
                        event["retry"] = int(line[7:].strip())
                if not event:
                    continue
                if on_event(rt.to_lua(event)) == b"close":
                    return
    except requests.RequestException as exc:
        raise HttpTransportError(f"http.{method}: SSE stream error: {exc}") from None
    finally:
        resp.close()


def _session(rt: Runtime) -> requests.Session:
    session: requests.Session | None = rt.http_session
    if session is None:
        session = rt.http_session = new_session()
    return session


# -- the direct path for the worker's engine calls ------------------------------------------

_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_netrc_present: bool | None = None


def _direct_ok() -> bool:
    """True when ``requests`` would send a plain ``http://`` request unchanged (no proxy
    from the environment, no ``.netrc`` credentials)."""
    global _netrc_present
    env = os.environ
    for name in _PROXY_VARIABLES:
        if env.get(name):
            return False
    if env.get("NETRC"):
        return False
    if _netrc_present is None:
        home = os.path.expanduser("~")
        _netrc_present = any(os.path.exists(os.path.join(home, f)) for f in (".netrc", "_netrc"))
    return not _netrc_present


@contextlib.contextmanager
def engine_call(rt: Runtime) -> Iterator[None]:
    """Mark the requests made inside the block as workflow.lua's calls to the engine."""
    previous = rt.http_engine_call
    rt.http_engine_call = True
    try:
        yield
    finally:
        rt.http_engine_call = previous


def _send_direct(
    rt: Runtime,
    method: str,
    url: str,
    data: bytes | None,
    headers: dict[str, str],
    client: ClientOptions,
) -> Any:
    from bridge.globals.http_direct import REDIRECTS, DirectClient, DirectError

    direct: DirectClient | None = rt.http_direct
    if direct is None:
        direct = rt.http_direct = DirectClient()
    try:
        status, resp_headers, content = direct.request(method.upper(), url, data, headers,
                                                       client.timeout_s)
    except ValueError:  # not sendable as is: requests builds (or refuses) it
        return _send_via_requests(rt, method, url, data, headers, None, client)
    except DirectError:
        raise HttpTransportError(f"http.{method} failed: error sending request for url ({_normal(url)})") from None
    if status in REDIRECTS and client.follow_redirects and "location" in resp_headers:
        return _send_via_requests(rt, method, url, data, headers, None, client)
    out_headers = {name: value for name, value in resp_headers.items()
                   if value.isascii() and (value.isprintable()
                                           or all(32 <= ord(c) < 127 or c == "\t" for c in value))}
    table = rt.to_lua({"status": status, "headers": out_headers})
    table[b"body"] = content.decode("utf-8", "replace").encode()
    return table


def _normal(url: str) -> str:
    import requests

    try:
        return requests.Request("GET", url).prepare().url or url
    except Exception:  # noqa: BLE001 - an unparsable URL is printed as given
        return url


def install(rt: Runtime) -> None:
    """Install the ``http`` global."""
    rt.http_session = None  # made on the first request
    rt.http_direct = None
    rt.http_engine_call = False

    def make(method: str) -> Any:
        if method in ("post", "put", "patch"):
            def with_body(url: Any = None, body: Any = None, opts: Any = None, *_: Any) -> Any:
                return request(rt, method, url, body, opts)
            return with_body

        def no_body(url: Any = None, opts: Any = None, *_: Any) -> Any:
            return request(rt, method, url, None, opts)
        return no_body

    def client_request(ud: Any, method: bytes, url: Any = None, a: Any = None, b: Any = None) -> Any:
        m = method.decode()
        if m in ("post", "put", "patch"):
            return request(rt, m, url, a, b, ud)
        return request(rt, m, url, None, a, ud)

    new_client = rt.compile(_CLIENT_LUA, "=http.client")(rt.function(client_request))

    def client(opts: Any = None, *_: Any) -> Any:
        timeout = DEFAULT_TIMEOUT_S
        follow = True
        verify: bool | str = True
        if opts is not None and is_table(opts):
            t = opts[b"timeout"]
            if isinstance(t, (int, float)) and not isinstance(t, bool):
                timeout = float(t)
            f = opts[b"follow_redirects"]
            if f is not None:
                follow = f is not False
            ca = opts[b"ca_cert_file"]
            if isinstance(ca, bytes):
                path = ca.decode()
                try:
                    with open(path, "rb") as fh:
                        pem = fh.read()
                except OSError as exc:
                    raise LuaCallError(f'http.client: failed to read CA cert file "{path}": {exc}') from None
                if b"-----BEGIN CERTIFICATE-----" not in pem:
                    raise LuaCallError(f'http.client: invalid PEM in "{path}": no certificate found')
                verify = path
        return new_client(ClientOptions(timeout_s=timeout, follow_redirects=follow, verify=verify))

    entries: dict[str, Any] = {m: make(m) for m in ("get", "post", "put", "patch", "delete")}
    entries["client"] = client
    entries["_client_request"] = client_request
    rt.set_global("http", entries)
