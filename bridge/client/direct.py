"""The client's fast path: its calls to a plain ``http://`` engine without ``requests``' per-call work.

Each call through ``requests.Session`` costs the caller ~0.35 ms before a byte is sent
(settings merge, proxy lookup in the environment, hooks, urllib3's request and response
classes). :class:`DirectSender` sends the same request (the session's headers, the same JSON
body and query string) over :mod:`bridge.http_direct`'s keep-alive sockets (a small pool: one
connection per call in flight, up to ten kept idle, as ``requests``' pool), and hands back a
:class:`Reply`: the part of a ``requests.Response`` that ``Client._call`` reads, so it keeps its
one code path without the cost of building one (a cookie jar and a case-insensitive header
dict per call).

It answers ``None`` (the caller then sends through ``requests``) whenever ``requests`` would
send something else or do more: a proxy variable or ``.netrc`` in effect, cookies in the
session, a body or query ``requests`` encodes differently or refuses, a URL or header not
sendable as is, a redirect answer (sent again, and followed, by ``requests``), a failure to
connect other than a refusal or a timeout (so the error reads as ``requests`` words it).
Failures after connecting are raised as the ``requests`` exceptions that path raises.
"""

from __future__ import annotations

import threading
from http.client import HTTPMessage
from types import SimpleNamespace
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlencode

import requests
from requests.cookies import extract_cookies_to_jar
from requests.utils import get_encoding_from_headers

from bridge.http_direct import REDIRECTS, DirectClient, DirectError, DirectTimeout, NotSent, direct_ok

#: The JSON module requests encodes bodies with (simplejson when installed).
complexjson: Any = getattr(requests.compat, "json")

#: Idle connections kept (``requests``' default pool size).
_POOL_SIZE = 10

#: Content codings the direct client decodes; a session asking for more is not served here.
_DECODED = frozenset({"gzip", "deflate"})


class Reply(NamedTuple):
    """An answer read in full, read as ``Client._call`` reads a ``requests.Response``:
    ``status_code``, ``reason``, ``content``, and ``text`` and ``json()`` decoded as
    ``requests`` decodes them: the charset of ``Content-Type`` (UTF-8 for JSON, ISO-8859-1 for
    other text). Where the answer names no charset, it reads UTF-8 where ``requests`` would
    guess one from the bytes."""

    status_code: int
    #: The headers, names lower-cased.
    headers: dict[str, str]
    content: bytes
    reason: str

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced, as ``requests`` does)."""
        if not self.content:
            return ""
        encoding = get_encoding_from_headers(self.headers) or "utf-8"
        try:
            return self.content.decode(encoding, "replace")
        except LookupError:  # an unknown charset: requests falls back the same way
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ValueError: it is not JSON.
        """
        return complexjson.loads(self.text)


class Sender(Protocol):
    """What ``Client._call`` sends through before ``requests``: an answer, or None to let
    ``requests`` send the call."""

    def send(self, method: str, url: str, body: Any, params: dict[str, Any] | None,
             timeout: tuple[float, float]) -> Reply | None:
        """The answer to one call, or None."""
        ...

    def close(self) -> None:
        """Release what the sender holds."""
        ...


class DirectSender:
    """Sends a ``requests.Session``'s plain ``http://`` calls over keep-alive sockets."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        headers = {k: str(v) for k, v in session.headers.items() if k.lower() != "accept"}
        self._headers = headers  # the client adds Host and Accept itself
        self._json_headers = {**headers, "Content-Type": "application/json"}
        self._idle: list[DirectClient] = []  # each holds one keep-alive connection
        self._lock = threading.Lock()

    @staticmethod
    def serves(session: requests.Session, url: str) -> bool:
        """Whether calls to ``url`` through ``session`` can take this path at all."""
        if not all(isinstance(v, str) for v in session.headers.values()):
            return False
        codings = str(session.headers.get("Accept-Encoding", ""))
        asked = {c.strip().lower() for c in codings.split(",") if c.strip()}
        return url.startswith("http://") and "?" not in url and "#" not in url \
            and asked <= _DECODED

    def send(self, method: str, url: str, body: Any, params: dict[str, Any] | None,
             timeout: tuple[float, float]) -> Reply | None:
        """The answer to one call, or ``None`` when it must go through ``requests``.

        Raises:
            requests.ConnectionError: refused, or the connection failed after sending.
            requests.ConnectTimeout: no connection within ``timeout[0]``.
            requests.ReadTimeout: no answer within ``timeout[1]``.
        """
        if len(self._session.cookies) or not direct_ok():
            return None
        prepared = prepare(body, params, url, self._headers, self._json_headers)
        if prepared is None:
            return None
        url, data, headers = prepared
        with self._lock:
            client = self._idle.pop() if self._idle else DirectClient()
        try:
            answer = client.exchange(method, url, data, headers, timeout[1], timeout[0])
        except ValueError:
            return None
        except NotSent as exc:
            cause = exc.__cause__
            if isinstance(cause, ConnectionRefusedError):
                raise requests.ConnectionError(str(exc)) from exc
            if isinstance(cause, TimeoutError):
                raise requests.ConnectTimeout(str(exc)) from exc
            return None
        except DirectTimeout as exc:
            raise requests.ReadTimeout(str(exc)) from exc
        except DirectError as exc:
            raise requests.ConnectionError(f"connection aborted: {exc}") from exc
        finally:
            with self._lock:
                keep = len(self._idle) < _POOL_SIZE
                if keep:
                    self._idle.append(client)
            if not keep:
                client.close()
        if answer.status in REDIRECTS and "location" in answer.headers:
            return None
        if answer.set_cookies:
            self._keep_cookies(method, url, answer.set_cookies)
        return Reply(answer.status, answer.headers, answer.body, answer.reason)

    def close(self) -> None:
        """Close the idle connections (one in use is kept for its next call)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()

    def _keep_cookies(self, method: str, url: str, values: list[str]) -> None:
        """Store the answer's cookies in the session as ``requests`` would; the calls after it
        then go through ``requests``, which sends them."""
        msg = HTTPMessage()
        for value in values:
            msg["Set-Cookie"] = value
        prepared = requests.Request(method, url).prepare()
        extract_cookies_to_jar(self._session.cookies, prepared,  # type: ignore[no-untyped-call]
                               SimpleNamespace(_original_response=SimpleNamespace(msg=msg)))


def prepare(body: Any, params: dict[str, Any] | None, url: str, headers: dict[str, str],
            json_headers: dict[str, str]) -> tuple[str, bytes | None, dict[str, str]] | None:
    """The URL with its query, the body and the headers ``requests`` would send for a JSON
    call (``json_headers`` when there is a body), or None when ``requests`` would encode
    something differently or refuse it."""
    if body is None:
        data, sent = None, headers
    else:
        try:
            text = complexjson.dumps(body, allow_nan=False)
        except (TypeError, ValueError):
            return None  # requests raises its own error for it
        data, sent = text.encode("utf-8"), json_headers
    if params:
        query = _query(params)
        if query is None:
            return None
        if query:
            url = f"{url}?{query}"
    return url, data, sent


def _query(params: dict[str, Any]) -> str | None:
    """The query string ``requests`` makes of scalar parameters (``None`` values left out), or
    ``None`` for anything else."""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        if not isinstance(key, str) or not isinstance(value, (str, int, float)):
            return None
        pairs.append((key, value))
    return urlencode(pairs)
