"""The SQLite engine store (stdlib :mod:`sqlite3`).

Connections and durability:

* File databases get one connection per thread for reads (created on first use, closed when the
  thread ends or by :meth:`SQLiteStore.close`) and one for every write transaction, whichever
  thread writes (a connection drops its page cache whenever another one has written, so the
  writes keep theirs warm). All are in WAL mode with ``synchronous=NORMAL``: a commit is durable
  against a process crash; a power loss may drop the last few commits but never corrupts the
  database. That is SQLite's recommended setting for WAL and what a workflow engine on one
  host needs; pass ``synchronous="FULL"`` for power-loss durability at some write cost.
* The WAL is checkpointed by a thread of the store's own (:mod:`.sqlite_wal`), not in the
  commit that happens to fill it.
* ``busy_timeout`` (default 5 s) makes a writer wait for another instead of failing at once.
* Write transactions start with ``BEGIN IMMEDIATE``: one writer at a time, so read-then-write
  steps inside a transaction cannot race (this is what makes the claims exclusive). The
  threads of this process queue for that on a lock of their own first: a waiting thread then
  starts the moment the writer before it commits, where SQLite's busy handler would have it
  sleep in steps of up to 100 ms (the embedded engine writes from its callers' threads).
* ``:memory:`` databases use one shared connection behind a lock (each sqlite3 connection to
  ``:memory:`` would otherwise be its own empty database).

The row-level queries live in :mod:`bridge.engine.store.sqlite_tx`.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import nullcontext
from importlib import resources
from typing import Any

from bridge.engine.store.base import CAP_INLINE_CALLS, CAP_INSTANCE_LOCK
from bridge.engine.store.sql_tx import SqlTransaction
from bridge.engine.store.sqlite_tx import SQLiteTx
from bridge.engine.store.sqlite_wal import BACKSTOP_PAGES, WalCheckpointer
from bridge.errors import StoreError, StoreUnavailableError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_UNAVAILABLE = {"SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR",
                "SQLITE_READONLY_DBMOVED", "SQLITE_IOERR_WRITE"}
_RETRYABLE = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT"}


def translate_error(exc: BaseException) -> Exception:
    """Map a sqlite3 error to StoreError / StoreUnavailableError (the one translation point)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in _UNAVAILABLE or name.startswith("SQLITE_READONLY") or name.startswith("SQLITE_IOERR"):
        return StoreUnavailableError(f"database unavailable: {exc}")
    retryable = name in _RETRYABLE or "locked" in str(exc)
    return StoreError(f"sqlite: {exc}", retryable=retryable)


