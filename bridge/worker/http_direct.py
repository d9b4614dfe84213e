"""A small HTTP/1.1 client for the worker's own calls to its engine (issue 7).

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
``requests`` would send the same request (see :func:`bridge.worker.transport.direct_ok`); a redirect answer is
handed back to the caller, who sends the request again through ``requests``.

Failures raise :class:`DirectError` (the caller words it as assay does); the connection is
then dropped and the next request opens a new one.
"""

from __future__ import annotations

import select
import socket
import zlib
from urllib.parse import quote, urlsplit

#: Statuses after which a body never follows.
_NO_BODY = frozenset({204, 304})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SAFE_PATH = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!#$%&'()*+,/:;=?@[]"
)


class DirectError(Exception):
    """The request got no (complete) response."""


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
        try:
            if conn is None:
                sock = socket.create_connection((host, port), timeout=timeout_s)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = self._conns[key] = _Connection(sock)
            else:
                conn.sock.settimeout(timeout_s)
            conn.sock.sendall(head + body if body else head)
            status, resp_headers, data, keep = _read_response(conn, method)
        except (OSError, DirectError, ValueError) as exc:
            dropped = self._conns.pop(key, None)
            if dropped is not None:
                dropped.sock.close()
            raise DirectError(str(exc)) from exc
        if not keep:
            self._conns.pop(key, None)
            conn.sock.close()
        return status, resp_headers, data

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


def _read_response(conn: _Connection, method: str) -> tuple[int, dict[str, str], bytes, bool]:
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
    for line in header_text.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip(" \t")
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
    return status, headers, data, keep


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
