"""Activities, workflow tasks, workers and activity tasks over HTTP (engine_server-api §1.3-§1.5)."""

from __future__ import annotations

import json
from typing import Any

from tests.engine.http.api import Api
from tests.helpers import new_id

ACTIVITY_KEYS = {
    "id", "workflow_id", "seq", "name", "task_queue", "input", "status", "result", "error",
    "attempt", "max_attempts", "initial_interval_secs", "backoff_coefficient",
    "start_to_close_secs", "heartbeat_timeout_secs", "claimed_by", "scheduled_at", "started_at",
    "completed_at", "last_heartbeat",
}  # fmt: skip
WORKER_KEYS = {
    "id", "namespace", "identity", "task_queue", "workflows", "activities",
    "max_concurrent_workflows", "max_concurrent_activities", "active_tasks", "last_heartbeat",
    "registered_at",
}  # fmt: skip


def _schedule(api: Api, wf: str, queue: str, seq: int = 1, **extra: Any) -> dict[str, Any]:
    resp = api.post(f"/workflows/{wf}/activities",
                    {"name": "greet", "seq": seq, "task_queue": queue, "input": {"who": "x"},
                     **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_schedule_activity_returns_201_with_the_activity_and_is_idempotent_per_seq(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    first = _schedule(api, wf, queue, max_attempts=5)
    assert set(first) == ACTIVITY_KEYS
    assert first["status"] == "PENDING" and first["attempt"] == 1 and first["max_attempts"] == 5
    assert json.loads(first["input"]) == {"who": "x"}
    again = _schedule(api, wf, queue)
    assert again["id"] == first["id"]
    missing_queue = api.post(f"/workflows/{wf}/activities", {"name": "greet", "seq": 2})
    assert missing_queue.status_code == 422


def test_get_activity_by_id_and_its_error_codes(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    activity = _schedule(api, wf, queue)
    resp = api.get(f"/activities/{activity['id']}")
    assert resp.status_code == 200 and resp.json()["id"] == activity["id"]
    assert api.get("/activities/abc").status_code == 400
    missing = api.get("/activities/987654321")
    assert missing.status_code == 404 and "error" in missing.json()


def test_idle_workflow_task_poll_answers_bare_null(api: Api) -> None:
    resp = api.post("/workflow-tasks/poll", {"queue": new_id("q"), "worker_id": "w-1"})
    assert resp.status_code == 200 and resp.content == b"null"


def test_workflow_task_poll_claims_once_and_moves_pending_to_running(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    task = api.claim(queue, "w-a")
    assert {"workflow_id", "namespace", "workflow_type", "task_queue", "input", "history"} <= set(task)
    assert api.get(f"/workflows/{wf}").json()["status"] == "RUNNING"
    again = api.post("/workflow-tasks/poll", {"queue": queue, "worker_id": "w-b"})
    assert again.content == b"null"  # leased to w-a


def test_commands_with_unknown_type_are_rejected_with_400_and_nothing_applied(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    api.claim(queue)
    resp = api.commands(wf, [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 60},
                             {"type": "Frobnicate"}])
    assert resp.status_code == 400 and "Frobnicate" in resp.json()["error"]
    events = [e["event_type"] for e in api.get(f"/workflows/{wf}/events").json()]
    assert "TimerScheduled" not in events


def test_commands_from_a_worker_without_the_lease_are_409(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    api.claim(queue, "w-owner")
    resp = api.commands(wf, [{"type": "CompleteWorkflow", "result": 1}], worker_id="w-intruder")
    assert resp.status_code == 409 and "error" in resp.json()
    assert api.get(f"/workflows/{wf}").json()["status"] == "RUNNING"


def test_commands_body_shape_errors_are_422(api: Api) -> None:
    assert api.post(f"/workflow-tasks/{new_id()}/commands", {"worker_id": "w"}).status_code == 422


def test_register_returns_200_with_a_worker_id_and_workers_are_listed(api: Api) -> None:
    queue = new_id("q")
    resp = api.post("/workers/register", {"identity": "pytest", "queue": queue,
                                          "workflows": ["A"], "activities": []})
    assert resp.status_code == 200
    worker_id = resp.json()["worker_id"]
    assert isinstance(worker_id, str) and worker_id
    beat = api.post("/workers/heartbeat", {"worker_id": worker_id})
    assert beat.status_code == 200 and beat.content == b""
    assert api.post("/workers/heartbeat", {"worker_id": "w-unknown"}).status_code == 200
    workers = {w["id"]: w for w in api.get("/workers").json()}
    assert set(workers[worker_id]) == WORKER_KEYS
    assert workers[worker_id]["task_queue"] == queue
    assert json.loads(workers[worker_id]["workflows"]) == ["A"]
    assert api.post("/workers/register", {"identity": "x"}).status_code == 422


def test_idle_activity_poll_answers_task_null(api: Api) -> None:
    resp = api.post("/tasks/poll", {"queue": new_id("q"), "worker_id": "w-1"})
    assert resp.status_code == 200 and resp.json() == {"task": None}


def test_activity_claim_complete_wakes_the_workflow_with_the_result(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    api.claim(queue)
    assert api.commands(wf, [{"type": "ScheduleActivity", "seq": 1, "name": "greet",
                              "task_queue": queue, "input": {"who": "y"}}]).status_code == 200
    task = api.post("/tasks/poll", {"queue": queue, "worker_id": "w-act"}).json()
    assert task["status"] == "RUNNING" and task["claimed_by"] == "w-act"
    assert isinstance(task["input"], str) and json.loads(task["input"]) == {"who": "y"}
    hb = api.post(f"/tasks/{task['id']}/heartbeat", {"details": {"progress": 0.5}})
    assert hb.status_code == 200 and hb.content == b""
    done = api.post(f"/tasks/{task['id']}/complete", {"result": {"text": "hi"}})
    assert done.status_code == 200 and done.content == b""
    again = api.claim(queue)
    completed = [h for h in again["history"] if h["event_type"] == "ActivityCompleted"]
    assert completed[0]["payload"]["activity_seq"] == 1
    assert completed[0]["payload"]["result"] == {"text": "hi"}
    assert api.get(f"/activities/{task['id']}").json()["status"] == "COMPLETED"


def test_complete_with_empty_lua_table_body_records_a_nil_result(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    activity = _schedule(api, wf, queue)
    api.post("/tasks/poll", {"queue": queue, "worker_id": "w"})
    resp = api.post(f"/tasks/{activity['id']}/complete", [])  # {result = nil} in Lua
    assert resp.status_code == 200
    assert api.get(f"/activities/{activity['id']}").json()["status"] == "COMPLETED"


def test_fail_with_attempts_left_requeues_and_final_failure_is_recorded(api: Api) -> None:
    wf, queue = new_id(), new_id("q")
    api.start(wf, task_queue=queue)
    activity = _schedule(api, wf, queue, max_attempts=1)
    api.post("/tasks/poll", {"queue": queue, "worker_id": "w"})
    resp = api.post(f"/tasks/{activity['id']}/fail", {"error": "boom"})
    assert resp.status_code == 200 and resp.content == b""
    row = api.get(f"/activities/{activity['id']}").json()
    assert row["status"] == "FAILED" and row["error"] == "boom"
    assert api.post(f"/tasks/{activity['id']}/fail", {}).status_code == 422
    assert api.post("/tasks/x/fail", {"error": "e"}).status_code == 400
