"""The hot routes' endpoints in the app: :class:`HotEndpoint`, a plain ASGI app per route.

The route table (:mod:`~bridge.engine.api.routes`) matches them like any route, behind the
same middleware (auth, request metrics, error pages); each then reads the body itself (415 and
413 first), runs its :mod:`~bridge.engine.api.hot` handler through
:func:`~bridge.engine.api.state.call_hot` and sends the handler's bytes. No Starlette
``Request`` or ``Response`` object is made for these calls, which every workflow makes about
nine of. An error becomes its answer here, through the one mapping
(:func:`~bridge.engine.api.errors.reply_for`).

Two routes hold the request while their handler answers "nothing yet":

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
import time
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.engine.api import hot
from bridge.engine.api.errors import BadRequestError, reply_for
from bridge.engine.api.hot import NULL, HotCall, HotRoute
from bridge.engine.api.metrics import EngineMetrics
from bridge.engine.api.parsing import check_body
from bridge.engine.api.reply import Reply, json_reply
from bridge.engine.api.state import ApiState, run_hot


class HotEndpoint:
    """The ASGI app of one hot route (a Starlette ``Route``'s endpoint).

    Args:
        route: the hot route it serves.
    """

    def __init__(self, route: HotRoute) -> None:
        self.route = route
        self.__name__ = route.handler.__name__
        self.__doc__ = route.handler.__doc__
        self._hold = _HOLDS.get(route.handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.respond(scope["app"].state.api, scope, receive, send)

    async def respond(self, state: ApiState, scope: Scope, receive: Receive,
                      send: Send) -> int:
        """Answer one request; returns the status sent (0: the client had gone)."""
        try:
            if self.route.check_path is not None:
                self.route.check_path(scope.get("path_params", {}))
            call = HotCall(scope.get("path_params", {}),
                           await _body(scope, receive, state) if self.route.reads_body else b"",
                           scope.get("query_string", b"").decode("latin-1"))
            if self._hold is not None:  # subscribed before the first question
                reply = await self._hold(Request(scope, receive), state, call)
            else:
                reply = await run_hot(state, self.route.handler, state, call)
        except ClientDisconnect:
            return 0  # nobody to answer
        except Exception as exc:  # noqa: BLE001 - every error becomes its answer
            reply = reply_for(exc, scope["method"], scope["path"])
        status, headers, body = reply.answer()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": body})
        return status


class HotFront:
    """The app's outermost middleware: a hot route's request goes straight to its
    :class:`HotEndpoint`, past the route table and the middleware below, and is timed into
    the request metrics here. With an auth mode on, or for any other request, it passes.

    Args:
        app: the rest of the app.
        state: the API state.
        metrics: the app's metrics.
    """

    def __init__(self, app: ASGIApp, state: ApiState, metrics: EngineMetrics) -> None:
        self.app = app
        self.state = state
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        found = None
        if (scope["type"] == "http" and not state.auth_api_key and state.jwt is None
                and not scope.get("root_path")):
            found = hot.match(scope["method"], scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        route, params = found
        endpoint = ENDPOINTS[route.method, route.path]
        scope["path_params"] = params
        scope["endpoint"] = endpoint
        started = time.perf_counter()
        status = await endpoint.respond(state, scope, receive, send)
        if status:
            self.metrics.request(route.method, route.path, status,
                                 time.perf_counter() - started)


async def _body(scope: Scope, receive: Receive, state: ApiState) -> bytes:
    """The raw body: 415 for a non-JSON type and 413 above the limit (by ``Content-Length``
    first, then by what arrives), as :func:`~bridge.engine.api.parsing.read_body`."""
    content_type = declared = None
    for name, value in scope.get("headers", ()):  # the first of each, as Starlette reads
        if name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif name == b"content-length" and declared is None:
            declared = value.decode("latin-1")
    limit = state.max_body_bytes
    check_body(content_type, int(declared) if declared is not None and declared.isdigit()
               else 0, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequestError(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _hold_poll(request: Request, state: ApiState, call: HotCall) -> Reply:
    """Wait for a workflow task (or an activity task) on the queue, up to ``poll_wait_s``."""
    args = hot.poll_args(call)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.poll_wait_s
    with state.hub.subscribe(("workflow_task", args.queue), ("activity_task", args.queue)) as sub:
        peek = True  # the first turn reads before it claims; one after a wake-up claims
        while True:  # subscribed first, then asked: a notice in between is not lost
            reply = await run_hot(state, hot.poll_turn, state, args, peek)
            if reply is not None:
                return reply
            remaining = deadline - loop.time()
            if remaining <= 0 or not await sub.wait(remaining):
                return NULL
            if await request.is_disconnected():
                return NULL  # do not claim a task for a worker that has gone away
            peek = False


async def _hold_wait(request: Request, state: ApiState, call: HotCall) -> Reply:
    """Wait for the workflow to end, up to the call's ``timeout``; one this engine knows to be
    running is not read before the first wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hot.wait_timeout(call)
    workflow_id = call.params["id"]
    with state.hub.subscribe(("workflow_terminal", workflow_id)) as sub:
        running = state.engine.known_running(workflow_id)  # asked once subscribed
        while True:
            reply = None if running else await run_hot(state, hot.wait_turn, state, workflow_id)
            running = False
            if reply is not None:
                return reply
            if deadline - loop.time() <= 0 or state.hub.closing:  # a live workflow's record
                return await run_hot(state, hot.get_workflow, state, call)
            if await sub.wait(deadline - loop.time()) and sub.record is not None:
                return json_reply(sub.record)


Hold = Callable[[Request, ApiState, HotCall], Awaitable[Reply]]

#: The routes that hold a request while there is nothing to answer, and how.
_HOLDS: dict[hot.Handler, Hold] = {hot.poll_workflow_task: _hold_poll,
                                   hot.wait_workflow: _hold_wait}

#: The endpoint of each hot route, by the route's path and method.
ENDPOINTS = {(route.method, route.path): HotEndpoint(route) for route in hot.HOT_ROUTES}
