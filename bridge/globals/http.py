"""``http.get/post/put/patch/delete`` and ``http.client`` (lua-globals §3.1).

Returns ``{status, body, headers}`` with lower-cased header names (last value wins); non-2xx
statuses return normally; transport failures raise ``http.<method> failed: <reqwest-style
text>``. Table bodies are JSON-encoded by assay's rules with ``Content-Type:
application/json``; string bodies go as they are.

Each call is async in assay's sense (:mod:`bridge.runtime.scheduler`): the Lua arguments are
read into an :class:`HttpRequest` on the Lua thread, the request is sent by a *transport*
(plain Python, no Lua: on an I/O thread when the caller is a task), and the Lua result is
built from the :class:`HttpResponse` on the Lua thread again. The default transport is one
``requests.Session`` per runtime (keep-alive; ``requests`` is imported on the first request);
:attr:`HttpState.transport_override` lets a worker carry its own engine calls another way.
SSE streaming (``opts.on_event``) calls Lua per event, so it always runs on the Lua thread.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.globals import http_serve
from bridge.globals.args import LuaCallError, is_table, to_str
from bridge.globals.json import encode_lua_value
from bridge.runtime.lua import lua_type
from bridge.runtime.boundary import Anchor
from bridge.runtime.scheduler import Blocking, Done, Outcome, Pending

if TYPE_CHECKING:
    import requests

    from bridge.runtime.host import LuaHost

DEFAULT_TIMEOUT_S = 30.0
MAX_REDIRECTS = 10
_WITH_BODY = ("post", "put", "patch")

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


class ClientOptions:
    """Settings of one ``http.client{...}`` object (handed to Lua as an opaque value)."""

    __slots__ = ("timeout_s", "follow_redirects", "verify")

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, follow_redirects: bool = True,
                 verify: bool | str = True) -> None:
        self.timeout_s = timeout_s
        self.follow_redirects = follow_redirects
        self.verify = verify


class HttpRequest:
    """One request, read from its Lua arguments; no Lua object in it."""

    __slots__ = ("method", "url", "data", "headers", "client", "transport")

    def __init__(self, method: str, url: str, data: bytes | None, headers: dict[str, str],
                 client: ClientOptions,
                 transport: Callable[[HttpRequest], HttpResponse] | None = None) -> None:
        self.method = method
        self.url = url
        self.data = data
        self.headers = headers
        self.client = client
        self.transport = transport


class HttpResponse:
    """What a transport answers: status, lower-cased headers (last value wins), body."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class HttpState:
    """The ``http`` global's state in one runtime.

    Attributes:
        transport_override: while set, requests made on the Lua thread are sent through it
            instead of ``requests`` (it may hand a request back to :meth:`send_with_requests`).
        keep_empty_objects: while set, table bodies write the empty tables ``json.parse`` made
            from ``{}`` as ``{}`` (a worker's engine calls), not as assay's ``[]``.
    """

    __slots__ = ("transport_override", "keep_empty_objects", "_session", "_lock")

    def __init__(self) -> None:
        self.transport_override: Callable[[HttpRequest], HttpResponse] | None = None
        self.keep_empty_objects = False
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        """The runtime's ``requests`` session (made on first use)."""
        with self._lock:
            if self._session is None:
                self._session = new_session()
            return self._session

    def send_with_requests(self, req: HttpRequest) -> HttpResponse:
        """Send through ``requests`` (any thread)."""
        return _send_via_requests(self.session(), req)

    def close(self) -> None:
        """Close the session's connections."""
        if self._session is not None:
            self._session.close()
            self._session = None


def state(rt: LuaHost) -> HttpState:
    """The ``http`` global's state of ``rt``."""
    return rt.state(HttpState)


def new_session() -> requests.Session:
    """A session sending what reqwest sends: ``accept: */*``, no User-Agent, no compression."""
    import requests

    s = requests.Session()
    s.headers.clear()
    s.headers["Accept"] = "*/*"
    s.max_redirects = MAX_REDIRECTS
    return s


# -- on the Lua thread: reading the arguments, building the result ---------------------------

