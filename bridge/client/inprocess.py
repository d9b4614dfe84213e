"""A ``requests`` adapter that hands the client's calls to an engine in this process.

``Client(engine=...)`` mounts :class:`InProcessAdapter` on its session for the engine's base
URL, so the client keeps its one code path (``Client._call``: the same statuses, the same
exceptions) and only the last hop changes: :meth:`~bridge.wire.InProcessEngine.request`
instead of a socket. Timeouts do not apply in-process; the engine bounds ``/wait`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

if TYPE_CHECKING:
    from bridge.wire import InProcessEngine


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
