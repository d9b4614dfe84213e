"""What only the PostgreSQL store has: URLs, start-up failures, migrations, error translation."""

from __future__ import annotations

import threading

import psycopg
import pytest

from bridge.engine.store import open_store
from bridge.engine.store.postgres import PostgresStore, migrations, translate_error
from bridge.errors import StoreError, StoreUnavailableError


def test_both_url_schemes_select_the_postgres_store() -> None:
    for url in ("postgres://u@h:5432/db", "postgresql://u@h/db?sslmode=require"):
        store = open_store(url, pool_size=3)
        assert isinstance(store, PostgresStore) and store.pool_size == 3


def test_an_unreachable_server_fails_at_once_with_store_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/nothing", pool_timeout_s=2)
    with pytest.raises(StoreUnavailableError) as info:
        store.open()
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_migrations_are_recorded_and_a_newer_schema_is_refused(postgres_url: str) -> None:
    newest = len(migrations())
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        versions = [r[0] for r in conn.execute(
            "SELECT version FROM assay_bridge_migrations ORDER BY version")]
        assert versions == list(range(1, newest + 1))
        conn.execute("INSERT INTO assay_bridge_migrations (version, name) VALUES (%s, 'x')",
                     (newest + 1,))
    store = PostgresStore(postgres_url)
    with pytest.raises(StoreError, match="newer than this assay-bridge supports"):
        store.open()


def test_a_deadlock_becomes_a_retryable_store_error(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, pool_size=2)
    store.open()
    try:
        with store.transaction(write=True) as tx:
            for wid in ("a", "b"):
                tx.insert_workflow({"id": wid, "run_id": "r", "workflow_type": "T",
                                    "created_at": 0.0, "updated_at": 0.0})
        both_locked = threading.Barrier(2)
        errors: list[BaseException] = []

        def lock(first: str, second: str) -> None:
            try:
                with store.transaction(write=True) as tx:
                    tx.get_workflow(first, lock=True)
                    both_locked.wait(10)
                    tx.get_workflow(second, lock=True)
            except StoreError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=lock, args=p) for p in (("a", "b"), ("b", "a"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(errors) == 1
        assert isinstance(errors[0], StoreError) and errors[0].retryable
        assert isinstance(errors[0].__cause__, psycopg.errors.DeadlockDetected)
    finally:
        store.close()


def test_translation_table() -> None:
    for retryable in (psycopg.errors.SerializationFailure(), psycopg.errors.LockNotAvailable()):
        got = translate_error(retryable)
        assert isinstance(got, StoreError) and got.retryable
    assert isinstance(translate_error(psycopg.errors.DiskFull()), StoreUnavailableError)
    assert isinstance(translate_error(psycopg.errors.AdminShutdown()), StoreUnavailableError)
    assert isinstance(translate_error(psycopg.errors.ReadOnlySqlTransaction()),
                      StoreUnavailableError)
    plain = translate_error(psycopg.errors.UniqueViolation())
    assert isinstance(plain, StoreError) and not plain.retryable


def test_a_pooled_connection_the_server_dropped_is_replaced_unseen(postgres_url: str) -> None:
    from bridge.engine.core import Engine

    store = PostgresStore(postgres_url, pool_size=1)
    store.open()
    engine = Engine(store)
    try:
        engine.create_namespace("before")
        with store.transaction() as tx:
            pid = tx.conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        engine.create_namespace("after")  # the dead connection is found at BEGIN, replaced
        assert {"before", "after"} <= {n["name"] for n in engine.list_namespaces()}
    finally:
        engine.close()


def test_a_one_statement_read_or_claim_on_a_dropped_connection_is_run_again(
        postgres_url: str) -> None:
    from bridge.engine.core import Engine
    from bridge.errors import WorkflowNotFoundError

    store = PostgresStore(postgres_url, pool_size=1)
    store.open()
    engine = Engine(store)

    def drop_the_pooled_connection() -> None:
        with store.transaction() as tx:
            pid = tx.conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    try:
        worker = engine.register_worker(identity="w", queue="q")
        drop_the_pooled_connection()
        with pytest.raises(WorkflowNotFoundError):  # not StoreUnavailableError
            engine.get_workflow("nobody", waiting_on=False)
        drop_the_pooled_connection()
        assert engine.poll_activity_task(queue="q", worker_id=worker) is None
    finally:
        engine.close()
