"""Schedule routes (engine-api §1.6) plus pause and resume (compat-policy)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.engine.api.parsing import opt_any, opt_str, read_object, req_str
from bridge.engine.api.state import api_state, call
from bridge.engine.api.workflows import empty
from bridge.wire import DEFAULT_NAMESPACE, DEFAULT_QUEUE


def _namespace(request: Request) -> str:
    return request.query_params.get("namespace") or DEFAULT_NAMESPACE


async def create_schedule(request: Request) -> Response:
    """POST /api/v1/schedules -> 201 WorkflowSchedule; an invalid cron expression is 400.

    compat-policy: ``task_queue`` defaults to ``default`` (assay: ``main``).
    """
    body = await read_object(request)
    engine = api_state(request).engine
    schedule = await call(
        request,
        engine.create_schedule,
        name=req_str(body, "name"),
        workflow_type=req_str(body, "workflow_type"),
        cron_expr=req_str(body, "cron_expr"),
        namespace=opt_str(body, "namespace", DEFAULT_NAMESPACE),
        input=opt_any(body, "input"),
        task_queue=opt_str(body, "task_queue", DEFAULT_QUEUE),
        overlap_policy=opt_str(body, "overlap_policy", "skip"),
    )
    return JSONResponse(schedule, status_code=201)


async def list_schedules(request: Request) -> Response:
    """GET /api/v1/schedules?namespace=main -> 200 ``[WorkflowSchedule]``."""
    engine = api_state(request).engine
    return JSONResponse(await call(request, engine.list_schedules, namespace=_namespace(request)))


async def get_schedule(request: Request) -> Response:
    """GET /api/v1/schedules/{name}?namespace=main -> 200 WorkflowSchedule or 404."""
    engine = api_state(request).engine
    name = request.path_params["name"]
    return JSONResponse(
        await call(request, engine.get_schedule, name, namespace=_namespace(request))
    )


async def delete_schedule(request: Request) -> Response:
    """DELETE /api/v1/schedules/{name}?namespace=main -> 200 empty or 404."""
    engine = api_state(request).engine
    name = request.path_params["name"]
    await call(request, engine.delete_schedule, name, namespace=_namespace(request))
    return empty()


async def pause_schedule(request: Request) -> Response:
    """POST /api/v1/schedules/{name}/pause -> 200 WorkflowSchedule (extension, compat-policy)."""
    engine = api_state(request).engine
    name = request.path_params["name"]
    return JSONResponse(
        await call(request, engine.pause_schedule, name, namespace=_namespace(request))
    )


async def resume_schedule(request: Request) -> Response:
    """POST /api/v1/schedules/{name}/resume -> 200 WorkflowSchedule (extension, compat-policy)."""
    engine = api_state(request).engine
    name = request.path_params["name"]
    return JSONResponse(
        await call(request, engine.resume_schedule, name, namespace=_namespace(request))
    )