def _headers_from(rt: LuaHost, opts: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    if opts is None:
        return headers
    table = opts[b"headers"]
    if table is None or not is_table(table):
        return headers
    for k, v in table.items():
        headers[to_str(rt, k)] = to_str(rt, v, 2)
    return headers


def prepare(rt: LuaHost, method: str, url: Any, body: Any, opts: Any,
            client: ClientOptions | None = None) -> tuple[HttpRequest, Any]:
    """Read one call's Lua arguments: the request, and the ``on_event`` Lua function (or None)."""
    if not isinstance(url, bytes):
        raise LuaCallError(f"http.{method}: first argument must be a URL string")
    url_s = url.decode("utf-8", "replace")
    has_body = method in _WITH_BODY
    if opts is not None and not is_table(opts):
        which = "third" if has_body else "second"
        raise LuaCallError(f"http.{method}: {which} argument must be a table or nil")
    headers = _headers_from(rt, opts)
    data: bytes | None = None
    if has_body:
        if isinstance(body, bytes):
            data = body or None
        elif is_table(body):
            data = encode_lua_value(rt, body, keep_empty_objects=state(rt).keep_empty_objects)
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            raise LuaCallError(f"http.{method}: second argument must be a string, table, or nil")
    on_event = opts[b"on_event"] if opts is not None else None
    if on_event is not None and lua_type(on_event) != "function":
        on_event = None
    req = HttpRequest(method, url_s, data, headers, client or ClientOptions(),
                      state(rt).transport_override)
    return req, on_event


def result_table(rt: LuaHost, resp: HttpResponse) -> Any:
    """The Lua ``{status, headers, body}`` of a response (body decoded as UTF-8, replaced)."""
    table = rt.to_lua({"status": resp.status, "headers": resp.headers})
    table[b"body"] = resp.body.decode("utf-8", "replace").encode()
    return table


# -- anywhere: sending ------------------------------------------------------------------------

def send(req: HttpRequest, http_state: HttpState) -> HttpResponse:
    """Send ``req`` through its transport (no Lua involved; any thread)."""
    if req.transport is not None:
        return req.transport(req)
    return http_state.send_with_requests(req)


def _send_via_requests(session: requests.Session, req: HttpRequest) -> HttpResponse:
    import requests

    resp = _open(session, req, stream=False)
    try:
        content = resp.content
    except requests.RequestException as exc:
        raise HttpTransportError(f"http.{req.method}: reading body failed: request or response body error") from exc
    return HttpResponse(resp.status_code, _response_headers(resp), content)


def _open(session: requests.Session, req: HttpRequest, *, stream: bool) -> requests.Response:
    import requests

    url = req.url
    try:
        return session.request(
            req.method.upper(),
            url,
            data=req.data,
            headers=req.headers,
            timeout=req.client.timeout_s,
            allow_redirects=req.client.follow_redirects,
            verify=req.client.verify,
            stream=stream,
        )
    except requests.TooManyRedirects:
        raise HttpTransportError(f"http.{req.method} failed: error following redirect for url ({normal_url(url)})") from None
    except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader, ValueError):
        raise HttpTransportError(f"http.{req.method} failed: builder error") from None
    except requests.RequestException:
        raise HttpTransportError(transport_failure(req.method, url)) from None


def _response_headers(resp: requests.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in resp.raw.headers.items()
            if all(32 <= ord(c) < 127 or c == "\t" for c in value)}


def transport_failure(method: str, url: str) -> str:
    """assay's text for a request that got no response."""
    return f"http.{method} failed: error sending request for url ({normal_url(url)})"


#: A URL that ``requests`` leaves exactly as it is: plain http(s), a lower-case host name or
#: IPv4 address with an optional port, a path without dot segments, and only characters
#: ``requote_uri`` keeps (no ``%`` escape to re-case, no fragment).
_NORMAL_URL = re.compile(
    r"https?://[a-z0-9.-]+(?::[1-9][0-9]{0,4})?/[A-Za-z0-9\-._~!$&'()*+,/:;=?@]*")


