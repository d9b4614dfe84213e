"""The PostgreSQL engine store (psycopg 3 and a psycopg_pool connection pool).

Several ``assay-bridge serve`` instances may share one database (capability
``several_instances``); nothing here assumes a single process. How that stays correct:

* **Transactions.** Write transactions run at READ COMMITTED and lock what they read for
  update (``FOR NO KEY UPDATE``; the claims and every background-work query add ``SKIP
  LOCKED``), so a row is handed to one transaction at a time and a waiting transaction
  re-reads the committed row. Read transactions are ``REPEATABLE READ READ ONLY``: one
  consistent snapshot, never blocking writers. Lock conflicts PostgreSQL resolves by aborting a
  transaction (deadlock, serialisation failure, lock timeout) become
  ``StoreError(retryable=True)`` and the core runs the operation again.
* **Migrations** (``sql/postgres_NNNN_*.sql``, read with :mod:`importlib.resources`) run at
  :meth:`PostgresStore.open` in one transaction that first takes
  ``pg_advisory_xact_lock``: a *transaction-scoped* lock, released by the commit, so two
  instances starting at once apply each migration once and the pooled connection keeps no
  lock afterwards (unlike assay's session lock, engine-api §6.1 item 19). Applied versions are
  recorded in ``assay_bridge_migrations``; a database migrated by a newer release is refused.
* **Notices across instances.** :meth:`PostgresTx.publish` issues ``pg_notify`` inside the
  transaction, so PostgreSQL delivers it only if the transaction commits. :meth:`listen` keeps
  one dedicated connection (outside the pool) on ``LISTEN`` and hands other instances' notices
  to a callback; after the connection is lost and re-established it reports ``resync``.

Errors are translated in :func:`translate_error`, the one place driver errors become
:class:`~bridge.errors.StoreError` / :class:`~bridge.errors.StoreUnavailableError`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from bridge.engine.store.base import CAP_SEVERAL_INSTANCES, RESYNC
from bridge.engine.store.postgres_tx import NOTIFY_CHANNEL, PostgresTx
from bridge.engine.store.sql_tx import SqlTransaction
from bridge.errors import StoreError, StoreUnavailableError

logger = logging.getLogger(__name__)

#: The key of the transaction-scoped advisory lock that serialises migrations.
MIGRATION_LOCK_KEY = zlib.crc32(b"assay-bridge migrations")
_MIGRATION_FILE = re.compile(r"^postgres_(\d{4})_[a-z0-9_]+\.sql$")

#: SQLSTATEs after which running the transaction again may succeed.
_RETRYABLE_STATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57014",  # query_canceled (statement or lock timeout)
    "26000",  # invalid_sql_statement_name: the session lost its prepared statements
}
#: SQLSTATE classes meaning the server cannot take work now.
_UNAVAILABLE_CLASSES = ("08", "53", "57P", "58")
_UNAVAILABLE_STATES = {"25006"}  # read_only_sql_transaction (a standby)

#: How long a transaction waits for a pooled connection before the store is "unavailable".
DEFAULT_POOL_TIMEOUT_S = 10.0
DEFAULT_POOL_SIZE = 10
#: The listener's reconnect backoff bounds, and how often it checks for a stop request.
LISTEN_RETRY_MIN_S = 0.2
LISTEN_RETRY_MAX_S = 5.0
LISTEN_TICK_S = 0.5


def _configure(conn: psycopg.Connection[DictRow]) -> None:
    """A new pooled connection: one-statement transactions run at READ COMMITTED whatever the
    database's default is."""
    conn.execute("SET default_transaction_isolation TO 'read committed'")


def translate_error(exc: BaseException) -> Exception:
    """Map a psycopg or pool error to StoreError / StoreUnavailableError."""
    if isinstance(exc, PoolTimeout):
        return StoreUnavailableError(f"database unavailable: no connection ({exc})")
    state = getattr(exc, "sqlstate", None) or ""
    if state in _RETRYABLE_STATES:
        return StoreError(f"postgres: {exc}", retryable=True)
    if state in _UNAVAILABLE_STATES or state.startswith(_UNAVAILABLE_CLASSES):
        return StoreUnavailableError(f"database unavailable: {exc}")
    if isinstance(exc, psycopg.OperationalError) and not state:
        return StoreUnavailableError(f"database unavailable: {exc}")  # connection lost
    return StoreError(f"postgres: {exc}")


