"""Schedules, namespaces, queues, health, version, OpenAPI and routing errors over HTTP
(engine_server-api §1.6-§1.8, §0)."""

from __future__ import annotations

import re

import json

import requests

from bridge.engine.api.routes import ROUTES
from tests.engine.http.api import Api
from tests.helpers import new_id

SCHEDULE_KEYS = {
    "name", "namespace", "workflow_type", "cron_expr", "input", "task_queue", "overlap_policy",
    "paused", "last_run_at", "next_run_at", "last_workflow_id", "created_at",
}  # fmt: skip


def test_schedule_create_get_list_pause_resume_delete(api: Api) -> None:
    name = new_id("sched")
    resp = api.post("/schedules", {"name": name, "workflow_type": "Nightly",
                                   "cron_expr": "0 0 3 * * *", "input": {"k": 1}})
    assert resp.status_code == 201, resp.text
    schedule = resp.json()
    assert set(schedule) == SCHEDULE_KEYS
    assert schedule["task_queue"] == "default" and schedule["paused"] is False
    assert json.loads(schedule["input"]) == {"k": 1}
    assert api.get(f"/schedules/{name}").json()["name"] == name
    assert name in [s["name"] for s in api.get("/schedules").json()]
    paused = api.post(f"/schedules/{name}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert api.post(f"/schedules/{name}/resume").json()["paused"] is False
    deleted = api.delete(f"/schedules/{name}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert api.get(f"/schedules/{name}").status_code == 404
    assert api.delete(f"/schedules/{name}").status_code == 404


def test_schedule_with_invalid_cron_is_400_and_duplicate_is_409(api: Api) -> None:
    bad = api.post("/schedules", {"name": new_id("s"), "workflow_type": "T", "cron_expr": "nope"})
    assert bad.status_code == 400 and "error" in bad.json()
    name = new_id("s")
    body = {"name": name, "workflow_type": "T", "cron_expr": "*/5 * * * *"}
    assert api.post("/schedules", body).status_code == 201  # 5-field works (compat-policy)
    assert api.post("/schedules", body).status_code == 409


def test_namespaces_create_list_stats_delete(api: Api) -> None:
    name = new_id("ns")
    created = api.post("/namespaces", {"name": name})
    assert created.status_code == 201 and created.content == b""
    assert api.post("/namespaces", {"name": name}).status_code == 409
    listed = api.get("/namespaces").json()
    assert all(set(n) == {"name", "created_at"} for n in listed)
    names = [n["name"] for n in listed]
    assert "main" in names and name in names
    stats = api.get(f"/namespaces/{name}").json()
    assert stats == {"namespace": name, "total_workflows": 0, "running": 0, "pending": 0,
                     "completed": 0, "failed": 0, "schedules": 0, "workers": 0}
    assert api.get(f"/namespaces/{new_id('ns')}").json()["total_workflows"] == 0
    assert api.delete(f"/namespaces/{name}").status_code == 200
    assert api.delete(f"/namespaces/{name}").status_code == 404
    main = api.delete("/namespaces/main")
    assert main.status_code == 404 and "main" in main.json()["error"]


def test_queues_report_pending_activities_and_workers(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    resp = api.post(f"/workflows/{wf}/activities", {"name": "a", "seq": 1, "task_queue": queue})
    assert resp.status_code == 201
    rows = {r["queue"]: r for r in api.get("/queues").json()}
    assert rows[queue] == {"queue": queue, "pending_activities": 1, "running_activities": 0,
                           "workers": 0}


def test_health_and_version(api: Api) -> None:
    health = api.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "service": "assay-workflow"}
    version = api.get("/version").json()
    assert version["service"] == "assay-bridge" and version["assay_compat"] == "0.11.2"


def test_openapi_document_is_served_and_covers_every_route(api: Api) -> None:
    resp = api.get("/openapi.json")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for route in ROUTES:
        if route.path in ("/api/v1/openapi.json", "/api/v1/docs"):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                assert (route.path, method) in documented, (route.path, method)


def test_docs_page_points_at_the_openapi_document(api: Api) -> None:
    resp = api.get("/docs")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "/api/v1/openapi.json" in resp.text
    # offline: everything the page references is served by the engine itself
    assert "<script" not in resp.text
    assert not re.findall(r"(?:src|href)=['\"]?(?:https?:)?//", resp.text)
    assert "/api/v1/workflows/{id}/signal/{name}" in resp.text


def test_unknown_route_is_404_and_wrong_method_is_405(api: Api) -> None:
    assert api.get("/no-such-route").status_code == 404
    assert api.delete("/workflows").status_code == 405
    root = requests.get(api.server.url + "/nothing", timeout=5)
    assert root.status_code == 404


def test_oversized_body_is_413(api: Api) -> None:
    big = b'{"workflow_type":"T","workflow_id":"x","input":"' + b"a" * (2 * 1024 * 1024 + 10) + b'"}'
    resp = api.post("/workflows", data=big, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
