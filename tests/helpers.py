"""Helpers shared by tests of several folders (fixtures are in tests/conftest.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from bridge.engine.core import Engine
from bridge.engine.store import open_store
from bridge.engine.store.base import Store


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes


@dataclass
class LocalServer:
    url: str
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class QuietHandler(BaseHTTPRequestHandler):
    """An HTTP/1.1 keep-alive handler that logs nothing and sends without Nagle's delay."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # head and body are two writes: without this, Nagle + delayed ACK add 40 ms a request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        pass


class _Handler(QuietHandler):
    server: Any

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        state: LocalServer = self.server.state
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                    list(self.headers.items()), body)
        state.requests.append(seen)
        path = self.path.split("?")[0]
        if path.startswith("/status/"):
            self._reply(int(path.rsplit("/", 1)[1]), b"status body", "text/plain")
        elif path == "/binary":
            self._reply(200, b"\xff\x00abc", "application/octet-stream")
        elif path == "/latin-text":  # text/plain with no charset: requests reads ISO-8859-1
            self._reply(200, "café".encode(), "text/plain")
        elif path == "/headers":
            self.send_response(200)
            self.send_header("Set-Cookie", "a=1")
            self.send_header("Set-Cookie", "b=2")
            self.send_header("X-Mixed-Case", "Value")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            state.release.wait(10)
            self._reply(200, b"late", "text/plain")
        elif path == "/empty":
            self._reply(204, b"", None)
        else:
            payload = {
                "method": self.command,
                "path": self.path,
                "body": body.decode("utf-8", "replace"),
                "content_type": self.headers.get("Content-Type"),
                "content_types": self.headers.get_all("Content-Type") or [],
            }
            self._reply(200, json.dumps(payload).encode(), "application/json")

    def _reply(self, status: int, body: bytes, ctype: str | None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def local_http_server() -> Iterator[LocalServer]:
    """A threaded HTTP server on 127.0.0.1, a free port; records every request."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    state = LocalServer(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def poll_task(engine: Engine, *, queue: str, worker_id: str) -> dict[str, Any] | None:
    """Claim a workflow task from the engine core, parsed (the core answers JSON text)."""
    text = engine.poll_workflow_task(queue=queue, worker_id=worker_id)
    return None if text is None else dict(json.loads(text))


def new_id(prefix: str = "wf") -> str:
    """A workflow id (or queue name) no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until(condition: Callable[[], Any], timeout_s: float = 10.0, interval_s: float = 0.02,
               what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def make_store(backend_url: str) -> Store:
    """A new, opened store on the database at ``backend_url``."""
    store = open_store(backend_url, pool_size=4)
    store.open()
    return store


def scrape(url: str, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an engine's ``/metrics``, by (name, sorted labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.get(url + "/metrics", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    """The sum of the samples named ``name`` that carry ``labels``."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and all(dict(ls).get(k) == w for k, w in labels.items()))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
