"""A small HTTP/1.1 client for the calls to an engine: the worker's and :class:`bridge.Client`'s.

workflow.lua makes about ten engine calls per one-activity workflow. Through ``requests`` each
cost the worker ~0.6 ms of CPU, through ``urllib3`` ~0.3 ms (URL parsing, header classes,
``http.client``'s e-mail header parser, and the request head and body sent as two packets
that wake the engine twice); this client costs ~25 µs: one ``sendall`` per request on a
keep-alive socket, and a response read by ``Content-Length`` or chunks.

It sends what ``requests`` sends for these calls (``Host``, ``Accept: */*``, the caller's
headers, ``Content-Length`` on every method but GET and HEAD; path re-quoted like
``requests.utils.requote_uri``), less the ``User-Agent: python-urllib3/...`` that urllib3
adds (reqwest, assay's client, sends none), and answers what the worker's engine transport needs: status,
headers, body (gzip/deflate decoded as ``requests`` would). It is used only where
``requests`` would send the same request (:func:`direct_ok`); a redirect answer is handed
back to the caller, who sends the request again through ``requests``.

Failures raise :class:`DirectError` (the caller words it); the connection is then dropped and
the next request opens a new one. :class:`NotSent` says no connection could be made (nothing
was sent), :class:`DirectTimeout` that the answer did not come in time.

It imports nothing of the package, so the worker and the client both use it.
"""

from __future__ import annotations

import os
import select
import socket
import zlib
from typing import NamedTuple
from urllib.parse import quote, urlsplit

#: Statuses after which a body never follows.
_NO_BODY = frozenset({204, 304})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SAFE_PATH = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!#$%&'()*+,/:;=?@[]"
)


class DirectError(Exception):
    """The request got no (complete) response."""


class NotSent(DirectError):
    """No connection to the server could be made: nothing was sent."""


class DirectTimeout(DirectError):
    """The request was sent and the answer did not come within the timeout."""