def migrations() -> list[tuple[int, str, str]]:
    """``(version, file name, sql)`` of every packaged migration, in version order."""
    found = []
    for entry in resources.files("bridge.engine.store.sql").iterdir():
        m = _MIGRATION_FILE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise AssertionError(f"migration versions must be 1..n without gaps: {versions}")
    return found


class PostgresStore:
    """An engine store in one PostgreSQL database.

    Args:
        conninfo: a libpq URL (``postgresql://user:pass@host:5432/db``; ``postgres://`` works
            too) or key-value string.
        pool_size: the most connections this instance keeps open (plus one for :meth:`listen`).
        pool_timeout_s: how long a transaction waits for a free connection before raising
            :class:`~bridge.errors.StoreUnavailableError`.
    """

    capabilities: frozenset[str] = frozenset({CAP_SEVERAL_INSTANCES})

    def __init__(self, conninfo: str, *, pool_size: int = DEFAULT_POOL_SIZE,
                 pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S) -> None:
        self.conninfo = conninfo
        self.pool_size = max(1, pool_size)
        self.pool_timeout_s = pool_timeout_s
        #: Tells this instance's notices from other instances' on the shared channel.
        self.origin = uuid.uuid4().hex[:12]
        self._pool: ConnectionPool[psycopg.Connection[DictRow]] | None = None
        self._local = threading.local()
        self._listener: _Listener | None = None
        self._roles: dict[str, psycopg.Connection[DictRow]] = {}
        self._roles_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        """Create the pool and apply pending migrations. Idempotent.

        Migrations run on a direct connection (so a wrong URL or a down server fails at once
        with the driver's own message); the pool then fills in the background.

        Raises:
            StoreUnavailableError: the server cannot be reached.
            StoreError: a migration failed, or the database is newer than this release.
        """
        if self._pool is not None:
            return
        try:  # a direct connection first: a wrong URL or a down server fails at once, clearly
            with psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row,
                                 connect_timeout=max(1, round(self.pool_timeout_s))) as conn:
                self._migrate(conn)
        except psycopg.Error as exc:
            raise translate_error(exc) from exc
        pool: ConnectionPool[psycopg.Connection[DictRow]] = ConnectionPool(
            self.conninfo, min_size=1, max_size=self.pool_size, open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
            connection_class=psycopg.Connection[DictRow], configure=_configure,
            timeout=self.pool_timeout_s,
            name="assay-bridge")
        pool.open(wait=False)
        self._pool = pool
        logger.debug("opened postgres store (origin %s)", self.origin)

    @staticmethod
    def _migrate(conn: psycopg.Connection[DictRow]) -> None:
        known = migrations()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS assay_bridge_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            applied = {r["version"] for r in conn.execute(
                "SELECT version FROM assay_bridge_migrations").fetchall()}
            newest = max((v for v, _, _ in known), default=0)
            if applied and max(applied) > newest:
                raise StoreError(
                    f"the database schema is at version {max(applied)}, newer than this "
                    f"assay-bridge supports ({newest}); upgrade assay-bridge")
            for version, name, sql in known:
                if version in applied:
                    continue
                logger.info("applying migration %s", name)
                conn.execute(sql.encode("utf-8"))
                conn.execute("INSERT INTO assay_bridge_migrations (version, name) "
                             "VALUES (%s, %s)", (version, name))
            conn.execute("INSERT INTO namespaces (name, created_at) VALUES ('main', 0) "
                         "ON CONFLICT DO NOTHING")

    def close(self) -> None:
        """Stop the listener and close every connection. Idempotent."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        with self._roles_lock:
            roles, self._roles = self._roles, {}
        for conn in roles.values():
            conn.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        pool = self._pool
        if pool is None:
            raise StoreError("store is not open")
        try:
            cm = pool.connection()
            conn = cm.__enter__()
        except (PoolTimeout, psycopg.Error) as exc:
            raise translate_error(exc) from exc
        try:
            yield conn
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            cm.__exit__(None, None, None)

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def transaction(self, write: bool = False, *,
                    one_statement: bool = False) -> Iterator[PostgresTx]:
        """One transaction; see :class:`~.base.Store` and the module docstring. With
        ``one_statement`` the statement runs as its own transaction (no ``BEGIN``/``COMMIT``
        round trips), at READ COMMITTED, the session default every pooled connection sets."""
        if getattr(self._local, "active", False):
            raise StoreError("nested transactions are not supported")
        self._local.active = True
        try:
            with self._connection() as conn:
                yield from self._run_transaction(conn, write, one_statement)
        finally:
            self._local.active = False

    def _run_transaction(self, conn: psycopg.Connection[DictRow], write: bool,
                         one_statement: bool = False) -> Iterator[PostgresTx]:
        begin = ("" if one_statement else "BEGIN ISOLATION LEVEL READ COMMITTED" if write
                 else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with SqlTransaction(PostgresTx(conn, write=write, origin=self.origin), begin,
                            db_errors=psycopg.Error, translate=translate_error) as tx:
            yield tx

    # -- notices from other instances --------------------------------------------------------
    def listen(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """Start the listener thread; see :meth:`~.base.Store.listen`."""
        if self._pool is None:
            raise StoreError("store is not open")
        if self._listener is not None:
            raise StoreError("already listening")
        self._listener = _Listener(self.conninfo, self.origin, callback)
        self._listener.start()

    # -- the single-instance lock is a SQLite matter ----------------------------------------
    def leads(self, role: str) -> bool:
        """Hold ``role`` with a session advisory lock on a connection of its own, kept open
        while this store is: another instance takes the role only once this one closes or its
        connection drops."""
        with self._roles_lock:
            conn = self._roles.get(role)
            if conn is not None and not conn.closed:
                return True
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row,
                                       connect_timeout=max(1, round(self.pool_timeout_s)))
                row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s)) AS held",
                                   ("assay-bridge:" + role,)).fetchone()
            except psycopg.Error as exc:
                logger.warning("cannot take the %s role: %s", role, exc)
                return False
            if row is None or not row["held"]:
                conn.close()
                return False
            self._roles[role] = conn
            return True

    def acquire_instance_lock(self, instance_id: str, *, now: float, stale_after_s: float,
                              pid: int | None = None) -> bool:
        """Not supported: several instances may serve a PostgreSQL database."""
        raise StoreError("PostgreSQL stores have no instance lock (capability instance_lock)")

    def refresh_instance_lock(self, instance_id: str, *, now: float) -> bool:
        """Not supported; see :meth:`acquire_instance_lock`."""
        raise StoreError("PostgreSQL stores have no instance lock (capability instance_lock)")

    def release_instance_lock(self, instance_id: str) -> None:
        """Nothing to release."""


class _Listener:
    """One connection on ``LISTEN``, feeding other instances' notices to a callback."""

    def __init__(self, conninfo: str, origin: str,
                 callback: Callable[[str, dict[str, Any]], None]) -> None:
        self._conninfo = conninfo
        self._origin = origin
        self._callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="postgres-listener", daemon=True)
        self._conn: psycopg.Connection[Any] | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(LISTEN_TICK_S * 4)

    def _run(self) -> None:
        delay = LISTEN_RETRY_MIN_S
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if not first:  # notices sent while we were away are lost: look again
                        logger.info("postgres listener reconnected")
                        self._deliver(RESYNC, {})
                    first, delay = False, LISTEN_RETRY_MIN_S
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=LISTEN_TICK_S):
                            self._handle(note.payload)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                logger.warning("postgres listener lost its connection (%s); retrying in "
                               "%.1f s", exc, delay)
                first = False
                self._stop.wait(delay)
                delay = min(LISTEN_RETRY_MAX_S, delay * 2)

    def _handle(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            logger.warning("ignoring a malformed notice on %s", NOTIFY_CHANNEL)
            return
        if not isinstance(message, dict) or message.get("o") == self._origin:
            return
        for item in message.get("n", ()):
            if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
                self._deliver(str(item[0]), item[1])

    def _deliver(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._callback(kind, data)
        except Exception:
            logger.exception("the notice callback failed on %s", kind)
