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


def test_register_heartbeat_and_list_workers(engine: Engine, clock: FakeClock) -> None:
    wid = engine.register_worker(identity="me", queue="q", workflows=["A"], activities=[])
    assert re.fullmatch(r"w-[0-9a-f]{16}", wid)
    clock.advance(5)
    engine.worker_heartbeat(wid)
    engine.worker_heartbeat("unknown")
    [rec] = engine.list_workers()
    assert rec["id"] == wid and rec["task_queue"] == "q" and rec["workflows"] == '["A"]'
    assert rec["activities"] == "[]" and rec["last_heartbeat"] == T0 + 5
    assert rec["registered_at"] == T0 and rec["active_tasks"] == 0
    assert rec["max_concurrent_workflows"] == 10
    assert engine.list_workers(namespace="other") == []


def test_queue_stats(engine: Engine) -> None:
    engine.register_worker(identity="me", queue="b")
    engine.start_workflow(workflow_type="T", workflow_id="w1")
    engine.schedule_activity("w1", name="x", seq=1, task_queue="a")
    assert engine.list_queues() == [
        {"queue": "a", "pending_activities": 1, "running_activities": 0, "workers": 0},
        {"queue": "b", "pending_activities": 0, "running_activities": 0, "workers": 1}]


def test_namespaces(engine: Engine) -> None:
    engine.create_namespace("ops")
    with pytest.raises(ConflictError):
        engine.create_namespace("ops")
    assert [n["name"] for n in engine.list_namespaces()] == ["main", "ops"]
    with pytest.raises(NotFoundError, match="cannot delete the 'main' namespace"):
        engine.delete_namespace("main")
    engine.delete_namespace("ops")
    with pytest.raises(NotFoundError, match="not found: namespace ops"):
        engine.delete_namespace("ops")


def test_namespace_stats(engine: Engine) -> None:
    engine.start_workflow(workflow_type="T", workflow_id="a")
    engine.start_workflow(workflow_type="T", workflow_id="b")
    engine.terminate_workflow("b")
    assert engine.namespace_stats("main") == {
        "namespace": "main", "total_workflows": 2, "running": 0, "pending": 1, "completed": 0,
        "failed": 1, "schedules": 0, "workers": 0}
    assert engine.namespace_stats("none")["total_workflows"] == 0


def test_api_keys(engine: Engine) -> None:
    key = engine.create_api_key("ci")
    assert re.fullmatch(r"assay_[0-9a-f]{64}", key)
    assert engine.verify_api_key(key)
    assert not engine.verify_api_key(key[:-1] + ("0" if key[-1] != "0" else "1"))
    assert not engine.verify_api_key("nope")
    [listed] = engine.list_api_keys()
    assert listed["prefix"] == key[:14] + "..." and listed["label"] == "ci"


def test_notifications_are_sent_only_after_commit(engine: Engine,
                                                  notifier: RecordingNotifier) -> None:
    engine.start_workflow(workflow_type="T", workflow_id="w1")
    sent = len(notifier.sent)
    with pytest.raises(ConflictError):
        engine.start_workflow(workflow_type="T", workflow_id="w1")
    assert len(notifier.sent) == sent
    kinds = [k for k, _ in notifier.sent]
    assert kinds == ["event", "event", "workflow_task"]


def test_retryable_store_errors_are_retried(tmp_path: Path) -> None:
    engine = Engine.open(f"sqlite:///{tmp_path / 'x.db'}", clock=FakeClock())
    real = engine.store.transaction
    failures = [2]

    @contextmanager
    def flaky(write: bool = False) -> Iterator[Any]:
        if failures[0]:
            failures[0] -= 1
            raise StoreError("database is locked", retryable=True)
        with real(write) as tx:
            yield tx

    engine.store.transaction = flaky  # type: ignore[method-assign]
    try:
        engine.start_workflow(workflow_type="T", workflow_id="w1")
        assert engine.get_workflow("w1")["status"] == "PENDING"
        failures[0] = 99
        with pytest.raises(StoreError):
            engine.get_workflow("w1")
    finally:
        engine.store.transaction = real  # type: ignore[method-assign]
        engine.close()


def test_backend_urls() -> None:
    assert getattr(open_store("sqlite:///:memory:"), "path") == ":memory:"
    assert getattr(open_store("sqlite:///rel.db"), "path") == "rel.db"
    assert getattr(open_store("sqlite:////abs/x.db"), "path") == "/abs/x.db"
    with pytest.raises(ConfigError):
        open_store("mysql://x")
    with pytest.raises(ConfigError):
        open_store("x.db")


def test_memory_engine_works(tmp_path: Path) -> None:
    engine = Engine.open("sqlite:///:memory:", clock=FakeClock())
    try:
        engine.start_workflow(workflow_type="T", workflow_id="w1")
        assert poll_task(engine, queue="default", worker_id="k") is not None
    finally:
        engine.close()
