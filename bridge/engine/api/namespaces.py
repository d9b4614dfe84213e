"""Namespace routes (engine-api §1.7)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.engine.api.parsing import read_object, req_str
from bridge.engine.api.state import api_state, call
from bridge.engine.api.workflows import empty

async def create_namespace(request: Request) -> Response:
    """POST /api/v1/namespaces ``{name}`` -> 201 empty; a duplicate is 409."""
    body = await read_object(request)
    engine = api_state(request).engine
    await call(request, engine.create_namespace, req_str(body, "name"))
    return empty(201)


async def list_namespaces(request: Request) -> Response:
    """GET /api/v1/namespaces -> 200 ``[{name, created_at}]``."""
    engine = api_state(request).engine
    return JSONResponse(await call(request, engine.list_namespaces))


async def namespace_stats(request: Request) -> Response:
    """GET /api/v1/namespaces/{name} -> 200 NamespaceStats (zeros for an unknown name)."""
    engine = api_state(request).engine
    return JSONResponse(await call(request, engine.namespace_stats, request.path_params["name"]))


async def delete_namespace(request: Request) -> Response:
    """DELETE /api/v1/namespaces/{name} -> 200 empty; 404 for ``main`` or an unknown name."""
    engine = api_state(request).engine
    await call(request, engine.delete_namespace, request.path_params["name"])
    return empty()
