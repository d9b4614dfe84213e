"""An ASGI adapter that answers one request in-process: the scope, ``receive`` and ``send`` a
server would build, with no socket.

:func:`call_app` is to :class:`bridge.engine.embedded.EmbeddedEngine` what uvicorn is to
``assay-bridge serve``: it drives the one Starlette app from
:func:`~bridge.engine.api.app.create_app`, so the same routes, parsing and error responses answer
both. The request body is delivered at once; afterwards ``receive`` waits until the response is
complete (then answers ``http.disconnect``), so a held poll that checks for a disconnected
client keeps waiting, as it does over a live connection. Streaming responses (SSE) are read to
their end, so they return only once the stream closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message

logger = logging.getLogger(__name__)

#: ``(status, lower-cased headers, body)``: one answer.
Answer = tuple[int, dict[str, str], bytes]

#: The ``server`` of the scope, and the ``Host`` header when the caller sends none.
SERVER = ("embedded.engine", 80)
#: The ``client`` of the scope: there is no peer address in-process.
CLIENT = ("127.0.0.1", 0)


def _scope(method: str, target: str, headers: Mapping[str, str], body: bytes,
           state: dict[str, Any]) -> dict[str, Any]:
    path, _, query = target.partition("?")
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1"))
           for name, value in headers.items()]
    names = {name for name, _ in raw}
    if b"host" not in names:
        raw.append((b"host", SERVER[0].encode("ascii")))
    if body and b"content-length" not in names:
        raw.append((b"content-length", str(len(body)).encode("ascii")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": raw,
        "client": CLIENT,
        "server": SERVER,
        "state": dict(state),
    }


async def call_app(app: ASGIApp, method: str, target: str, body: bytes | None = None,
                   headers: Mapping[str, str] | None = None, *,
                   state: dict[str, Any] | None = None) -> Answer:
    """Send one request to ``app`` on the running loop and collect its whole response.

    Args:
        app: the ASGI app.
        method: the HTTP method.
        target: the path with its query string, e.g. ``/api/v1/workflows?limit=5``.
        body: the request body.
        headers: request headers.
        state: the app's lifespan state, copied into the scope.

    Raises:
        RuntimeError: the app failed before it sent a complete response.
    """
    data = body or b""
    scope = _scope(method, target, headers or {}, data, state or {})
    done = asyncio.Event()
    delivered = False
    status = 0
    reply_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": data, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", ()):
                reply_headers[bytes(name).decode("latin-1").lower()] = bytes(value).decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    except Exception as exc:
        if not done.is_set():
            raise RuntimeError(f"{method} {target}: the engine app failed: {exc}") from exc
        # the app's error middleware has answered 500 and re-raised, as under uvicorn
        logger.error("exception in the engine app for %s %s", method, target, exc_info=exc)
    finally:
        done.set()
    if status == 0:
        raise RuntimeError(f"{method} {target}: the engine app sent no response")
    return status, reply_headers, b"".join(chunks)
