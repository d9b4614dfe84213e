"""The PostgreSQL store's round trips: statements sent together, session-prepared statements,
writes sent later, and the early commit of a held poll's empty turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from bridge.engine.core import Engine
from bridge.engine.store.postgres import PostgresStore
from bridge.errors import StoreError


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    """A store with one pooled connection, so every transaction uses the same session."""
    s = PostgresStore(postgres_url, pool_size=1)
    s.open()
    yield s
    s.close()


def _workflow(workflow_id: str) -> dict[str, Any]:
    return {"id": workflow_id, "run_id": "r", "workflow_type": "T", "task_queue": "q",
            "needs_dispatch": 0, "created_at": 0.0, "updated_at": 0.0}


def _prepared_names(store: PostgresStore) -> list[str]:
    with store.transaction() as tx:  # its BEGIN waits for a statement: this runs on its own
        return [r["name"] for r in tx.conn.execute("SELECT name FROM pg_prepared_statements")]


def test_a_rollback_keeps_the_sessions_prepared_statements(store: PostgresStore) -> None:
    for _ in range(6):  # psycopg prepares what runs five times, then drops all at a ROLLBACK
        with store.transaction(write=True) as tx:
            tx.get_workflow("nobody", lock=True)  # with BEGIN: prepared by the store
            tx.list_events("nobody")  # on its own: prepared by psycopg
    with pytest.raises(RuntimeError), store.transaction(write=True) as tx:
        tx.get_workflow("nobody", lock=True)
        raise RuntimeError("roll back")
    names = _prepared_names(store)
    assert any(n.startswith("assay_") for n in names), names
    assert any(n.startswith("_pg3_") for n in names), names


def test_an_operation_succeeds_after_the_session_lost_its_prepared_statements(
        store: PostgresStore) -> None:
    engine = Engine(store)
    engine.create_namespace("before")  # its INSERT is prepared in the session
    with store.transaction() as tx:
        tx.conn.execute("DEALLOCATE ALL")
    engine.create_namespace("after")  # fails once (SQLSTATE 26000), then prepares afresh
    assert {"before", "after"} <= {n["name"] for n in engine.list_namespaces()}


def test_a_write_sent_later_that_fails_fails_its_transaction(store: PostgresStore) -> None:
    with pytest.raises(StoreError) as info, store.transaction(write=True) as tx:
        assert tx.insert_workflow(_workflow("a"))
        tx.update_workflow("a", {"workflow_type": None})  # NOT NULL: refused when it is sent
    assert isinstance(info.value.__cause__, psycopg.errors.NotNullViolation)
    with store.transaction() as tx:
        assert tx.get_workflow("a") is None
    with store.transaction(write=True) as tx:  # the same UPDATE again, its PREPARE in doubt
        assert tx.insert_workflow(_workflow("b"))
        tx.update_workflow("b", {"workflow_type": "U"})
    with store.transaction() as tx:
        assert (tx.get_workflow("b") or {}).get("workflow_type") == "U"


def test_statements_after_an_empty_claim_and_its_activity_check_are_one_transaction(
        store: PostgresStore) -> None:
    with pytest.raises(RuntimeError), store.transaction(write=True) as tx:
        assert tx.claim_workflow_task(queue="q", worker_id="w", now=1.0) is None
        assert tx.has_ready_activity("q", 1.0) is False  # commits the empty claim with it
        assert tx.insert_workflow(_workflow("late"))
        assert tx.get_workflow("late", lock=True) is not None
        raise RuntimeError("roll back")
    with store.transaction() as tx:
        assert tx.get_workflow("late") is None


def test_an_empty_held_poll_turn_is_two_round_trips(store: PostgresStore,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(store)
    worker = engine.register_worker(identity="w", queue="q")
    sent: list[bytes] = []
    execute = psycopg.Connection.execute

    def counted(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        sent.append(query if isinstance(query, bytes) else str(query).encode())
        return execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    assert engine.poll_workflow_task_or_activity(queue="q", worker_id=worker) == (None, False)
    assert len(sent) == 2, sent
    assert sent[1].startswith(b"COMMIT; ")
