"""The hot routes: what every workflow calls, as plain functions of a request's raw parts.

A one-activity workflow makes about nine calls, all to these routes: start, the workflow-task
poll and commands, the activity poll and completion, the worker heartbeat, the record and
``/wait``. Each handler here takes the :class:`~bridge.engine.api.state.ApiState` and a
:class:`HotCall` (path parameters, the raw body already checked for type and size, the query
string), parses, makes its core call and returns a :class:`~bridge.engine.api.reply.Reply`.

Two adapters run the same handlers:

* the Starlette endpoints (:mod:`~bridge.engine.api.tasks`, ``workflows``, ``workers``), which
  read the body and run a handler through :func:`~bridge.engine.api.state.call_hot`;
* the embedded engine's direct path (:mod:`bridge.engine.api.direct`), which runs them in the
  calling thread, with no event loop in between.

The two held routes (the workflow-task poll, ``/wait``) wait for a notice while there is
nothing to answer: their handlers here block the calling thread (a
:meth:`~bridge.engine.api.notify.Hub.subscribe_here` waiter), for the direct path; the app's
endpoints hold the request on the loop instead, around the same turns (:func:`poll_turn`,
:func:`wait_turn`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from bridge.engine.api.errors import BadRequestError
from bridge.engine.api.parsing import (
    float_param,
    int_param,
    opt_any,
    opt_str,
    parse_object,
    req_str,
)
from bridge.engine.api.reply import EMPTY, JSON_TYPE, Reply, json_reply
from bridge.engine.api.state import ApiState
from bridge.wire import API_PREFIX as API
from bridge.wire import DEFAULT_NAMESPACE, DEFAULT_QUEUE, TERMINAL_STATUSES


#: The idle answer of the workflow-task poll: the bare JSON ``null``, as assay sends it.
NULL = Reply(200, b"null", JSON_TYPE)

#: The longest a ``/wait`` call may hold the request, and its default.
MAX_WAIT_S = 300.0
DEFAULT_WAIT_S = 30.0


class HotCall(NamedTuple):
    """A hot route's request: path parameters, raw body (type and size checked), query."""

    params: dict[str, str]
    body: bytes = b""
    query: str = ""


Handler = Callable[[ApiState, HotCall], Reply]


def start_workflow(state: ApiState, call: HotCall) -> Reply:
    """POST /api/v1/workflows -> 201 ``{workflow_id, run_id, status}``.

    compat-policy: ``task_queue`` defaults to ``default`` (assay: ``main``); a duplicate id is 409.
    """
    body = parse_object(call.body)
    workflow_type = req_str(body, "workflow_type")
    workflow_id = req_str(body, "workflow_id")
    queue = opt_str(body, "task_queue", DEFAULT_QUEUE)
    result = state.engine.start_workflow(
        workflow_type=workflow_type,
        workflow_id=workflow_id,
        input=opt_any(body, "input"),
        task_queue=DEFAULT_QUEUE if queue is None else queue,
        namespace=opt_str(body, "namespace", DEFAULT_NAMESPACE, nullable=True),
    )
    return json_reply(result, 201)


def get_workflow(state: ApiState, call: HotCall) -> Reply:
    """GET /api/v1/workflows/{id} -> 200 WorkflowRecord with ``waiting_on``, or 404."""
    return json_reply(state.engine.get_workflow(call.params["id"]))


class PollArgs(NamedTuple):
    """What a workflow-task poll asks for."""

    queue: str
    worker_id: str


def poll_args(call: HotCall) -> PollArgs:
    """The ``{queue, worker_id}`` of a workflow-task poll."""
    body = parse_object(call.body)
    return PollArgs(req_str(body, "queue"), req_str(body, "worker_id"))


