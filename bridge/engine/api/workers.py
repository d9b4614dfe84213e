"""Worker and queue routes (engine-api §1.5, §1.8): register, heartbeat, list workers, queue stats."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.engine.api.parsing import opt_int, opt_str, opt_str_list, read_object, req_str
from bridge.engine.api.state import api_state, call, call_hot
from bridge.engine.api.workflows import empty
from bridge.wire import DEFAULT_NAMESPACE


async def register_worker(request: Request) -> Response:
    """POST /api/v1/workers/register -> **200** ``{"worker_id": ...}`` (not 201, engine-api §8)."""
    body = await read_object(request)
    engine = api_state(request).engine
    max_wf = opt_int(body, "max_concurrent_workflows", nullable=False)
    max_act = opt_int(body, "max_concurrent_activities", nullable=False)
    worker_id = await call(
        request,
        engine.register_worker,
        identity=req_str(body, "identity"),
        queue=req_str(body, "queue"),
        namespace=opt_str(body, "namespace", DEFAULT_NAMESPACE),
        workflows=opt_str_list(body, "workflows"),
        activities=opt_str_list(body, "activities"),
        max_concurrent_workflows=10 if max_wf is None else max_wf,
        max_concurrent_activities=10 if max_act is None else max_act,
    )
    return JSONResponse({"worker_id": worker_id})


async def list_workers(request: Request) -> Response:
    """GET /api/v1/workers?namespace=main -> 200 ``[WorkflowWorker]``."""
    engine = api_state(request).engine
    namespace = request.query_params.get("namespace") or DEFAULT_NAMESPACE
    return JSONResponse(await call(request, engine.list_workers, namespace=namespace))


async def list_queues(request: Request) -> Response:
    """GET /api/v1/queues?namespace=main -> 200 ``[QueueStats]``."""
    engine = api_state(request).engine
    namespace = request.query_params.get("namespace") or DEFAULT_NAMESPACE
    return JSONResponse(await call(request, engine.list_queues, namespace=namespace))
