"""One API answer as plain data: :class:`Reply`, the same bytes whichever adapter sends it.

The hot routes' handlers (:mod:`bridge.engine.api.hot`) and the error mapping
(:mod:`bridge.engine.api.errors`) return replies; a Starlette endpoint turns one into a
``Response`` (:meth:`Reply.response`), the embedded engine's direct path into its
``(status, headers, body)`` answer (:meth:`Reply.answer`). JSON is written as Starlette's
``JSONResponse`` writes it, so both give the same bytes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from starlette.responses import Response

from bridge.engine.records import wire_json

JSON_TYPE = "application/json"


class Reply(NamedTuple):
    """An answer: status, body and its media type (None: no ``Content-Type``)."""

    status: int
    body: bytes = b""
    media_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> Response:
        """The Starlette response sending this reply."""
        return Response(self.body, status_code=self.status, media_type=self.media_type,
                        headers=dict(self.headers) or None)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        """``(status, lower-cased headers, body)``, the headers the response would send."""
        headers = {"content-length": str(len(self.body))}
        if self.media_type is not None:
            headers["content-type"] = self.media_type
        for name, value in self.headers:
            headers[name.lower()] = value
        return self.status, headers, self.body


def json_bytes(content: Any) -> bytes:
    """``content`` as Starlette's ``JSONResponse`` renders it."""
    return wire_json(content).encode("utf-8")


def json_reply(content: Any, status: int = 200,
               headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """A JSON reply."""
    return Reply(status, json_bytes(content), JSON_TYPE, headers)


#: ``200`` with an empty body and no Content-Type, as assay answers commands and friends.
EMPTY = Reply(200)