class Answer(NamedTuple):
    """One response: status, reason phrase, headers (lower-case names, the last of repeated
    ones), body (decoded from gzip/deflate), and every ``Set-Cookie`` value in order."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    set_cookies: list[str]


_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_netrc_present: bool | None = None


def direct_ok() -> bool:
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


class _Connection:
    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""


class DirectClient:
    """Keep-alive connections by ``(host, port)``; for one thread at a time (one runtime)."""

    def __init__(self) -> None:
        self._conns: dict[tuple[str, int], _Connection] = {}
        self._urls: dict[str, tuple[str, int, str, str]] = {}

    def close(self) -> None:
        """Close every connection."""
        for conn in self._conns.values():
            conn.sock.close()
        self._conns.clear()

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                timeout_s: float) -> tuple[int, dict[str, str], bytes]:
        """Send one request; ``(status, {lower-case name: value}, body)``.

        Raises:
            DirectError: no connection, a timeout, or a malformed or cut-off response.
            ValueError: the URL or a header cannot be sent as is (the caller uses requests).
        """
        answer = self.exchange(method, url, body, headers, timeout_s)
        return answer.status, answer.headers, answer.body

    def exchange(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                 timeout_s: float, connect_timeout_s: float | None = None) -> Answer:
        """Send one request and read the whole :class:`Answer`.

        ``timeout_s`` bounds each wait for the socket once connected; ``connect_timeout_s``
        (default ``timeout_s``) the connection.

        Raises:
            NotSent: no connection could be made.
            DirectTimeout: sent, and the server did not answer in time.
            DirectError: a malformed or cut-off response.
            ValueError: the URL or a header cannot be sent as is (the caller uses requests).
        """
        host, port, host_header, target = self._split(url)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}", "Accept: */*"]
        for name, value in headers.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ValueError("header not sendable as is")
            lines.append(f"{name}: {value}")
        if method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(body) if body else 0}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        key = (host, port)
        conn = self._conns.get(key)
        if conn is not None and _dropped(conn.sock):
            conn.sock.close()
            conn = None
        if conn is None:
            try:
                # an ASCII name as bytes: a str is run through the idna codec (an import of
                # encodings.idna and stringprep on the first connection)
                sock = socket.create_connection(
                    (host.encode("ascii") if host.isascii() else host, port),  # type: ignore[arg-type]
                    timeout=timeout_s if connect_timeout_s is None else connect_timeout_s)
            except OSError as exc:
                raise NotSent(str(exc)) from exc
            conn = self._conns[key] = _Connection(sock)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(timeout_s)
            except OSError as exc:
                self._conns.pop(key, None)
                sock.close()
                raise NotSent(str(exc)) from exc
        else:
            conn.sock.settimeout(timeout_s)
        try:
            conn.sock.sendall(head + body if body else head)
            answer, keep = _read_response(conn, method)
        except (OSError, DirectError, ValueError) as exc:
            dropped = self._conns.pop(key, None)
            if dropped is not None:
                dropped.sock.close()
            if isinstance(exc, TimeoutError):
                raise DirectTimeout(str(exc)) from exc
            raise DirectError(str(exc)) from exc
        if not keep:
            self._conns.pop(key, None)
            conn.sock.close()
        return answer

    def _split(self, url: str) -> tuple[str, int, str, str]:
        known = self._urls.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.username or parts.password:
            raise ValueError("not a plain http URL")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if not all(c in _SAFE_PATH for c in target):
            target = quote(target, safe="!#$%&'()*+,/:;=?@[]~")
        host, port = parts.hostname, parts.port or 80
        host_header = f"[{host}]" if ":" in host else host  # as http.client writes it
        if port != 80:
            host_header += f":{port}"
        split = (host, port, host_header, target)
        if len(self._urls) > 256:
            self._urls.clear()
        self._urls[url] = split
        return split


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle keep-alive socket was closed (or has stray data) on the other side."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _recv_more(conn: _Connection) -> None:
    chunk = conn.sock.recv(262144)
    if not chunk:
        raise DirectError("connection closed before the response was complete")
    conn.buf += chunk


def _read_response(conn: _Connection, method: str) -> tuple[Answer, bool]:
    while True:  # skip interim 1xx answers
        end = conn.buf.find(b"\r\n\r\n")
        while end < 0:
            if len(conn.buf) > 65536:
                raise DirectError("response head too long")
            _recv_more(conn)
            end = conn.buf.find(b"\r\n\r\n")
        head = conn.buf[:end].decode("latin-1")
        conn.buf = conn.buf[end + 4 :]
        status_line, _, header_text = head.partition("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1."):
            raise DirectError(f"malformed status line {status_line!r}")
        status = int(rest[:3])
        if status >= 200:
            break
    headers: dict[str, str] = {}
    set_cookies: list[str] = []
    for line in header_text.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            name = name.strip().lower()
            value = value.strip(" \t")
            headers[name] = value
            if name == "set-cookie":
                set_cookies.append(value)
    keep = version == "HTTP/1.1"
    connection = headers.get("connection", "").lower()
    if "close" in connection:
        keep = False
    elif "keep-alive" in connection:
        keep = True
    if method == "HEAD" or status in _NO_BODY:
        data = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        data = _read_chunked(conn)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        while len(conn.buf) < length:
            _recv_more(conn)
        data, conn.buf = conn.buf[:length], conn.buf[length:]
    else:  # the body ends when the server closes
        keep = False
        while True:
            chunk = conn.sock.recv(262144)
            if not chunk:
                break
            conn.buf += chunk
        data, conn.buf = conn.buf, b""
    encoding = headers.get("content-encoding", "").lower().strip()
    if encoding in ("gzip", "x-gzip"):
        data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        try:
            data = zlib.decompress(data)
        except zlib.error:
            data = zlib.decompress(data, -zlib.MAX_WBITS)
    return Answer(status, rest[4:], headers, data, set_cookies), keep


def _read_chunked(conn: _Connection) -> bytes:
    parts: list[bytes] = []
    while True:
        end = conn.buf.find(b"\r\n")
        while end < 0:
            _recv_more(conn)
            end = conn.buf.find(b"\r\n")
        size = int(conn.buf[:end].split(b";", 1)[0].strip() or b"0", 16)
        conn.buf = conn.buf[end + 2 :]
        if size == 0:
            end = conn.buf.find(b"\r\n")  # trailers end with an empty line
            while True:
                while end < 0:
                    _recv_more(conn)
                    end = conn.buf.find(b"\r\n")
                line, conn.buf = conn.buf[:end], conn.buf[end + 2 :]
                if not line:
                    return b"".join(parts)
                end = conn.buf.find(b"\r\n")
        while len(conn.buf) < size + 2:
            _recv_more(conn)
        parts.append(conn.buf[:size])
        conn.buf = conn.buf[size + 2 :]
