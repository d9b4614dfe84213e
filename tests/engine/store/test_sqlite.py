"""The SQLite store's own behaviour beyond the shared contract."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

from bridge.engine.store.sqlite import SQLiteStore
from bridge.engine.store.sqlite_wal import BACKSTOP_PAGES, CHECKPOINT_EVERY
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
