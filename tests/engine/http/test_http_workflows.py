"""Workflow routes over HTTP (engine_server-api §1.2), status codes and JSON shapes, against a real engine_server."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.engine.http.api import Api
from tests.helpers import new_id

WORKFLOW_RECORD_KEYS = {
    "id", "namespace", "run_id", "workflow_type", "task_queue", "status", "input", "result",
    "error", "parent_id", "claimed_by", "created_at", "updated_at", "completed_at",
}  # fmt: skip
EVENT_KEYS = {"id", "workflow_id", "seq", "event_type", "payload", "timestamp"}


def _is_error(resp: Any, status: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and isinstance(body["error"], str)


def test_start_returns_201_with_workflow_id_run_id_and_status(api: Api) -> None:
    wf = new_id()
    resp = api.post("/workflows", {"workflow_type": "Demo", "workflow_id": wf, "input": {"a": 1}})
    assert resp.status_code == 201
    body = resp.json()
    assert body["workflow_id"] == wf
    assert body["status"] == "PENDING"
    assert body["run_id"].startswith(f"run-{wf}-")


def test_start_defaults_task_queue_to_default_when_absent(api: Api) -> None:
    wf = new_id()
    api.start(wf)
    assert api.get(f"/workflows/{wf}").json()["task_queue"] == "default"


def test_start_duplicate_id_is_409_with_json_error(api: Api) -> None:
    wf = new_id()
    api.start(wf)
    _is_error(api.post("/workflows", {"workflow_type": "Demo", "workflow_id": wf}), 409)


def test_start_rejects_bad_bodies_with_assay_status_codes(api: Api) -> None:
    _is_error(api.post("/workflows", data=b"{not json", headers={"Content-Type": "application/json"}), 400)
    _is_error(api.post("/workflows", data=b"", headers={"Content-Type": "application/json"}), 400)
    _is_error(api.post("/workflows", data=b"{}", headers={"Content-Type": "text/plain"}), 415)
    _is_error(api.post("/workflows", {"workflow_type": "Demo"}), 422)
    _is_error(api.post("/workflows", {"workflow_type": 5, "workflow_id": new_id()}), 422)


def test_get_workflow_returns_the_record_with_input_as_json_text(api: Api) -> None:
    wf = new_id()
    api.start(wf, input={"hello": "world"}, task_queue="q1")
    resp = api.get(f"/workflows/{wf}")
    assert resp.status_code == 200
    record = resp.json()
    # assay's record, plus what the workflow waits on (a key assay clients ignore)
    assert set(record) == WORKFLOW_RECORD_KEYS | {"waiting_on"}
    assert record["id"] == wf and record["namespace"] == "main" and record["task_queue"] == "q1"
    assert isinstance(record["input"], str) and json.loads(record["input"]) == {"hello": "world"}
    assert record["result"] is None and record["completed_at"] is None
    assert isinstance(record["created_at"], float)


def test_get_unknown_workflow_is_404(api: Api) -> None:
    _is_error(api.get(f"/workflows/{new_id()}"), 404)


def test_list_workflows_filters_by_type_and_status_and_ignores_bad_status(api: Api) -> None:
    kind = new_id("Type")
    ids = [new_id() for _ in range(3)]
    for wf in ids:
        api.start(wf, workflow_type=kind)
    resp = api.get("/workflows", params={"type": kind})
    assert resp.status_code == 200
    listed = [r["id"] for r in resp.json()]
    assert listed == list(reversed(ids))  # newest first
    assert api.get("/workflows", params={"type": kind, "status": "COMPLETED"}).json() == []
    assert len(api.get("/workflows", params={"type": kind, "status": "bogus"}).json()) == 3
    assert len(api.get("/workflows", params={"type": kind, "limit": 2}).json()) == 2
    assert api.get("/workflows", params={"limit": "abc"}).status_code == 400


def test_events_lists_history_as_json_text_and_unknown_gives_empty_list(api: Api) -> None:
    wf = new_id()
    api.start(wf, input=[1, 2])
    events = api.get(f"/workflows/{wf}/events").json()
    assert [e["event_type"] for e in events] == ["WorkflowStarted"]
    assert set(events[0]) == EVENT_KEYS and events[0]["seq"] == 1
    assert json.loads(events[0]["payload"]) == [1, 2]
    unknown = api.get(f"/workflows/{new_id()}/events")
    assert unknown.status_code == 200 and unknown.json() == []


def test_signal_returns_empty_200_and_records_the_parsed_payload(api: Api) -> None:
    wf = new_id()
    api.start(wf)
    resp = api.post(f"/workflows/{wf}/signal/go", {"payload": {"n": 1}})
    assert resp.status_code == 200 and resp.content == b""
    # an empty Lua table arrives as [] (compat-policy: accepted as "no payload")
    assert api.post(f"/workflows/{wf}/signal/bare", []).status_code == 200
    events = api.get(f"/workflows/{wf}/events").json()
    signals = [json.loads(e["payload"]) for e in events if e["event_type"] == "SignalReceived"]
    assert signals == [{"signal": "go", "payload": {"n": 1}}, {"signal": "bare", "payload": None}]


def test_signal_to_unknown_workflow_is_404_and_to_finished_is_409(api: Api) -> None:
    _is_error(api.post(f"/workflows/{new_id()}/signal/go", {}), 404)
    wf = new_id()
    api.start(wf)
    assert api.post(f"/workflows/{wf}/terminate", {}).status_code == 200
    _is_error(api.post(f"/workflows/{wf}/signal/go", {}), 409)


def test_cancel_of_pending_workflow_finalises_it_at_once(api: Api) -> None:
    wf = new_id()
    api.start(wf)
    resp = api.post(f"/workflows/{wf}/cancel")
    assert resp.status_code == 200 and resp.content == b""
    assert api.get(f"/workflows/{wf}").json()["status"] == "CANCELLED"
    _is_error(api.post(f"/workflows/{wf}/cancel"), 404)  # terminal
    _is_error(api.post(f"/workflows/{new_id()}/cancel"), 404)


def test_terminate_sets_failed_with_the_reason(api: Api) -> None:
    wf = new_id()
    api.start(wf)
    resp = api.post(f"/workflows/{wf}/terminate", {"reason": "operator said so"})
    assert resp.status_code == 200 and resp.content == b""
    record = api.get(f"/workflows/{wf}").json()
    assert record["status"] == "FAILED" and record["error"] == "operator said so"
    assert record["completed_at"] is not None
    _is_error(api.post(f"/workflows/{wf}/terminate", None, data=b"null",
                       headers={"Content-Type": "application/json"}), 404)
    _is_error(api.post(f"/workflows/{new_id()}/terminate", {}), 404)


def test_children_lists_child_workflows_started_by_command(api: Api) -> None:
    queue = new_id("q")
    parent, child = new_id(), new_id()
    api.start(parent, task_queue=queue)
    assert api.get(f"/workflows/{parent}/children").json() == []
    api.claim(queue)
    resp = api.commands(parent, [{"type": "StartChildWorkflow", "workflow_type": "Child",
                                  "workflow_id": child, "input": {"x": 1}, "task_queue": queue}])
    assert resp.status_code == 200, resp.text
    children = api.get(f"/workflows/{parent}/children").json()
    assert [c["id"] for c in children] == [child]
    assert children[0]["parent_id"] == parent
    assert api.get(f"/workflows/{new_id()}/children").json() == []


def test_continue_as_new_starts_a_new_run_and_completes_the_old(api: Api) -> None:
    wf = new_id()
    api.start(wf, input=1)
    resp = api.post(f"/workflows/{wf}/continue-as-new", {"input": 2})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["workflow_id"].startswith(f"{wf}-continued-") and body["status"] == "PENDING"
    assert api.get(f"/workflows/{wf}").json()["status"] == "COMPLETED"
    new = api.get(f"/workflows/{body['workflow_id']}").json()
    assert json.loads(new["input"]) == 2 and new["workflow_type"] == "Demo"
    # compat-policy: a finished run is 409 (assay re-completes it), an unknown id 404 (assay 500)
    _is_error(api.post(f"/workflows/{wf}/continue-as-new", {"input": 3}), 409)
    _is_error(api.post(f"/workflows/{new_id()}/continue-as-new", {}), 404)


def test_a_workflow_runs_to_completion_through_commands(api: Api) -> None:
    queue = new_id("q")
    wf = new_id()
    api.start(wf, task_queue=queue, input={"n": 2})
    task = api.claim(queue)
    assert task["workflow_id"] == wf and task["input"] == {"n": 2}  # parsed, not JSON text
    assert task["history"][0]["event_type"] == "WorkflowStarted"
    assert task["history"][0]["payload"] == {"n": 2}
    assert api.commands(wf, [{"type": "CompleteWorkflow", "result": {"sum": 3}}]).status_code == 200
    record = api.get(f"/workflows/{wf}").json()
    assert record["status"] == "COMPLETED" and json.loads(record["result"]) == {"sum": 3}


def test_wait_returns_as_soon_as_the_workflow_finishes(api: Api) -> None:
    queue = new_id("q")
    wf = new_id()
    api.start(wf, task_queue=queue)
    api.claim(queue)
    answer: dict[str, Any] = {}

    def wait() -> None:
        started = time.monotonic()
        resp = api.get(f"/workflows/{wf}/wait", params={"timeout": 20}, timeout=30)
        answer["elapsed"] = time.monotonic() - started
        answer["record"] = resp.json()

    waiter = threading.Thread(target=wait)
    waiter.start()
    with Api(api.server) as other:
        assert other.commands(wf, [{"type": "CompleteWorkflow", "result": 1}]).status_code == 200
    waiter.join(30)
    assert answer["record"]["status"] == "COMPLETED"
    assert answer["elapsed"] < 10


def test_wait_on_unknown_workflow_is_404(api: Api) -> None:
    _is_error(api.get(f"/workflows/{new_id()}/wait", params={"timeout": 1}), 404)
