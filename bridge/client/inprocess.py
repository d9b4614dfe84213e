"""The client's calls to an engine in this process.

``Client(engine=...)`` sends each call through :class:`InProcessSender`: the body, query and
headers ``requests`` would send, handed to :meth:`~bridge.wire.InProcessEngine.request`
(no socket, none of ``requests``' per-call work), and the answer as a
:class:`~bridge.client.direct.Reply`, so ``Client._call`` keeps its one code path (the same
statuses, the same exceptions). A call the sender cannot encode as ``requests`` would goes
through the session, on which the client mounts :class:`InProcessAdapter` for the engine's
base URL: the same last hop. Timeouts do not apply
in-process; the engine bounds ``/wait`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from bridge.client.direct import Reply, prepare

if TYPE_CHECKING:
    from bridge.wire import InProcessEngine


class InProcessSender:
    """Sends a client's calls to ``base_url`` to ``engine`` in-process.

    Args:
        session: the client's session (its headers are sent; with cookies in it, calls go
            through the session instead).
        engine: the in-process engine.
        base_url: the URL the client was given for it (no trailing slash).
    """

    def __init__(self, session: requests.Session, engine: InProcessEngine,
                 base_url: str) -> None:
        self._session = session
        self._engine = engine
        self._base = base_url
        headers = {k: str(v) for k, v in session.headers.items()}
        self._headers = headers
        self._json_headers = {**headers, "Content-Type": "application/json"}

    def send(self, method: str, url: str, body: Any, params: dict[str, Any] | None,
             timeout: tuple[float, float]) -> Reply | None:
        """The answer to one call, or ``None`` when it must go through the session.

        Raises:
            EngineClosedError: the engine was closed.
        """
        if len(self._session.cookies) or not url.startswith(self._base):
            return None
        prepared = prepare(body, params, url, self._headers, self._json_headers)
        if prepared is None:
            return None
        full, data, headers = prepared
        status, answer_headers, content = self._engine.request(
            method, full[len(self._base):], data, headers)
        return Reply(status, answer_headers, content, _reason(status))

    def close(self) -> None:
        """Nothing to close: the engine belongs to its owner."""


class InProcessAdapter(BaseAdapter):
    """Answers every request sent through it with ``engine.request``.

    Raises (from :meth:`send`):
        EngineClosedError: the engine was closed.
    """

    def __init__(self, engine: InProcessEngine) -> None:
        super().__init__()
        self._engine = engine

    def send(self, request: PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None,
             verify: bool | str = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> Response:
        """Send ``request`` to the engine in-process and build the ``requests`` response."""
        parts = urlsplit(request.url or "")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body
        data = body.encode("utf-8") if isinstance(body, str) else body
        if data is not None and not isinstance(data, bytes):
            data = b"".join(data)  # an iterable body
        status, headers, content = self._engine.request(
            request.method or "GET", target, data, dict(request.headers))
        resp = Response()
        resp.status_code = status
        resp.headers = CaseInsensitiveDict(headers)
        resp.encoding = get_encoding_from_headers(resp.headers)
        resp.reason = _reason(status)
        resp.raw = BytesIO(content)
        resp._content = content
        resp.url = request.url or ""
        resp.request = request
        return resp

    def close(self) -> None:
        """Nothing to close: the engine belongs to its owner."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
