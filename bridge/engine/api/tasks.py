"""Activity and task routes (engine-api §1.3-§1.5): direct activity scheduling, the workflow-task
poll and commands, the activity-task poll, complete, fail and heartbeat.

Idle answers are assay's: the workflow-task poll answers the bare JSON ``null``, the activity poll
``{"task": null}`` (engine-api §8 item 2).

**Held workflow-task poll.** assay answers an idle poll at once and the Lua client then sleeps
0.5 s. Here an idle poll is held open up to ``poll_wait_s`` and answered as soon as a workflow
task becomes claimable on its queue. It answers ``null`` early as soon as an *activity* task is
ready on that queue, because the Lua client polls activities only after an empty workflow poll.
With ``poll_wait_s = 0`` it behaves exactly like assay.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.engine.api.errors import BadRequestError
from bridge.engine.api.parsing import (
    opt_any,
    opt_float,
    opt_int,
    path_int,
    read_object,
    req_int,
    req_str,
)
from bridge.engine.api.state import api_state, call, call_hot
from bridge.engine.api.workflows import empty

async def schedule_activity(request: Request) -> Response:
    """POST /api/v1/workflows/{id}/activities -> 201 WorkflowActivity (idempotent per seq)."""
    body = await read_object(request)
    engine = api_state(request).engine
    activity = await call(
        request,
        engine.schedule_activity,
        request.path_params["id"],
        name=req_str(body, "name"),
        seq=req_int(body, "seq"),
        task_queue=req_str(body, "task_queue"),
        input=opt_any(body, "input"),
        max_attempts=opt_int(body, "max_attempts"),
        initial_interval_secs=opt_float(body, "initial_interval_secs"),
        backoff_coefficient=opt_float(body, "backoff_coefficient"),
        start_to_close_secs=opt_float(body, "start_to_close_secs"),
        heartbeat_timeout_secs=opt_float(body, "heartbeat_timeout_secs"),
    )
    return JSONResponse(activity, status_code=201)


async def get_activity(request: Request) -> Response:
    """GET /api/v1/activities/{id} -> 200 WorkflowActivity, 404, or 400 for a non-integer id."""
    activity_id = path_int(request, "id")
    engine = api_state(request).engine
    return JSONResponse(await call(request, engine.get_activity, activity_id))


async def fail_activity(request: Request) -> Response:
    """POST /api/v1/tasks/{id}/fail ``{error}`` -> 200 empty."""
    activity_id = path_int(request, "id")
    body = await read_object(request)
    error = req_str(body, "error")
    engine = api_state(request).engine
    await call_hot(request, engine.fail_activity, activity_id, error)
    return empty()


async def heartbeat_activity(request: Request) -> Response:
    """POST /api/v1/tasks/{id}/heartbeat ``{details?}`` -> 200 empty.

    compat-policy: ``details`` may be any JSON value, and ``[]`` is taken as ``{}``.
    """
    activity_id = path_int(request, "id")
    body = await read_object(request)
    engine = api_state(request).engine
    await call_hot(request, engine.heartbeat_activity, activity_id, opt_any(body, "details"))
    return empty()

