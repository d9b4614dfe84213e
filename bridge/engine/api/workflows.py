"""Workflow routes (engine-api §1.2), plus the ``/wait`` long-poll extension.

Each handler parses, makes one core call, and serializes. Records are already in wire shape.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.engine.api.errors import BadRequestError
from bridge.engine.api.parsing import (
    opt_any,
    opt_str,
    query_float,
    query_int,
    read_json,
    read_object,
    req_str,
)
from bridge.engine.api.state import api_state, call, call_hot
from bridge.wire import DEFAULT_NAMESPACE, DEFAULT_QUEUE, TERMINAL_STATUSES, WORKFLOW_STATUSES

#: Statuses the list filter understands; anything else is ignored, as in assay (engine-api §1.2).
STATUSES = WORKFLOW_STATUSES



def empty(status: int = 200) -> Response:
    """An empty body with no Content-Type, as assay answers signal, cancel and friends."""
    return Response(status_code=status)


async def list_workflows(request: Request) -> Response:
    """GET /api/v1/workflows?namespace&status&type&limit&offset&stalled -> 200
    ``[WorkflowRecord]``; ``stalled=true`` keeps those waiting on a type or activity that no
    live worker serves."""
    q = request.query_params
    status = q.get("status")
    engine = api_state(request).engine
    records = await call(
        request,
        engine.list_workflows,
        namespace=q.get("namespace") or DEFAULT_NAMESPACE,
        status=status if status in STATUSES else None,
        workflow_type=q.get("type") or None,
        limit=query_int(request, "limit", 50),
        offset=query_int(request, "offset", 0),
        stalled=q.get("stalled", "").lower() in ("1", "true", "yes"),
    )
    return JSONResponse(records)


async def list_events(request: Request) -> Response:
    """GET /api/v1/workflows/{id}/events -> 200 ``[WorkflowEvent]`` (``[]`` if unknown)."""
    engine = api_state(request).engine
    return JSONResponse(await call(request, engine.list_events, request.path_params["id"]))


async def signal_workflow(request: Request) -> Response:
    """POST /api/v1/workflows/{id}/signal/{name} -> 200 empty.

    Body ``{"payload": X}``, ``{}``, ``null`` or (compat-policy) ``[]``; ``[X]`` carries X as in
    assay. compat-policy: 404 for an unknown workflow, 409 for a finished one.
    """
    body: Any = await read_json(request)
    if isinstance(body, list) and len(body) <= 1:
        payload = body[0] if body else None
    elif body is None:
        payload = None
    elif isinstance(body, dict):
        payload = body.get("payload")
    else:
        raise BadRequestError(422, "signal body must be an object like {\"payload\": ...}")
    engine = api_state(request).engine
    await call(
        request,
        engine.signal_workflow,
        request.path_params["id"],
        request.path_params["name"],
        payload,
    )
    return empty()


async def cancel_workflow(request: Request) -> Response:
    """POST /api/v1/workflows/{id}/cancel -> 200 empty, 404 if unknown or terminal. No body read."""
    engine = api_state(request).engine
    await call(request, engine.cancel_workflow, request.path_params["id"])
    return empty()


async def terminate_workflow(request: Request) -> Response:
    """POST /api/v1/workflows/{id}/terminate with ``{"reason"?}`` or ``null`` -> 200 empty / 404."""
    body = await read_object(request, allow_null=True)
    reason = opt_str(body, "reason", None, nullable=True)
    engine = api_state(request).engine
    await call(request, engine.terminate_workflow, request.path_params["id"], reason)
    return empty()


async def list_children(request: Request) -> Response:
    """GET /api/v1/workflows/{id}/children -> 200 ``[WorkflowRecord]``."""
    engine = api_state(request).engine
    return JSONResponse(await call(request, engine.list_children, request.path_params["id"]))


async def continue_as_new(request: Request) -> Response:
    """POST /api/v1/workflows/{id}/continue-as-new with ``{"input"?}`` -> 201 start result."""
    body = await read_object(request)
    engine = api_state(request).engine
    result = await call(
        request, engine.continue_as_new, request.path_params["id"], opt_any(body, "input")
    )
    return JSONResponse(result, status_code=201)