def poll_turn(state: ApiState, args: PollArgs, peek: bool = True) -> Reply | None:
    """One turn of a workflow-task poll: the claimed task; ``null`` when the worker should go
    on (an activity task is ready for it, the engine is closing, or polls are not held);
    None when the poll should wait for work.

    With ``peek`` (a poll's first turn), unless the hub has announced a workflow task on
    the queue since the last claim there, it first reads whether there is anything to claim
    and claims only then: an idle turn costs one read, not a write transaction. If instead
    an activity task was announced there (and no poll has taken that hint yet), the turn
    answers ``null`` without reading: the worker goes on to the activity, and its next poll
    reads. A turn after a wake-up claims at once."""
    engine, hub = state.engine, state.hub
    if state.poll_wait_s <= 0:  # assay's behaviour: answer at once
        task = engine.poll_workflow_task(queue=args.queue, worker_id=args.worker_id)
        return NULL if task is None else Reply(200, task.encode("utf-8"), JSON_TYPE)
    if peek and not hub.expects_workflow_task(args.queue):
        if hub.take_activity_hint(args.queue):
            return NULL
        workflow_ready, activity_ready = engine.ready_tasks(queue=args.queue,
                                                            worker_id=args.worker_id)
        if not workflow_ready:
            return NULL if activity_ready or hub.closing else None
    task, activity_ready = engine.poll_workflow_task_or_activity(
        queue=args.queue, worker_id=args.worker_id)
    hub.claimed_workflow_task(args.queue, task is not None)
    if task is not None:
        return Reply(200, task.encode("utf-8"), JSON_TYPE)
    if activity_ready or hub.closing:
        return NULL  # let the worker go on to its activity poll
    return None


def poll_workflow_task(state: ApiState, call: HotCall) -> Reply:
    """POST /api/v1/workflow-tasks/poll ``{queue, worker_id}`` -> 200 task or ``null``, held
    in the calling thread (never the loop's) up to ``poll_wait_s`` while there is no work."""
    args = poll_args(call)
    deadline = time.monotonic() + state.poll_wait_s
    with state.hub.subscribe_here(("workflow_task", args.queue),
                                  ("activity_task", args.queue)) as sub:
        peek = True
        while True:  # subscribed first, then asked: a notice in between is not lost
            reply = poll_turn(state, args, peek)
            if reply is not None:
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sub.wait(remaining):
                return NULL
            peek = False


