"""``bridge.Client`` against a real engine process and a real worker."""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import requests

from bridge import (
    Client,
    EngineUnavailableError,
    Worker,
    WorkflowAlreadyExistsError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)
from bridge.errors import AuthError, ConflictError, InvalidRequestError, NotFoundError
from bridge.testing import EngineServer
from tests.helpers import new_id

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def client(engine_server: EngineServer) -> Iterator[Client]:
    with Client(engine_server.url) as c:
        yield c


def test_start_generates_an_id_and_returns_the_lua_shape(client: Client, queue: str) -> None:
    started = client.start("Echo", input={"a": 1}, task_queue=queue)
    assert set(started) == {"workflow_id", "run_id", "status"}
    assert started["workflow_id"].startswith("Echo-") and started["status"] == "PENDING"
    assert client.result(started["workflow_id"], timeout=30) == {"a": 1}


def test_start_with_a_taken_id_raises_already_exists(client: Client, queue: str) -> None:
    wid = new_id()
    client.start("Echo", wid, 1, task_queue=queue)
    with pytest.raises(WorkflowAlreadyExistsError):
        client.start("Echo", wid, 2, task_queue=queue)


def test_describe_decodes_input_and_result(client: Client, queue: str) -> None:
    wid = new_id()
    client.start("Echo", wid, {"n": [1, 2], "s": "x"}, task_queue=queue)
    client.result(wid, timeout=30)
    record = client.describe(wid)
    assert record["input"] == {"n": [1, 2], "s": "x"}
    assert record["result"] == {"n": [1, 2], "s": "x"}
    assert record["status"] == "COMPLETED" and record["workflow_type"] == "Echo"
    assert isinstance(client.get_workflow(wid)["input"], str)  # the wire record keeps JSON text


def test_describe_of_an_unknown_id_raises_not_found(client: Client) -> None:
    with pytest.raises(WorkflowNotFoundError):
        client.describe(new_id("missing"))


def test_result_of_a_failed_workflow_carries_the_error(client: Client, queue: str) -> None:
    wid = new_id()
    client.start("Fails", wid, task_queue=queue)
    with pytest.raises(WorkflowFailedError) as info:
        client.result(wid, timeout=30)
    assert info.value.status == "FAILED" and "no luck today" in (info.value.error or "")


def test_result_times_out_when_nothing_runs_it(client: Client) -> None:
    wid = new_id()
    client.start("Echo", wid, task_queue=f"nobody-{wid}")
    with pytest.raises(TimeoutError):
        client.result(wid, timeout=0.3)


def test_signal_wakes_a_waiting_workflow(client: Client, queue: str) -> None:
    wid = new_id()
    client.start("Gate", wid, task_queue=queue)
    client.signal(wid, "go", {"by": "ann"})
    assert client.result(wid, timeout=30) == {"got": {"by": "ann"}}
    with pytest.raises(ConflictError):
        client.signal(wid, "go")  # finished: 409 (compat-policy)


def test_signal_to_an_unknown_workflow_raises_not_found(client: Client) -> None:
    with pytest.raises(WorkflowNotFoundError):
        client.signal(new_id("missing"), "go")


def test_cancel_ends_a_workflow_cancelled(client: Client, queue: str) -> None:
    wid = new_id()
    client.start("Gate", wid, task_queue=queue)
    client.cancel(wid)
    with pytest.raises(WorkflowFailedError) as info:
        client.result(wid, timeout=30)
    assert info.value.status == "CANCELLED"
    with pytest.raises(WorkflowNotFoundError):
        client.cancel(wid)  # already terminal


def test_terminate_fails_a_workflow_with_the_reason(client: Client) -> None:
    wid = new_id()
    client.start("Echo", wid, task_queue=f"nobody-{wid}")
    client.terminate(wid, reason="operator said so")
    with pytest.raises(WorkflowFailedError) as info:
        client.result(wid)
    assert info.value.status == "FAILED" and info.value.error == "operator said so"


def test_list_filters_by_status_type_and_limit(client: Client, queue: str) -> None:
    kind = f"Kind{new_id('x').replace('-', '')}"
    ids = [client.start(kind, task_queue=f"nobody-{kind}")["workflow_id"] for _ in range(3)]
    client.terminate(ids[0])
    listed = client.list(type=kind)
    assert [r["id"] for r in listed] == ids[::-1]  # newest first
    assert [r["id"] for r in client.list(type=kind, status="failed")] == [ids[0]]
    assert len(client.list(type=kind, limit=2)) == 2
    assert client.list(type=kind, status="PENDING", limit=1)[0]["id"] == ids[2]


