"""The one route table of the engine API (engine-api §1.1 plus the extensions).

Paths and methods are assay's. Extensions: ``GET /api/v1/version``,
``GET /api/v1/workflows/{id}/wait`` and ``POST /api/v1/schedules/{name}/pause|resume``.
Activity ids are parsed by the handlers (not a ``:int`` convertor) so that a non-integer id is
400, as in assay, rather than 404.
"""

from __future__ import annotations

from starlette.routing import Route

from bridge.engine.api import (
    hot_routes,
    namespaces,
    schedules,
    service,
    sse,
    tasks,
    workers,
    workflows,
)
from bridge.engine.api.openapi import docs_html, openapi_json
from bridge.wire import API_PREFIX as API


def _hot(method: str, path: str) -> Route:
    return Route(path, hot_routes.ENDPOINTS[method, path], methods=[method])


ROUTES: list[Route] = [
    # the calls of every workflow run first (a request is matched route by route, in order);
    # routes that share a path keep their order, which decides a 405's Allow header
    _hot("POST", f"{API}/workflow-tasks/poll"),
    _hot("POST", f"{API}/workflow-tasks/{{id}}/commands"),
    _hot("POST", f"{API}/tasks/poll"),
    _hot("POST", f"{API}/tasks/{{id}}/complete"),
    _hot("POST", f"{API}/workers/heartbeat"),
    _hot("GET", f"{API}/workflows/{{id}}/wait"),
    # workflows (§1.2)
    _hot("POST", f"{API}/workflows"),
    Route(f"{API}/workflows", workflows.list_workflows, methods=["GET"]),
    _hot("GET", f"{API}/workflows/{{id}}"),
    Route(f"{API}/workflows/{{id}}/events", workflows.list_events, methods=["GET"]),
    Route(f"{API}/workflows/{{id}}/signal/{{name}}", workflows.signal_workflow, methods=["POST"]),
    Route(f"{API}/workflows/{{id}}/cancel", workflows.cancel_workflow, methods=["POST"]),
    Route(f"{API}/workflows/{{id}}/terminate", workflows.terminate_workflow, methods=["POST"]),
    Route(f"{API}/workflows/{{id}}/children", workflows.list_children, methods=["GET"]),
    Route(f"{API}/workflows/{{id}}/continue-as-new", workflows.continue_as_new, methods=["POST"]),
    # activities (§1.3)
    Route(f"{API}/workflows/{{id}}/activities", tasks.schedule_activity, methods=["POST"]),
    Route(f"{API}/activities/{{id}}", tasks.get_activity, methods=["GET"]),
    # workflow tasks (§1.4)
    # workers and activity tasks (§1.5)
    Route(f"{API}/workers/register", workers.register_worker, methods=["POST"]),
    Route(f"{API}/workers", workers.list_workers, methods=["GET"]),
    Route(f"{API}/tasks/{{id}}/fail", tasks.fail_activity, methods=["POST"]),
    Route(f"{API}/tasks/{{id}}/heartbeat", tasks.heartbeat_activity, methods=["POST"]),
    # schedules (§1.6)
    Route(f"{API}/schedules", schedules.create_schedule, methods=["POST"]),
    Route(f"{API}/schedules", schedules.list_schedules, methods=["GET"]),
    Route(f"{API}/schedules/{{name}}", schedules.get_schedule, methods=["GET"]),
    Route(f"{API}/schedules/{{name}}", schedules.delete_schedule, methods=["DELETE"]),
    Route(f"{API}/schedules/{{name}}/pause", schedules.pause_schedule, methods=["POST"]),
    Route(f"{API}/schedules/{{name}}/resume", schedules.resume_schedule, methods=["POST"]),
    # namespaces and queues (§1.7)
    Route(f"{API}/namespaces", namespaces.create_namespace, methods=["POST"]),
    Route(f"{API}/namespaces", namespaces.list_namespaces, methods=["GET"]),
    Route(f"{API}/namespaces/{{name}}", namespaces.namespace_stats, methods=["GET"]),
    Route(f"{API}/namespaces/{{name}}", namespaces.delete_namespace, methods=["DELETE"]),
    Route(f"{API}/queues", workers.list_queues, methods=["GET"]),
    # health, version, SSE, OpenAPI (§1.8)
    Route(f"{API}/health", service.health, methods=["GET"]),
    Route(f"{API}/version", service.version, methods=["GET"]),
    Route(f"{API}/events/stream", sse.event_stream, methods=["GET"]),
    Route(f"{API}/openapi.json", openapi_json, methods=["GET"]),
    Route(f"{API}/docs", docs_html, methods=["GET"]),
]
