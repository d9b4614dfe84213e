"""The Starlette endpoints of the hot routes (:mod:`bridge.engine.api.hot`).

Each reads the body (415 and 413 first), then runs the route's handler through
:func:`~bridge.engine.api.state.call_hot`. The workflow-task poll and ``/wait`` hold the
request while their handler answers "nothing yet":

**Held workflow-task poll.** assay answers an idle poll at once and the Lua client then sleeps
0.5 s. Here an idle poll is held open up to ``poll_wait_s`` and answered as soon as a workflow
task becomes claimable on its queue. It answers ``null`` early as soon as an *activity* task is
ready on that queue, because the Lua client polls activities only after an empty workflow poll.
With ``poll_wait_s = 0`` it behaves exactly like assay.

**/wait** answers as soon as the workflow is terminal, or with its current record after
``timeout`` seconds (default 30, at most 300); 404 if the workflow does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from bridge.engine.api import hot
from bridge.engine.api.hot import NULL, HotCall
from bridge.engine.api.parsing import read_body
from bridge.engine.api.state import api_state, call_hot


async def _call(request: Request, reads_body: bool) -> HotCall:
    body = await read_body(request) if reads_body else b""
    return HotCall(dict(request.path_params), body,
                   request.scope.get("query_string", b"").decode("latin-1"))


def _endpoint(route: hot.HotRoute) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        call = await _call(request, route.reads_body)
        reply = await call_hot(request, route.handler, api_state(request), call)
        assert reply is not None  # only the held routes answer "nothing yet"
        return reply.response()

    endpoint.__name__ = endpoint.__qualname__ = route.handler.__name__
    endpoint.__doc__ = route.handler.__doc__
    return endpoint


_BY_HANDLER = {route.handler: route for route in hot.HOT_ROUTES}

start_workflow = _endpoint(_BY_HANDLER[hot.start_workflow])
get_workflow = _endpoint(_BY_HANDLER[hot.get_workflow])
submit_commands = _endpoint(_BY_HANDLER[hot.submit_commands])
poll_activity_task = _endpoint(_BY_HANDLER[hot.poll_activity_task])
complete_activity = _endpoint(_BY_HANDLER[hot.complete_activity])
worker_heartbeat = _endpoint(_BY_HANDLER[hot.worker_heartbeat])


async def poll_workflow_task(request: Request) -> Response:
    """POST /api/v1/workflow-tasks/poll ``{queue, worker_id}`` -> 200 task or ``null``."""
    args = hot.poll_args(await _call(request, True))
    state = api_state(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.poll_wait_s
    with state.hub.subscribe(("workflow_task", args.queue), ("activity_task", args.queue)) as sub:
        while True:
            reply = await call_hot(request, hot.poll_turn, state, args)
            if reply is not None:
                return reply.response()
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if not await sub.wait(remaining):
                break
            if await request.is_disconnected():
                break  # do not claim a task for a worker that has gone away
    return NULL.response()


async def wait_workflow(request: Request) -> Response:
    """GET /api/v1/workflows/{id}/wait?timeout=S -> 200 WorkflowRecord (extension)."""
    call = await _call(request, False)
    timeout_s = hot.wait_timeout(call)
    state = api_state(request)
    workflow_id = call.params["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    with state.hub.subscribe(("workflow_terminal", workflow_id)) as sub:
        while True:
            reply = await call_hot(request, hot.wait_turn, state, workflow_id)
            if reply is not None:
                return reply.response()
            if deadline - loop.time() <= 0 or state.hub.closing:  # a live workflow's record
                final = await call_hot(request, hot.get_workflow, state, call)
                return final.response()
            await sub.wait(deadline - loop.time())
