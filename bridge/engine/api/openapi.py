"""GET /api/v1/openapi.json: an OpenAPI 3.1 document describing every route.

Written by hand as a table, one row per method and path of :mod:`bridge.engine.api.routes`;
``tests/engine/http/test_http_admin.py`` checks that no route is left out. Unlike assay's document
(21 paths) it covers activities, workflow tasks, namespaces, queues and the SSE stream too.
"""

from __future__ import annotations

import html
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from bridge._version import __version__
from bridge.wire import API_PREFIX as _A

_S = "#/components/schemas/"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _S + name}


def _arr(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


_ANY: dict[str, Any] = {}
_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_NSTR = {"type": ["string", "null"]}
_NNUM = {"type": ["number", "null"]}


def _obj(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj(["error"], error=_STR),
    "StartWorkflow": _obj(
        ["workflow_type", "workflow_id"],
        workflow_type=_STR, workflow_id=_STR, input=_ANY, task_queue=_STR, namespace=_NSTR,
    ),
    "StartResult": _obj(["workflow_id", "run_id", "status"],
                        workflow_id=_STR, run_id=_STR, status=_STR),
    "WorkflowRecord": _obj(
        ["id", "namespace", "run_id", "workflow_type", "task_queue", "status", "created_at"],
        id=_STR, namespace=_STR, run_id=_STR, workflow_type=_STR, task_queue=_STR, status=_STR,
        input=_NSTR, result=_NSTR, error=_NSTR, parent_id=_NSTR, claimed_by=_NSTR,
        created_at=_NUM, updated_at=_NUM, completed_at=_NNUM,
    ),
    "WorkflowEvent": _obj(["id", "workflow_id", "seq", "event_type"],
                          id=_INT, workflow_id=_STR, seq=_INT, event_type=_STR,
                          payload=_NSTR, timestamp=_NUM),
    "Signal": {"description": "{\"payload\": any}, {}, [] or null"},
    "Terminate": _obj([], reason=_NSTR),
    "ContinueAsNew": _obj([], input=_ANY),
    "ScheduleActivity": _obj(
        ["name", "seq", "task_queue"],
        name=_STR, seq=_INT, task_queue=_STR, input=_ANY, max_attempts=_INT,
        initial_interval_secs=_NUM, backoff_coefficient=_NUM, start_to_close_secs=_NUM,
        heartbeat_timeout_secs=_NUM,
    ),
    "WorkflowActivity": _obj(
        ["id", "workflow_id", "seq", "name", "task_queue", "status", "attempt"],
        id=_INT, workflow_id=_STR, seq=_INT, name=_STR, task_queue=_STR, input=_NSTR,
        status=_STR, result=_NSTR, error=_NSTR, attempt=_INT, max_attempts=_INT,
        initial_interval_secs=_NUM, backoff_coefficient=_NUM, start_to_close_secs=_NUM,
        heartbeat_timeout_secs=_NNUM, claimed_by=_NSTR, scheduled_at=_NUM,
        started_at=_NNUM, completed_at=_NNUM, last_heartbeat=_NNUM,
    ),
    "Poll": _obj(["queue", "worker_id"], queue=_STR, worker_id=_STR),
    "WorkflowTask": _obj(
        ["workflow_id", "workflow_type", "history"],
        workflow_id=_STR, namespace=_STR, workflow_type=_STR, task_queue=_STR, input=_ANY,
        history={"type": "array", "items": _obj(["seq", "event_type"], seq=_INT,
                                                  event_type=_STR, payload=_ANY,
                                                  timestamp=_NUM)},
    ),
    "Commands": _obj(["worker_id", "commands"], worker_id=_STR,
                     commands={"type": "array", "items": {"type": "object"}}),
    "RegisterWorker": _obj(
        ["identity", "queue"], identity=_STR, queue=_STR, namespace=_STR,
        workflows={"type": "array", "items": _STR}, activities={"type": "array", "items": _STR},
        max_concurrent_workflows=_INT, max_concurrent_activities=_INT,
    ),
    "WorkerId": _obj(["worker_id"], worker_id=_STR),
    "WorkflowWorker": _obj(["id", "identity", "task_queue"], id=_STR, namespace=_STR,
                           identity=_STR, task_queue=_STR, workflows=_NSTR, activities=_NSTR,
                           max_concurrent_workflows=_INT, max_concurrent_activities=_INT,
                           active_tasks=_INT, last_heartbeat=_NUM, registered_at=_NUM),
    "NoTask": _obj(["task"], task={"type": "null"}),
    "Complete": _obj([], result=_ANY),
    "Fail": _obj(["error"], error=_STR),
    "Heartbeat": _obj([], details=_ANY),
    "CreateSchedule": _obj(
        ["name", "workflow_type", "cron_expr"], name=_STR, workflow_type=_STR, cron_expr=_STR,
        namespace=_STR, input=_ANY, task_queue=_STR, overlap_policy=_STR,
    ),
    "WorkflowSchedule": _obj(
        ["name", "namespace", "workflow_type", "cron_expr", "paused"],
        name=_STR, namespace=_STR, workflow_type=_STR, cron_expr=_STR, input=_NSTR,
        task_queue=_STR, overlap_policy=_STR, paused={"type": "boolean"},
        last_run_at=_NNUM, next_run_at=_NNUM, last_workflow_id=_NSTR, created_at=_NUM,
    ),
    "CreateNamespace": _obj(["name"], name=_STR),
    "Namespace": _obj(["name", "created_at"], name=_STR, created_at=_NUM),
    "NamespaceStats": _obj(["namespace"], namespace=_STR, total_workflows=_INT, running=_INT,
                           pending=_INT, completed=_INT, failed=_INT, schedules=_INT,
                           workers=_INT),
    "QueueStats": _obj(["queue"], queue=_STR, pending_activities=_INT,
                       running_activities=_INT, workers=_INT),
    "Health": _obj(["status", "service"], status=_STR, service=_STR),
    "Version": _obj(["service", "version"], service=_STR, version=_STR, assay_compat=_STR),
}


# (method, path) -> (tag, summary, request schema or None, success status, response or None).
# A response of None means an empty body; a str names a schema; "[X]" is an array of X.
OPERATIONS: dict[tuple[str, str], tuple[str, str, str | None, int, str | None]] = {
    ("POST", f"{_A}/workflows"): ("workflows", "Start a workflow", "StartWorkflow", 201,
                                  "StartResult"),
    ("GET", f"{_A}/workflows"): ("workflows", "List workflows", None, 200, "[WorkflowRecord]"),
    ("GET", f"{_A}/workflows/{{id}}"): ("workflows", "Describe a workflow", None, 200,
                                        "WorkflowRecord"),
    ("GET", f"{_A}/workflows/{{id}}/events"): ("workflows", "A workflow's event history", None,
                                               200, "[WorkflowEvent]"),
    ("POST", f"{_A}/workflows/{{id}}/signal/{{name}}"): ("workflows", "Signal a workflow",
                                                         "Signal", 200, None),
    ("POST", f"{_A}/workflows/{{id}}/cancel"): ("workflows", "Request cancellation", None, 200,
                                                None),
    ("POST", f"{_A}/workflows/{{id}}/terminate"): ("workflows", "Terminate a workflow",
                                                   "Terminate", 200, None),
    ("GET", f"{_A}/workflows/{{id}}/children"): ("workflows", "Child workflows", None, 200,
                                                 "[WorkflowRecord]"),
    ("POST", f"{_A}/workflows/{{id}}/continue-as-new"): ("workflows", "Continue as new",
                                                         "ContinueAsNew", 201, "StartResult"),
    ("GET", f"{_A}/workflows/{{id}}/wait"): (
        "workflows", "Wait until the workflow is terminal (?timeout=seconds, default 30, max 300)",
        None, 200, "WorkflowRecord"),
    ("POST", f"{_A}/workflows/{{id}}/activities"): ("activities", "Schedule an activity",
                                                    "ScheduleActivity", 201, "WorkflowActivity"),
    ("GET", f"{_A}/activities/{{id}}"): ("activities", "Describe an activity", None, 200,
                                         "WorkflowActivity"),
    ("POST", f"{_A}/workflow-tasks/poll"): (
        "tasks", "Claim a workflow task (held open up to --poll-wait-secs); JSON null if none",
        "Poll", 200, "WorkflowTask"),
    ("POST", f"{_A}/workflow-tasks/{{id}}/commands"): ("tasks", "Submit a workflow task's "
                                                       "commands", "Commands", 200, None),
    ("POST", f"{_A}/workers/register"): ("workers", "Register a worker", "RegisterWorker", 200,
                                         "WorkerId"),
    ("POST", f"{_A}/workers/heartbeat"): ("workers", "Worker heartbeat", "WorkerId", 200, None),
    ("GET", f"{_A}/workers"): ("workers", "List workers", None, 200, "[WorkflowWorker]"),
    ("POST", f"{_A}/tasks/poll"): ("tasks", "Claim an activity task; {\"task\": null} if none",
                                   "Poll", 200, "WorkflowActivity"),
    ("POST", f"{_A}/tasks/{{id}}/complete"): ("tasks", "Complete an activity", "Complete", 200,
                                              None),
    ("POST", f"{_A}/tasks/{{id}}/fail"): ("tasks", "Fail an activity attempt", "Fail", 200,
                                          None),
    ("POST", f"{_A}/tasks/{{id}}/heartbeat"): ("tasks", "Activity heartbeat", "Heartbeat", 200,
                                               None),
    ("POST", f"{_A}/schedules"): ("schedules", "Create a schedule", "CreateSchedule", 201,
                                  "WorkflowSchedule"),
    ("GET", f"{_A}/schedules"): ("schedules", "List schedules", None, 200,
                                 "[WorkflowSchedule]"),
    ("GET", f"{_A}/schedules/{{name}}"): ("schedules", "Describe a schedule", None, 200,
                                          "WorkflowSchedule"),
    ("DELETE", f"{_A}/schedules/{{name}}"): ("schedules", "Delete a schedule", None, 200, None),
    ("POST", f"{_A}/schedules/{{name}}/pause"): ("schedules", "Pause a schedule", None, 200,
                                                 "WorkflowSchedule"),
    ("POST", f"{_A}/schedules/{{name}}/resume"): ("schedules", "Resume a schedule", None, 200,
                                                  "WorkflowSchedule"),
    ("POST", f"{_A}/namespaces"): ("namespaces", "Create a namespace", "CreateNamespace", 201,
                                   None),
    ("GET", f"{_A}/namespaces"): ("namespaces", "List namespaces", None, 200, "[Namespace]"),
    ("GET", f"{_A}/namespaces/{{name}}"): ("namespaces", "Namespace statistics", None, 200,
                                           "NamespaceStats"),
    ("DELETE", f"{_A}/namespaces/{{name}}"): ("namespaces", "Delete a namespace", None, 200,
                                              None),
    ("GET", f"{_A}/queues"): ("namespaces", "Queue statistics", None, 200, "[QueueStats]"),
    ("GET", f"{_A}/health"): ("meta", "Liveness (open under auth)", None, 200, "Health"),
    ("GET", f"{_A}/version"): ("meta", "Version (open under auth)", None, 200, "Version"),
    ("GET", f"{_A}/events/stream"): ("meta", "Server-Sent Events of workflow and task events",
                                     None, 200, "text/event-stream"),
    ("GET", f"{_A}/openapi.json"): ("meta", "This document", None, 200, "application/json"),
}

_QUERY = {
    f"{_A}/workflows": ["namespace", "status", "type", "limit", "offset"],
    f"{_A}/workflows/{{id}}/wait": ["timeout"],
    f"{_A}/workers": ["namespace"],
    f"{_A}/schedules": ["namespace"],
    f"{_A}/schedules/{{name}}": ["namespace"],
    f"{_A}/schedules/{{name}}/pause": ["namespace"],
    f"{_A}/schedules/{{name}}/resume": ["namespace"],
    f"{_A}/queues": ["namespace"],
    f"{_A}/events/stream": ["workflow_id"],
}

_OPEN = {f"{_A}/health", f"{_A}/version", f"{_A}/openapi.json"}


def _response(status: int, schema: str | None) -> dict[str, Any]:
    if schema is None:
        return {"description": "empty body"}
    if schema in ("text/event-stream", "application/json"):
        return {"description": "OK", "content": {schema: {}}}
    ref = _arr(schema[1:-1]) if schema.startswith("[") else _ref(schema)
    return {"description": "OK", "content": {"application/json": {"schema": ref}}}


def _operation(method: str, path: str) -> dict[str, Any]:
    tag, summary, request_schema, status, response = OPERATIONS[(method, path)]
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    op: dict[str, Any] = {
        "tags": [tag],
        "summary": summary,
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path[len(_A):].lower())}",
        "responses": {
            str(status): _response(status, response),
            "4XX": {"description": "refused", **error},
        },
    }
    params = [
        {"name": p, "in": "path", "required": True,
         "schema": _INT if p == "id" and path.startswith((f"{_A}/activities/", f"{_A}/tasks/"))
         else _STR}
        for p in re.findall(r"{(\w+)}", path)
    ]
    params += [{"name": q, "in": "query", "required": False, "schema": _STR}
               for q in _QUERY.get(path, []) if method == "GET" or "schedules" in path]
    if params:
        op["parameters"] = params
    if request_schema is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(request_schema)}}}
    if path in _OPEN:
        op["security"] = []
    return op


