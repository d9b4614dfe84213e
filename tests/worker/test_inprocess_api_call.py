"""workflow.lua's ``M._api`` answered by the in-process transport itself: the same request the
``http`` global would send for it, and the same result table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import bridge
from bridge.engine.embedded import EmbeddedEngine
from bridge.globals.http import HttpTransportError
from bridge.runtime.runtime import Runtime
from bridge.wire import IN_PROCESS_URL
from bridge.worker.inprocess_transport import InProcessTransport

Request = tuple[str, str, bytes | None, dict[str, str]]


class Recording:
    """The real engine, with the requests it was sent kept in order."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self.engine = engine
        self.sent: list[Request] = []
        self.holding: list[tuple[str, bool]] = []  # (path, hold_wakeups) of each request

    @property
    def url(self) -> str | None:
        return self.engine.url

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, *,
                hold_wakeups: bool = False) -> tuple[int, dict[str, str], bytes]:
        self.sent.append((method, path, body, {k.lower(): v for k, v in (headers or {}).items()}))
        self.holding.append((path, hold_wakeups))
        return self.engine.request(method, path, body, headers, hold_wakeups=hold_wakeups)

    def release_wakeups(self) -> None:
        self.engine.release_wakeups()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Runtime, InProcessTransport, Any, Recording]]:
    with bridge.Engine(f"sqlite:///{tmp_path / 'api.db'}", poll_wait_s=0.1) as engine:
        recording = Recording(engine)
        rt = Runtime(log_stderr=False)
        try:
            transport = InProcessTransport.install_for(rt, recording, IN_PROCESS_URL)
            workflow = rt.require("assay.workflow")
            with transport.engine_call():
                rt.call(workflow[b"connect"], IN_PROCESS_URL.encode())
            yield rt, transport, workflow, recording
        finally:
            rt.close()


def _both(rt: Runtime, transport: InProcessTransport, workflow: Any, recording: Recording,
          method: str, path: str, body_lua: str | None) -> tuple[list[Request], list[Any]]:
    """The call through workflow.lua's own ``M._api``, then through ``api_call``."""
    make = rt.execute(f"return function() return {body_lua or 'nil'} end")
    recording.sent.clear()
    with transport.engine_call():
        through_lua = rt.to_python(rt.call(workflow[b"_api"], method.encode(), path.encode(),
                                           rt.call(make)))
    direct = rt.to_python(transport.api_call(rt, method.encode(), path.encode(), rt.call(make)))
    return recording.sent, [through_lua, direct]


CASES = [
    ("GET", "/health", None),
    ("GET", "/workflows/no-such-workflow", None),
    ("GET", "/workflows?limit=abc", None),
    ("POST", "/workflows/no-such-workflow/cancel", None),
    ("POST", "/workflow-tasks/poll", '{ queue = "q", worker_id = "w" }'),
    ("POST", "/workflows/no-such-workflow/signal/go", 'json.parse(\'{"payload": {"empty": {}, "list": []}}\')'),
    ("DELETE", "/schedules/nope", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_api_call_sends_what_the_http_global_sends_and_answers_the_same(
        setup: Any, method: str, path: str, body: str | None) -> None:
    rt, transport, workflow, recording = setup
    sent, answers = _both(rt, transport, workflow, recording, method, path, body)
    assert len(sent) == 2 and sent[0] == sent[1]
    assert sent[0][1] == "/api/v1" + path
    assert answers[0] == answers[1]
    assert set(answers[0]) == {"status", "headers", "body"}


def test_a_start_sends_the_same_bytes_empty_objects_kept(setup: Any) -> None:
    rt, transport, workflow, recording = setup
    body = 'json.parse(\'{"workflow_type": "T", "workflow_id": "x", "input": {"e": {}}}\')'
    sent, answers = _both(rt, transport, workflow, recording, "POST", "/workflows", body)
    assert sent[0] == sent[1]
    assert b'"e":{}' in (sent[0][2] or b"")
    assert [a["status"] for a in answers] == [201, 409]  # the second start of the same id


def test_what_m_api_would_refuse_or_encode_otherwise_is_left_to_it(setup: Any) -> None:
    rt, transport, _, recording = setup
    recording.sent.clear()
    assert transport.api_call(rt, b"PUT", b"/health", None) is None
    assert transport.api_call(rt, b"POST", b"/workflows", b"raw text") is None
    assert recording.sent == []


def test_a_closed_engine_fails_both_ways_with_the_same_text(setup: Any) -> None:
    rt, transport, workflow, recording = setup
    recording.engine.close()
    texts = []
    with transport.engine_call(), pytest.raises(HttpTransportError) as through_lua:
        rt.call(workflow[b"_api"], b"GET", b"/health", None, reraise=(HttpTransportError,))
    texts.append(str(through_lua.value))
    with pytest.raises(HttpTransportError) as direct:
        transport.api_call(rt, b"GET", b"/health", None)
    texts.append(str(direct.value))
    assert texts[0] == texts[1] == (
        f"http.get failed: error sending request for url ({IN_PROCESS_URL}/api/v1/health)")


def test_only_the_reports_after_which_the_loop_polls_hold_their_wakeups(setup: Any) -> None:
    rt, transport, _, recording = setup
    body = rt.execute("return { worker_id = 'w', result = 1, error = 'e', commands = {} }")
    recording.holding.clear()
    for path in (b"/workflow-tasks/x/commands", b"/tasks/1/complete", b"/tasks/1/fail",
                 b"/workflow-tasks/poll", b"/tasks/poll", b"/workers/heartbeat",
                 b"/workflows", b"/workflows/x/cancel"):
        transport.api_call(rt, b"POST", path, body)
    transport.api_call(rt, b"GET", b"/workflows/x/complete", None)  # not a report: a GET
    assert [held for _, held in recording.holding] == [True, True, True] + [False] * 6

