"""Namespace, queue, health and version routes (engine-api §1.7, §1.8)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge._version import __version__
from bridge.engine.api.parsing import read_object, req_str
from bridge.engine.api.state import api_state, call
from bridge.engine.api.workflows import empty
from bridge.wire import DEFAULT_NAMESPACE

#: The assay engine version whose wire protocol this engine speaks.
ASSAY_COMPAT_VERSION = "0.11.2"


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


async def list_queues(request: Request) -> Response:
    """GET /api/v1/queues?namespace=main -> 200 ``[QueueStats]``."""
    engine = api_state(request).engine
    namespace = request.query_params.get("namespace") or DEFAULT_NAMESPACE
    return JSONResponse(await call(request, engine.list_queues, namespace=namespace))


async def health(request: Request) -> Response:
    """GET /api/v1/health -> 200 ``{"status":"ok","service":"assay-workflow"}``; open under auth."""
    return JSONResponse({"status": "ok", "service": "assay-workflow"})


async def version(request: Request) -> Response:
    """GET /api/v1/version -> 200 ``{service, version, assay_compat}``; open under auth."""
    return JSONResponse(
        {"service": "assay-bridge", "version": __version__, "assay_compat": ASSAY_COMPAT_VERSION}
    )