def test_events_and_children(client: Client, queue: str) -> None:
    wid = new_id()
    client.start("Parent", wid, task_queue=queue)
    assert client.result(wid, timeout=30) == {"child": {"from": "parent"}}
    kinds = [e["event_type"] for e in client.events(wid)]
    assert kinds[0] == "WorkflowStarted" and kinds[-1] == "WorkflowCompleted"
    assert "ChildWorkflowCompleted" in kinds
    assert [c["id"] for c in client.children(wid)] == [f"{wid}-child"]
    assert client.children(f"{wid}-child") == []


def test_schedules_create_list_get_pause_resume_delete(client: Client) -> None:
    name = new_id("sched")
    created = client.schedules.create(name, "Echo", "0 0 2 * * *", input={"x": 1},
                                      task_queue="nightly")
    assert created["name"] == name and created["paused"] is False
    assert created["task_queue"] == "nightly" and created["next_run_at"] is not None
    assert name in [s["name"] for s in client.schedules.list()]
    assert client.schedules.get(name)["cron_expr"] == "0 0 2 * * *"
    assert client.schedules.pause(name)["paused"] is True
    assert client.schedules.resume(name)["paused"] is False
    client.schedules.delete(name)
    with pytest.raises(NotFoundError):
        client.schedules.get(name)
    with pytest.raises(NotFoundError):
        client.schedules.delete(name)


def test_schedule_with_a_bad_cron_or_a_taken_name_is_refused(client: Client) -> None:
    with pytest.raises(InvalidRequestError):
        client.schedules.create(new_id("sched"), "Echo", "not a cron")
    name = new_id("sched")
    client.schedules.create(name, "Echo", "0 2 * * *")
    with pytest.raises(ConflictError):
        client.schedules.create(name, "Echo", "0 2 * * *")
    client.schedules.delete(name)


def test_workers_and_queues(client: Client, worker: Worker, queue: str) -> None:
    mine = [w for w in client.workers() if w["task_queue"] == queue]
    assert mine and "Echo" in mine[0]["workflows"]
    assert queue in [q["queue"] for q in client.queues()]


def test_an_unreachable_engine_raises_engine_unavailable() -> None:
    with Client("http://127.0.0.1:9", timeout=2) as c, pytest.raises(EngineUnavailableError):
        c.list()


class _NoWaitProxy(http.server.BaseHTTPRequestHandler):
    """Forwards to the engine but has no ``/wait`` route, like assay's engine_server."""

    upstream = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?")[0].endswith("/wait"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            with urllib.request.urlopen(self.upstream + self.path, timeout=10) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
            exc.close()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_result_falls_back_to_polling_without_the_wait_route(
    client: Client, engine_server: EngineServer, queue: str
) -> None:
    handler = type("Proxy", (_NoWaitProxy,), {"upstream": engine_server.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        wid = new_id()
        client.start("Gate", wid, task_queue=queue)
        with Client(f"http://127.0.0.1:{server.server_address[1]}") as old:
            with pytest.raises(TimeoutError):
                old.result(wid, timeout=0.3)
            assert old._wait_route is False
            client.signal(wid, "go", 7)
            assert old.result(wid, timeout=30) == {"got": 7}
            with pytest.raises(WorkflowNotFoundError):
                old.result(new_id("missing"), timeout=1)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_token_is_sent_as_bearer_auth(tmp_path: object) -> None:
    with EngineServer(auth_api_key=True) as secured:
        key = secured.create_api_key("tests")
        with Client(secured.url) as anonymous, pytest.raises(AuthError):
            anonymous.list()
        with Client(secured.url, token=key) as c:
            assert c.list() == []
        assert requests.get(f"{secured.api_url}/health", timeout=5).status_code == 200


class _NotAnEngine(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"<html>hello</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_server_that_is_not_an_engine_raises_engine_response_error() -> None:
    from bridge import EngineResponseError

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAnEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Client(f"http://127.0.0.1:{server.server_address[1]}") as c:
            with pytest.raises(EngineResponseError) as info:
                c.list()
        assert info.value.status == 200 and "hello" in info.value.body
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
