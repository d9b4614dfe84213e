"""Workers, queues, namespaces, API keys, and the facade's transaction plumbing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.store import open_store
from bridge.engine.notify import RecordingNotifier
from bridge.errors import ConfigError, ConflictError, NotFoundError, StoreError
from tests.helpers import poll_task

T0 = 1_700_000_000.0


def test_register_heartbeat_and_list_workers(core: Engine, clock: FakeClock) -> None:
    wid = core.register_worker(identity="me", queue="q", workflows=["A"], activities=[])
    assert re.fullmatch(r"w-[0-9a-f]{16}", wid)
    clock.advance(5)
    core.worker_heartbeat(wid)
    core.worker_heartbeat("unknown")
    [rec] = core.list_workers()
    assert rec["id"] == wid and rec["task_queue"] == "q" and rec["workflows"] == '["A"]'
    assert rec["activities"] == "[]" and rec["last_heartbeat"] == T0 + 5
    assert rec["registered_at"] == T0 and rec["active_tasks"] == 0
    assert rec["max_concurrent_workflows"] == 10
    assert core.list_workers(namespace="other") == []


def test_queue_stats(core: Engine) -> None:
    core.register_worker(identity="me", queue="b")
    core.start_workflow(workflow_type="T", workflow_id="w1")
    core.schedule_activity("w1", name="x", seq=1, task_queue="a")
    assert core.list_queues() == [
        {"queue": "a", "pending_activities": 1, "running_activities": 0, "workers": 0},
        {"queue": "b", "pending_activities": 0, "running_activities": 0, "workers": 1}]


def test_namespaces(core: Engine) -> None:
    core.create_namespace("ops")
    with pytest.raises(ConflictError):
        core.create_namespace("ops")
    assert [n["name"] for n in core.list_namespaces()] == ["main", "ops"]
    with pytest.raises(NotFoundError, match="cannot delete the 'main' namespace"):
        core.delete_namespace("main")
    core.delete_namespace("ops")
    with pytest.raises(NotFoundError, match="not found: namespace ops"):
        core.delete_namespace("ops")


def test_namespace_stats(core: Engine) -> None:
    core.start_workflow(workflow_type="T", workflow_id="a")
    core.start_workflow(workflow_type="T", workflow_id="b")
    core.terminate_workflow("b")
    assert core.namespace_stats("main") == {
        "namespace": "main", "total_workflows": 2, "running": 0, "pending": 1, "completed": 0,
        "failed": 1, "schedules": 0, "workers": 0}
    assert core.namespace_stats("none")["total_workflows"] == 0


def test_api_keys(core: Engine) -> None:
    key = core.create_api_key("ci")
    assert re.fullmatch(r"assay_[0-9a-f]{64}", key)
    assert core.verify_api_key(key)
    assert not core.verify_api_key(key[:-1] + ("0" if key[-1] != "0" else "1"))
    assert not core.verify_api_key("nope")
    [listed] = core.list_api_keys()
    assert listed["prefix"] == key[:14] + "..." and listed["label"] == "ci"


def test_notifications_are_sent_only_after_commit(core: Engine,
                                                  notifier: RecordingNotifier) -> None:
    core.start_workflow(workflow_type="T", workflow_id="w1")
    sent = len(notifier.sent)
    with pytest.raises(ConflictError):
        core.start_workflow(workflow_type="T", workflow_id="w1")
    assert len(notifier.sent) == sent
    kinds = [k for k, _ in notifier.sent]
    assert kinds == ["event", "event", "workflow_task"]


def test_retryable_store_errors_are_retried(tmp_path: Path) -> None:
    core = Engine.open(f"sqlite:///{tmp_path / 'x.db'}", clock=FakeClock())
    real = core.store.transaction
    failures = [2]

    @contextmanager
    def flaky(write: bool = False) -> Iterator[Any]:
        if failures[0]:
            failures[0] -= 1
            raise StoreError("database is locked", retryable=True)
        with real(write) as tx:
            yield tx

    core.store.transaction = flaky  # type: ignore[method-assign]
    try:
        core.start_workflow(workflow_type="T", workflow_id="w1")
        assert core.get_workflow("w1")["status"] == "PENDING"
        failures[0] = 99
        with pytest.raises(StoreError):
            core.get_workflow("w1")
    finally:
        core.store.transaction = real  # type: ignore[method-assign]
        core.close()


def test_backend_urls() -> None:
    assert getattr(open_store("sqlite:///:memory:"), "path") == ":memory:"
    assert getattr(open_store("sqlite:///rel.db"), "path") == "rel.db"
    assert getattr(open_store("sqlite:////abs/x.db"), "path") == "/abs/x.db"
    with pytest.raises(ConfigError):
        open_store("mysql://x")
    with pytest.raises(ConfigError):
        open_store("x.db")


def test_memory_engine_works(tmp_path: Path) -> None:
    core = Engine.open("sqlite:///:memory:", clock=FakeClock())
    try:
        core.start_workflow(workflow_type="T", workflow_id="w1")
        assert poll_task(core, queue="default", worker_id="k") is not None
    finally:
        core.close()
