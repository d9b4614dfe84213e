"""Checkpoints of a SQLite store's write-ahead log, run off the committing threads.

Left to itself, SQLite checkpoints inside the commit that takes the WAL past 1000 pages: that
commit copies the log back into the database file and syncs both, several milliseconds for
which the caller (a workflow task's commands, an activity's completion, a start) waits. The
store's connections raise that threshold to :data:`BACKSTOP_PAGES` instead, and one thread of
the store's own runs a ``PASSIVE`` checkpoint every :data:`CHECKPOINT_EVERY` write commits:
readers and writers go on while it copies, and SQLite drops the GIL for the whole of it. The
backstop still checkpoints in a commit if that thread ever falls far behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Write commits between two checkpoints (a one-activity workflow makes about seven).
CHECKPOINT_EVERY = 256

#: ``PRAGMA wal_autocheckpoint`` of the store's connections: a commit checkpoints only a log
#: this long (pages of 4 KiB), one the checkpoint thread has not kept short.
BACKSTOP_PAGES = 16384


class WalCheckpointer:
    """One thread that checkpoints a WAL database after every ``every`` write commits.

    Args:
        connect: opens the thread's own connection to the database.
        every: write commits between two checkpoints.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 every: int = CHECKPOINT_EVERY) -> None:
        self._connect = connect
        self._every = every
        self._since = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Checkpoints run so far.
        self.checkpoints = 0

    def start(self) -> None:
        """Connect and start the thread (it sleeps until the first checkpoint is due).

        Raises:
            sqlite3.Error: the connection cannot be opened.
        """
        conn = self._connect()
        self._thread = threading.Thread(target=self._run, args=(conn,),
                                        name="assay-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Count one write commit. Called by writers, which hold the store's writer lock, so
        the count needs no lock of its own."""
        self._since += 1
        if self._since >= self._every:
            self._since = 0
            self._wake.set()

    def stop(self) -> None:
        """End the thread, waiting for a checkpoint under way. Idempotent."""
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    logger.warning("a WAL checkpoint failed; the next one retries",
                                   exc_info=True)
                else:
                    self.checkpoints += 1
        finally:
            conn.close()