class SQLiteStore:
    """An engine store in one SQLite database file (or in memory).

    Args:
        path: the database file, or ``":memory:"``.
        busy_timeout_s: how long a writer waits for the write lock.
        synchronous: the ``PRAGMA synchronous`` level for file databases.
    """

    capabilities: frozenset[str] = frozenset({CAP_INSTANCE_LOCK, CAP_INLINE_CALLS})

    def __init__(self, path: str, *, busy_timeout_s: float = 5.0, synchronous: str = "NORMAL") -> None:
        self.path = path
        self._memory = path in (":memory:", "")
        self._busy_ms = int(busy_timeout_s * 1000)
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.RLock()
        self._writer = threading.Lock()  # this process's writers, one at a time
        self._writer_conn: sqlite3.Connection | None = None
        self._writer_thread: int | None = None
        self._opened = False
        self._lock_holder: str | None = None
        self._checkpointer: WalCheckpointer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, create the schema if missing and seed namespace ``main``. Idempotent."""
        if self._opened:
            return
        if not self._memory:
            directory = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(directory):
                raise StoreUnavailableError(f"directory of {self.path} does not exist")
        schema = resources.files("bridge.engine.store.sql").joinpath("sqlite_schema.sql").read_text()
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connection()
            with self._guard():
                # one write transaction, so stores opening a fresh file at once take turns
                conn.executescript(
                    "BEGIN IMMEDIATE;\n" + schema
                    + f"\nPRAGMA user_version = {SCHEMA_VERSION};"
                    + "\nINSERT OR IGNORE INTO namespaces (name, created_at) VALUES ('main', 0);"
                    + "\nCOMMIT;"
                )
        except sqlite3.Error as exc:
            if conn is not None and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise translate_error(exc) from exc
        if not self._memory:
            checkpointer = WalCheckpointer(self._connect)
            try:
                checkpointer.start()
            except sqlite3.Error as exc:
                raise translate_error(exc) from exc
            self._checkpointer = checkpointer
        self._opened = True
        logger.debug("opened sqlite store %s", self.path)

    def close(self) -> None:
        """Release the instance lock if held and close every connection. Idempotent."""
        if self._lock_holder is not None:
            try:
                self.release_instance_lock(self._lock_holder)
            except Exception:  # closing must go on; the lock goes stale and is taken over
                logger.warning("could not release the engine lock", exc_info=True)
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                logger.debug("closing a connection failed", exc_info=True)
        self._shared = None
        self._writer_conn = None
        self._local = threading.local()
        self._opened = False

    def _connect(self) -> sqlite3.Connection:
        """A bare connection: autocommit (transactions are explicit), any thread."""
        return sqlite3.connect(self.path or ":memory:", isolation_level=None,
                               check_same_thread=False, timeout=self._busy_ms / 1000)

    def _new_connection(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self._memory:
            self._enable_wal(conn)
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def checkpoints(self) -> int:
        """WAL checkpoints the store's checkpoint thread has run since :meth:`open`."""
        return 0 if self._checkpointer is None else self._checkpointer.checkpoints

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a fresh file to WAL needs an exclusive lock and SQLite answers "database is
        # locked" at once, without its busy handler, while another connection does the same.
        deadline = time.monotonic() + self._busy_ms / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)

    def _held_connection(self) -> sqlite3.Connection | None:
        """The calling thread's connection (the shared one for ``:memory:``), or None when it
        has none yet."""
        if self._memory:
            return self._shared
        held: _Held | None = getattr(self._local, "held", None)
        return None if held is None else held.conn

    def _connection(self) -> sqlite3.Connection:
        """The calling thread's connection, made on first use."""
        conn = self._held_connection()
        if conn is not None:
            return conn
        if self._memory:
            conn = self._shared = self._new_connection()
            return conn
        held = self._local.held = _Held(self._new_connection())
        # the thread's storage goes when the thread ends, and its connection with it
        weakref.finalize(held, self._forget, held.conn)
        return held.conn

    def _writer_connection(self) -> sqlite3.Connection:
        """The connection of every write transaction (the caller holds the writer lock): made
        on first use, and again if the last writer left it in a transaction it could not roll
        back."""
        conn = self._writer_conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._forget(conn)
                conn = None
        if conn is None:
            conn = self._writer_conn = self._new_connection()
        return conn

    def _forget(self, conn: sqlite3.Connection) -> None:
        """Close a connection no longer used (a thread's that has ended, or a broken writer's)."""
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        try:
            conn.close()
        except sqlite3.Error:
            logger.debug("closing a connection failed", exc_info=True)

    def _guard(self) -> Any:
        return self._shared_lock if self._memory else nullcontext()

    # -- transactions ------------------------------------------------------------------------
    def transaction(self, write: bool = False, *,
                    one_statement: bool = False) -> SQLiteTransaction:
        """One transaction; ``BEGIN IMMEDIATE`` when ``write``. See :class:`~.base.Store`:
        with ``one_statement`` no ``BEGIN``/``COMMIT`` is sent (two calls into SQLite fewer)."""
        return SQLiteTransaction(self, write, one_statement)

    def listen(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """Nothing to hear: a SQLite database is served by one instance (see the lock below)."""

    def leads(self, role: str) -> bool:
        """Always: one instance serves a SQLite database."""
        return True

    # -- single-instance lock (engine-api §2.5 engine_lock, compat-policy) --------------------
    def acquire_instance_lock(self, instance_id: str, *, now: float, stale_after_s: float,
                              pid: int | None = None) -> bool:
        """Take the engine lock; see :meth:`~.base.Store.acquire_instance_lock`."""
        host = socket.gethostname()
        with self.transaction(write=True) as tx:
            row = tx.conn.execute("SELECT * FROM engine_lock WHERE id = 1").fetchone()
            if row is not None and row["instance_id"] != instance_id:
                stale = now - row["last_heartbeat"] > stale_after_s
                dead = row["hostname"] == host and row["pid"] is not None and not _pid_alive(row["pid"])
                if not (stale or dead):
                    return False
                logger.warning("taking over the engine lock of instance %s (%s)",
                               row["instance_id"], "stale" if stale else "dead process")
            tx.conn.execute(
                "INSERT OR REPLACE INTO engine_lock (id, instance_id, pid, hostname, started_at, "
                "last_heartbeat) VALUES (1, ?, ?, ?, ?, ?)", (instance_id, pid, host, now, now))
        self._lock_holder = instance_id
        return True

    def refresh_instance_lock(self, instance_id: str, *, now: float) -> bool:
        """Refresh the lock heartbeat; False if another instance took it over."""
        with self.transaction(write=True) as tx:
            cur = tx.conn.execute("UPDATE engine_lock SET last_heartbeat = ? WHERE id = 1 AND "
                                  "instance_id = ?", (now, instance_id))
            return cur.rowcount == 1

    def release_instance_lock(self, instance_id: str) -> None:
        """Delete the lock row if ``instance_id`` holds it."""
        with self.transaction(write=True) as tx:
            tx.conn.execute("DELETE FROM engine_lock WHERE id = 1 AND instance_id = ?", (instance_id,))
        if self._lock_holder == instance_id:
            self._lock_holder = None


class SQLiteTransaction:
    """The context manager of one :meth:`SQLiteStore.transaction`: the thread's connection
    and, for a writer, this process's writer lock, around a
    :class:`~bridge.engine.store.sql_tx.SqlTransaction` (begin, commit, roll back). A plain
    class, not a generator: every core call opens one."""

    __slots__ = ("_store", "_write", "_single", "_inner", "_locks")

    def __init__(self, store: SQLiteStore, write: bool, one_statement: bool) -> None:
        self._store = store
        self._write = write
        self._single = one_statement
        self._inner: SqlTransaction[SQLiteTx] | None = None
        self._locks: list[Any] = []

    def __enter__(self) -> SQLiteTx:
        store = self._store
        if not store._opened:
            raise StoreError("store is not open")
        try:
            if store._memory:
                store._shared_lock.acquire()
                self._locks.append(store._shared_lock)
            me = threading.get_ident()
            writes = self._write and not store._memory
            try:  # a writer only checks its own connection, and makes none
                own = store._held_connection() if writes else store._connection()
            except sqlite3.Error as exc:
                raise translate_error(exc) from exc
            if store._writer_thread == me or (own is not None and own.in_transaction):
                raise StoreError("nested transactions are not supported")
            conn = own
            if writes:
                if not store._writer.acquire(timeout=store._busy_ms / 1000):
                    raise StoreError("database is locked (a writer of this process held it "
                                     "too long)", retryable=True)
                self._locks.append(store._writer)
                try:
                    conn = store._writer_connection()
                except sqlite3.Error as exc:
                    raise translate_error(exc) from exc
                store._writer_thread = me
            assert conn is not None
            inner = self._inner = SqlTransaction(
                SQLiteTx(conn, single=self._single), "BEGIN IMMEDIATE" if self._write else "BEGIN",
                db_errors=sqlite3.Error, translate=translate_error)
            return inner.__enter__()
        except BaseException:
            self._release()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        try:
            assert self._inner is not None
            self._inner.__exit__(exc_type, exc, tb)
            checkpointer = self._store._checkpointer
            if self._write and checkpointer is not None:
                checkpointer.committed()  # under the writer lock still
        finally:
            self._release()

    def _release(self) -> None:
        locks = self._locks
        if locks and locks[-1] is self._store._writer:
            self._store._writer_thread = None
        while locks:
            locks.pop().release()


class _Held:
    """A thread's connection, kept in the store's thread-local storage."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True