def build_openapi() -> dict[str, Any]:
    """The whole OpenAPI document."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "assay-bridge workflow engine API",
            "version": __version__,
            "description": "Wire-compatible with the assay v0.11.2 workflow engine; see "
            "engine-api.md and compat-policy.md for the deliberate differences.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


async def openapi_json(request: Request) -> Response:
    """GET /api/v1/openapi.json -> 200 the OpenAPI document (open under auth)."""
    return JSONResponse(build_openapi())


def docs_page() -> str:
    """The API reference page, rendered here from :func:`build_openapi`: one self-contained
    HTML page with no script and nothing loaded from elsewhere, so it works offline (assay's
    loads Scalar from a CDN)."""
    doc = build_openapi()
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            codes = ", ".join(op["responses"])
            rows.append(
                f"<tr><td class=m>{html.escape(method.upper())}</td>"
                f"<td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td><td>{html.escape(params)}</td>"
                f"<td>{html.escape(schema)}</td><td>{html.escape(codes)}</td></tr>")
    title = html.escape(doc["info"]["title"])
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{title}</title>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
        ".m{font-weight:bold}code{font-size:13px}</style></head><body>"
        f"<h1>{title}</h1><p>Version {html.escape(str(doc['info']['version']))}. The machine-"
        "readable document: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>parameters</th>"
        "<th>body</th><th>answers</th></tr>" + "".join(rows) + "</table></body></html>")


async def docs_html(request: Request) -> Response:
    """GET /api/v1/docs -> 200 an HTML API reference over openapi.json (open under auth)."""
    return HTMLResponse(docs_page())
