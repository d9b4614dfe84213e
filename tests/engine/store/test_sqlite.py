"""The SQLite store's own behaviour beyond the shared contract."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

from bridge.engine.store.sqlite import SQLiteStore


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
        def read() -> None:
            with store.transaction() as tx:
                tx.list_namespaces()

        for _ in range(20):  # one short-lived thread after another, each with a transaction
            thread = threading.Thread(target=read)
            thread.start()
            thread.join()
        gc.collect()
        assert _open_files(path) <= 2
    finally:
        store.close()