def commands(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``commands`` array of a commands body (an empty Lua table may arrive as ``{}``)."""
    value = body.get("commands")
    if value is None:
        raise BadRequestError(422, "missing field `commands`")
    if isinstance(value, dict) and not value:
        return []
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        raise BadRequestError(422, "field `commands` must be an array of command objects")
    return value


def submit_commands(state: ApiState, call: HotCall) -> Reply:
    """POST /api/v1/workflow-tasks/{id}/commands ``{worker_id, commands}`` -> 200 empty.

    compat-policy: an unknown command type rejects the batch (400); a lost lease is 409.
    """
    body = parse_object(call.body)
    worker_id = req_str(body, "worker_id")
    state.engine.submit_commands(call.params["id"], worker_id=worker_id,
                                 commands=commands(body))
    return EMPTY


def poll_activity_task(state: ApiState, call: HotCall) -> Reply:
    """POST /api/v1/tasks/poll ``{queue, worker_id}`` -> 200 WorkflowActivity or
    ``{"task": null}``."""
    body = parse_object(call.body)
    queue = req_str(body, "queue")
    worker_id = req_str(body, "worker_id")
    task = state.engine.poll_activity_task(queue=queue, worker_id=worker_id)
    return json_reply(task if task is not None else {"task": None})


def complete_activity(state: ApiState, call: HotCall) -> Reply:
    """POST /api/v1/tasks/{id}/complete ``{result?}`` -> 200 empty (``[]`` is ``{}``)."""
    body = parse_object(call.body)
    state.engine.complete_activity(activity_id(call.params), opt_any(body, "result"))
    return EMPTY


def worker_heartbeat(state: ApiState, call: HotCall) -> Reply:
    """POST /api/v1/workers/heartbeat ``{worker_id}`` -> 200 empty (unknown ids are a no-op)."""
    body = parse_object(call.body)
    state.engine.worker_heartbeat(req_str(body, "worker_id"))
    return EMPTY


def wait_timeout(call: HotCall) -> float:
    """The ``timeout`` of a ``/wait`` call, in seconds (default 30, at most 300)."""
    raw = dict(parse_qsl(call.query, keep_blank_values=True)).get("timeout")
    return min(float_param("timeout", raw, DEFAULT_WAIT_S), MAX_WAIT_S)


def wait_turn(state: ApiState, workflow_id: str) -> Reply | None:
    """The record of a terminal workflow, or None while it runs (404 if unknown)."""
    record = state.engine.get_workflow(workflow_id, waiting_on=False)
    if record.get("status") in TERMINAL_STATUSES:
        return json_reply(record)
    return None


def wait_workflow(state: ApiState, call: HotCall) -> Reply:
    """GET /api/v1/workflows/{id}/wait?timeout=S (extension): the record once terminal, held
    in the calling thread (never the loop's); a live workflow's record (with its
    ``waiting_on``) after ``timeout`` or when the engine closes. A workflow the engine knows
    to be running is not read before the first wait (:mod:`bridge.engine.live`)."""
    deadline = time.monotonic() + wait_timeout(call)
    workflow_id = call.params["id"]
    with state.hub.subscribe_here(("workflow_terminal", workflow_id)) as sub:
        running = state.engine.known_running(workflow_id)  # asked once subscribed
        while True:
            reply = None if running else wait_turn(state, workflow_id)
            running = False
            if reply is not None:
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0 or state.hub.closing:
                return get_workflow(state, call)
            if sub.wait(remaining) and sub.record is not None:
                return json_reply(sub.record)


def activity_id(params: dict[str, str]) -> int:
    """The activity id of a ``/tasks/{id}/...`` path (400 if it is not an integer)."""
    return int_param("id", params["id"])


class HotRoute(NamedTuple):
    """A hot route: method, path template (``{name}`` matches one segment), its handler,
    whether it reads a JSON body, and a check of its path parameters that runs before the
    body is read (a bad id is 400 before any 415 or 413, as assay extracts the path first)."""

    method: str
    path: str
    handler: Handler
    reads_body: bool
    check_path: Callable[[dict[str, str]], object] | None = None


#: The hot routes, in the order the route table lists them first.
HOT_ROUTES: tuple[HotRoute, ...] = (
    HotRoute("POST", f"{API}/workflow-tasks/poll", poll_workflow_task, True),
    HotRoute("POST", f"{API}/workflow-tasks/{{id}}/commands", submit_commands, True),
    HotRoute("POST", f"{API}/tasks/poll", poll_activity_task, True),
    HotRoute("POST", f"{API}/tasks/{{id}}/complete", complete_activity, True, activity_id),
    HotRoute("POST", f"{API}/workers/heartbeat", worker_heartbeat, True),
    HotRoute("GET", f"{API}/workflows/{{id}}/wait", wait_workflow, False),
    HotRoute("POST", f"{API}/workflows", start_workflow, True),
    HotRoute("GET", f"{API}/workflows/{{id}}", get_workflow, False),
)

_EXACT = {(route.method, route.path): route for route in HOT_ROUTES if "{" not in route.path}
_TEMPLATES: dict[tuple[str, int], list[tuple[HotRoute, list[str]]]] = {}
for _route in HOT_ROUTES:
    if "{" in _route.path:
        _parts = _route.path.split("/")
        _TEMPLATES.setdefault((_route.method, len(_parts)), []).append((_route, _parts))


def match(method: str, path: str) -> tuple[HotRoute, dict[str, str]] | None:
    """The hot route answering ``method path`` (a percent-decoded path) and its parameters,
    or None; a ``{name}`` segment matches a non-empty segment, as Starlette's does."""
    exact = _EXACT.get((method, path))
    if exact is not None:
        return exact, {}
    parts = path.split("/")
    for route, template in _TEMPLATES.get((method, len(parts)), ()):
        params: dict[str, str] = {}
        for want, got in zip(template, parts):
            if want[0:1] == "{":
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return route, params
    return None
