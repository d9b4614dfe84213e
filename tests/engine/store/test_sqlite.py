"""The SQLite store's own behaviour beyond the shared contract."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

import pytest

from bridge.engine.store.sqlite import SQLiteStore
from bridge.engine.store.sqlite_wal import BACKSTOP_PAGES, CHECKPOINT_EVERY
from bridge.errors import StoreError
from tests.helpers import wait_until


def _open_files(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path``."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            continue
    return count


def test_a_thread_that_ends_leaves_no_connection_open(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    store = SQLiteStore(str(path))
    store.open()
    try:
        baseline = _open_files(path)  # the opening thread's and the checkpoint thread's
        def read() -> None:
            with store.transaction() as tx:
                tx.list_namespaces()

        for _ in range(20):  # one short-lived thread after another, each with a transaction
            thread = threading.Thread(target=read)
            thread.start()
            thread.join()
        gc.collect()
        assert _open_files(path) <= baseline + 1
    finally:
        store.close()


def test_writers_of_every_thread_share_one_connection(tmp_path: Path) -> None:
    """Write transactions use the store's one writer connection, whichever thread writes, so
    no writer finds its page cache dropped by another's commit; reads keep their thread's."""
    path = tmp_path / "engine.db"
    store = SQLiteStore(str(path))
    store.open()
    try:
        with store.transaction(write=True) as tx:
            tx.insert_namespace("first", 0.0)
        baseline = _open_files(path)  # the writer's, the opening thread's, the checkpointer's
        wrote, done = threading.Barrier(6), threading.Event()

        def write(i: int) -> None:
            with store.transaction(write=True) as tx:
                tx.insert_namespace(f"t-{i}", float(i))
            wrote.wait(10)
            done.wait(10)  # alive, with whatever connection it holds, until counted

        threads = [threading.Thread(target=write, args=(i,)) for i in range(5)]
        for thread in threads:
            thread.start()
        wrote.wait(10)
        assert _open_files(path) == baseline
        done.set()
        for thread in threads:
            thread.join()
        with store.transaction() as tx:
            assert len(tx.list_namespaces()) == 7
    finally:
        store.close()


def test_a_transaction_inside_a_write_is_refused_at_once(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "engine.db"), busy_timeout_s=30)
    store.open()
    try:
        with store.transaction(write=True):
            for write in (True, False):
                with pytest.raises(StoreError, match="nested"):
                    with store.transaction(write=write):
                        pass
        with store.transaction(write=True) as tx:  # the writer was left usable
            tx.insert_namespace("after", 0.0)
    finally:
        store.close()


def test_a_writer_connection_left_in_a_transaction_is_rolled_back_for_the_next(
        tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "engine.db"))
    store.open()
    try:
        with store.transaction(write=True) as tx:
            tx.insert_namespace("kept", 0.0)
        left = store._writer_connection()  # as a commit whose rollback failed leaves it
        left.execute("BEGIN IMMEDIATE")
        left.execute("INSERT INTO namespaces (name, created_at) VALUES ('lost', 0)")
        with store.transaction(write=True) as tx:
            tx.insert_namespace("next", 0.0)
        with store.transaction() as tx:
            assert sorted(n["name"] for n in tx.list_namespaces()) == ["kept", "main", "next"]
    finally:
        store.close()


def _write(store: SQLiteStore, times: int) -> None:
    for i in range(times):
        with store.transaction(write=True) as tx:
            tx.insert_namespace(f"ns-{i}", float(i))


def test_the_wal_is_checkpointed_by_the_store_thread_not_by_commits(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "engine.db"))
    store.open()
    try:
        with store.transaction() as tx:  # a committing thread's connection
            assert tx.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
        _write(store, CHECKPOINT_EVERY - 1)
        assert store.checkpoints == 0
        _write(store, 1)
        wait_until(lambda: store.checkpoints == 1)
        _write(store, CHECKPOINT_EVERY)
        wait_until(lambda: store.checkpoints == 2)
    finally:
        store.close()


def test_close_ends_the_checkpoint_thread(tmp_path: Path) -> None:
    def threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name == "assay-sqlite-checkpoint"]

    before = len(threads())
    store = SQLiteStore(str(tmp_path / "engine.db"))
    store.open()
    assert len(threads()) == before + 1
    store.close()
    assert len(threads()) == before
    memory = SQLiteStore(":memory:")  # nothing to checkpoint: no thread
    memory.open()
    try:
        assert len(threads()) == before
    finally:
        memory.close()


def test_a_write_naming_a_column_the_table_lacks_is_refused_every_time(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "engine.db"))
    store.open()
    try:
        for _ in range(2):  # the statements are cached: a refusal is not
            with pytest.raises(ValueError, match=r"unknown column\(s\): \['bogus'\]"), \
                    store.transaction(write=True) as tx:
                tx._insert("namespaces", {"name": "n", "bogus": 1}, frozenset({"name"}))
            with pytest.raises(ValueError, match=r"unknown column\(s\): \['bogus'\]"), \
                    store.transaction(write=True) as tx:
                tx._update("namespaces", "name = ?", ["n"], {"bogus": 1}, frozenset({"name"}))
        with store.transaction(write=True) as tx:
            tx._insert("namespaces", {"name": "n", "created_at": 1.0},
                       frozenset({"name", "created_at"}))
        with store.transaction() as tx:
            assert "n" in [ns["name"] for ns in tx.list_namespaces()]
    finally:
        store.close()