def normal_url(url: str) -> str:
    """The URL as ``requests`` normalises it (how reqwest prints it in errors)."""
    if _NORMAL_URL.fullmatch(url) and "/." not in url and not url.endswith("?"):
        return url  # what requests would answer, without importing it (a worker's first retry)
    import requests

    try:
        return requests.Request("GET", url).prepare().url or url
    except Exception:  # noqa: BLE001 - an unparsable URL is printed as given
        return url


# -- SSE: on the Lua thread, since every event calls Lua --------------------------------------

def _stream_sse(rt: LuaHost, req: HttpRequest, on_event: Any) -> Any:
    import requests

    resp = _open(state(rt).session(), req, stream=True)
    headers = _response_headers(resp)
    if "text/event-stream" not in headers.get("content-type", ""):
        try:
            content = resp.content
        except requests.RequestException as exc:
            raise HttpTransportError(f"http.{req.method}: reading body failed: request or response body error") from exc
        return result_table(rt, HttpResponse(resp.status_code, headers, content))
    try:
        buffer = ""
        for chunk in resp.iter_content(chunk_size=None):
            buffer += chunk.decode("utf-8", "replace")
            while "\n\n" in buffer:
                raw, buffer = buffer.split("\n\n", 1)
                event = _parse_event(raw)
                if event and on_event(rt.to_lua(event)) == b"close":
                    return rt.to_lua({"status": resp.status_code, "headers": headers})
    except requests.RequestException as exc:
        raise HttpTransportError(f"http.{req.method}: SSE stream error: {exc}") from None
    finally:
        resp.close()
    return rt.to_lua({"status": resp.status_code, "headers": headers})


def _parse_event(raw: str) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for line in raw.split("\n"):
        for name in ("event", "data", "id"):
            if line.startswith(name + ": "):
                event[name] = line[len(name) + 2 :]
        if line.startswith("retry: ") and line[7:].strip().isdigit():
            event["retry"] = int(line[7:].strip())
    return event


# -- the global -------------------------------------------------------------------------------

def install(rt: LuaHost) -> None:
    """Install the ``http`` global."""
    http_state = rt.provide(HttpState(), close=lambda: http_state.close())

    def begin(method: str, url: Any, body: Any, opts: Any, client: ClientOptions | None) -> Pending:
        req, on_event = prepare(rt, method, url, body, opts, client)
        if on_event is not None:
            # the result table waits in Lua (an anchor) until finish hands it out
            return Done(Outcome(rt.anchor(_stream_sse(rt, req, on_event))))
        return Blocking(lambda: send(req, http_state))

    def finish(outcome: Outcome) -> Any:
        value = outcome.unwrap()
        if isinstance(value, Anchor):
            table = value.get()
            value.release()
            return table
        return result_table(rt, value)

    def make(method: str) -> Any:
        if method in _WITH_BODY:
            def begin_with_body(url: Any = None, body: Any = None, opts: Any = None, *_: Any) -> Pending:
                return begin(method, url, body, opts, None)
            return rt.scheduler.async_function(f"http.{method}", begin_with_body, finish)

        def begin_no_body(url: Any = None, opts: Any = None, *_: Any) -> Pending:
            return begin(method, url, None, opts, None)
        return rt.scheduler.async_function(f"http.{method}", begin_no_body, finish)

    def begin_client(ud: Any, method: bytes, url: Any = None, a: Any = None, b: Any = None) -> Pending:
        m = method.decode()
        if not isinstance(ud, ClientOptions):
            raise LuaCallError(f"http.{m}: not an http.client object")
        if m in _WITH_BODY:
            return begin(m, url, a, b, ud)
        return begin(m, url, None, a, ud)

    client_request = rt.scheduler.async_function("http.client", begin_client, finish)
    new_client = rt.anchor(rt.compile(_CLIENT_LUA, "=http.client")(client_request))

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

    table = rt.lua.table()
    for m in ("get", "post", "put", "patch", "delete"):
        table[m.encode()] = make(m)
    table[b"client"] = rt.function(client, "http.client")
    table[b"_client_request"] = client_request
    http_serve.install(rt, table)
    rt.set_global("http", table)
