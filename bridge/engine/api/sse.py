"""GET /api/v1/events/stream: Server-Sent Events of workflow and task events.

Fixes engine-api §6.1 item 16 (compat-policy: "SSE that streams"): every event the core commits
is sent as ``event: <event_type>`` with ``data: {"event_type","workflow_id","payload"}``, the
shape engine-api §1.8 describes. A comment line opens the stream (so a reader knows it is
subscribed) and another is sent every :data:`KEEPALIVE_S` seconds. ``?workflow_id=`` narrows the
stream to one workflow. The stream ends when the server stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bridge.engine.api.notify import Hub
from bridge.engine.api.state import api_state

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0


def format_event(data: dict[str, Any]) -> str:
    """One SSE message for an engine event notice."""
    event_type = str(data.get("event_type") or "message").replace("\n", " ")
    body = {
        "event_type": data.get("event_type"),
        "workflow_id": data.get("workflow_id"),
        "payload": data.get("payload"),
    }
    return f"event: {event_type}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


async def _messages(hub: Hub, workflow_id: str | None) -> AsyncIterator[str]:
    with hub.stream() as queue:
        yield ": connected\n\n"
        while True:
            try:
                data = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if data is None:
                return
            if workflow_id is not None and data.get("workflow_id") != workflow_id:
                continue
            yield format_event(data)


async def event_stream(request: Request) -> Response:
    """Open an SSE stream (``text/event-stream``)."""
    hub = api_state(request).hub
    return StreamingResponse(
        _messages(hub, request.query_params.get("workflow_id") or None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
