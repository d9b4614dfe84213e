"""The PostgreSQL dialect of :class:`~bridge.engine.store.sql_tx.SqlTx`.

Every method runs inside the transaction opened by ``PostgresStore.transaction``. In a write
transaction (READ COMMITTED):

* rows read in order to change them are locked ``FOR NO KEY UPDATE`` (it does not conflict
  with the foreign-key checks of inserts into child tables);
* claims and background-work queries lock with ``SKIP LOCKED`` inside one
  ``UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR NO KEY UPDATE SKIP LOCKED)) RETURNING *``
  or ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``: a row is handed to one transaction, and a
  row changed by a transaction that committed meanwhile is re-checked against the conditions;
* ``append_event`` first locks the workflow row, then computes ``max(seq) + 1`` in a new
  statement, whose snapshot sees every event committed before the lock was granted;
* the ``pg_notify`` calls of :meth:`PostgresTx.publish` go in one simple query with the
  ``COMMIT`` (payloads quoted by psycopg), one round trip for both.

In a read transaction (REPEATABLE READ READ ONLY) no lock clause is added.

Fewer round trips, the same statements in the same order: ``BEGIN`` is not sent on its own but
in one simple query with the transaction's first statement, and a write whose outcome nobody
reads (:meth:`~bridge.engine.store.sql_tx.SqlTx._w`: the ``UPDATE`` of ``update_workflow`` /
``update_activity``, a signal's ``INSERT``, the row lock taken before an event is appended)
waits and goes with the next statement or the ``COMMIT``. Each statement of a simple query
still gets its own snapshot at READ COMMITTED, so what a statement sees does not change. The
statements sent that way go as ``EXECUTE``s of statements the session prepared
(:mod:`~bridge.engine.store.postgres_batch`). A transaction that ran nothing sends nothing.
A held poll's turn whose claim found nothing commits with its activity check
(:meth:`PostgresTx.has_ready_activity`).

A connection taken from the pool is not checked with a round trip of its own: if the first
query (``BEGIN`` and the first statement) finds it dead, the error is retryable (nothing was
committed) and the pool replaces the connection.

A *one-statement* transaction (``Store.transaction(one_statement=True)``: a single claim,
heartbeat or row read) sends no ``BEGIN``/``COMMIT``: the statement is its own transaction,
at READ COMMITTED (the pooled connections' session default). On a dead connection it is
retried like ``BEGIN`` when that is safe: always for a read, for a write only when the server
ended the session before running it (SQLSTATE class 57P).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import DictRow

from bridge.engine.store import postgres_batch
from bridge.engine.store.base import Notice, Row
from bridge.engine.store.postgres_batch import Part
from bridge.engine.store.sql_tx import SqlTx
from bridge.errors import StoreError

#: The LISTEN/NOTIFY channel engine instances share (per database).
NOTIFY_CHANNEL = "assay_bridge"
#: PostgreSQL refuses notice payloads of 8000 bytes or more; larger batches are split.
MAX_NOTIFY_BYTES = 7000

_STATEMENTS: dict[str, bytes] = {}


def _statement(sql: str) -> bytes:
    """``sql`` with ``?`` placeholders as psycopg's ``%s`` (cached: the SQL is built from
    constants, so the set of texts is small)."""
    statement = _STATEMENTS.get(sql)
    if statement is None:
        # bytes: the SQL is built from constants here, not LiteralString-typed
        statement = sql.replace("?", "%s").encode()
        if len(_STATEMENTS) < 512:
            _STATEMENTS[sql] = statement
    return statement


def _lost(exc: psycopg.OperationalError) -> StoreError:
    return StoreError(f"postgres: the pooled connection was lost ({exc})", retryable=True)


class PostgresTx(SqlTx):
    """One open PostgreSQL transaction. See :class:`bridge.engine.store.base.Tx`."""

    conn: psycopg.Connection[DictRow]

    def __init__(self, conn: psycopg.Connection[DictRow], *, write: bool, origin: str) -> None:
        super().__init__(conn, write=write)
        self.origin = origin
        self._locked: set[str] = set()  # workflow ids this transaction holds a row lock on
        self._single = False  # one_statement: no BEGIN was sent; at most one statement runs
        self._payloads: list[str] = []  # notices to pg_notify just before COMMIT
        self._ran = False
        #: What waits to go with the next statement: BEGIN, then writes whose outcome is not
        #: read (see postgres_batch).
        self._pending: list[Part] = []
        self._sent = False  # a query of this transaction went to the server
        self._begin_sql = b""
        #: The transaction so far is one workflow-task claim that found nothing: it wrote
        #: nothing and holds no lock (see has_ready_activity).
        self._idle = False
        self._ended = False  # committed early (has_ready_activity); BEGIN again if needed

    def _x(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[DictRow]:
        statement = _statement(sql)
        self._reopen()
        if self._pending:
            return self._send([*self._pending, (statement, params)])
        if not self._single:
            return self.conn.execute(statement, params or None)
        assert not self._ran, "a one-statement transaction ran a second statement"
        self._ran = True
        try:
            return self.conn.execute(statement, params or None)
        except psycopg.OperationalError as exc:
            # The pooled connection was dead (no BEGIN found it out). Running the statement
            # again is safe for a read, and for a write the server refused because it had
            # ended the session (SQLSTATE class 57P): the statement never ran.
            if self.conn.broken and (not self.write or _ended_session(exc)):
                raise _lost(exc) from exc
            raise

    def _w(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self._single:
            self._x(sql, params)
        else:
            self._reopen()
            self._pending.append((_statement(sql), params))

    def _reopen(self) -> None:
        """Before a statement: the transaction is no longer only an empty claim, and after
        an early commit it is a new transaction."""
        self._idle = False
        if self._ended:
            self._ended = False
            self._pending.append(self._begin_sql)

    def _send(self, parts: list[Part]) -> psycopg.Cursor[DictRow]:
        """``parts`` in one round trip; the cursor is left on the last statement's result."""
        self._pending = []
        first, self._sent = not self._sent, True
        try:
            return postgres_batch.send(self.conn, parts)
        except psycopg.OperationalError as exc:
            # The first query carries BEGIN: on a dead pooled connection nothing committed.
            if first and self.conn.broken:
                raise _lost(exc) from exc
            raise

    def _begin(self, sql: str) -> None:
        if not sql:  # one statement, its own transaction
            self._single = True
            return
        self._begin_sql = sql.encode()
        self._pending.append(self._begin_sql)  # sent with the first statement

    # -- a held poll's turn that finds nothing --------------------------------------------
    def claim_workflow_task(self, *, queue: str, worker_id: str, now: float,
                            types: Sequence[str] | None = None,
                            start: bool = False) -> Row | None:
        fresh = self.write and not self._sent and self._pending == [self._begin_sql]
        row = super().claim_workflow_task(queue=queue, worker_id=worker_id, now=now,
                                          types=types, start=start)
        self._idle = fresh and row is None
        return row

    def has_ready_activity(self, queue: str, now: float,
                           names: Sequence[str] | None = None) -> bool:
        """After a claim that found nothing (and nothing else), the transaction commits in
        the same round trip as this read, which runs on its own: it holds no lock, so it
        sees what it would have seen inside (at READ COMMITTED every statement takes a new
        snapshot). A statement after it opens a new transaction."""
        if not (self._idle and not self._pending and not self._payloads):
            return super().has_ready_activity(queue, now, names)
        self._idle = False
        self._pending = [b"COMMIT"]
        ready = super().has_ready_activity(queue, now, names)
        self._ended = True
        return ready

    def _rollback(self) -> None:
        postgres_batch.rollback(self.conn)

    def _in_transaction(self) -> bool:
        conn = self.conn
        return not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def _lock_clause(self) -> str:
        return " FOR NO KEY UPDATE"

    def _claim_clause(self, strength: str = "NO KEY UPDATE", of: str | None = None) -> str:
        return f" FOR {strength}{f' OF {of}' if of else ''} SKIP LOCKED"

    def _ids_of(self, select: str) -> str:
        return f"id = ANY(ARRAY({select}))"

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _note_locked(self, workflow_ids: Iterable[str]) -> None:
        self._locked.update(workflow_ids)

    def _lock_workflow(self, workflow_id: str) -> None:
        # Sent with the INSERT that follows: that statement's own snapshot, taken once the lock
        # is granted, sees every event committed before.
        if self.write and workflow_id not in self._locked:
            self._w("SELECT 1 FROM workflows WHERE id = ?" + self._lock_clause(), (workflow_id,))
            self._locked.add(workflow_id)

    def publish(self, notices: Sequence[Notice]) -> None:
        """``pg_notify`` the notices; PostgreSQL delivers them only if this transaction commits."""
        items = [[kind, data] for kind, data in notices]
        while items:
            batch: list[list[Any]] = []
            payload = ""
            while items:
                candidate = json.dumps({"o": self.origin, "n": [*batch, items[0]]},
                                       separators=(",", ":"), default=str)
                if batch and len(candidate.encode()) > MAX_NOTIFY_BYTES:
                    break
                batch.append(items.pop(0))
                payload = candidate
            if len(payload.encode()) > MAX_NOTIFY_BYTES:
                continue  # one notice too large to share: other instances will poll for it
            if self._single:
                self._x("SELECT pg_notify(?, ?)", (NOTIFY_CHANNEL, payload))
            else:
                self._payloads.append(payload)  # sent with COMMIT (see _commit)

    def _commit(self) -> None:
        """``COMMIT``, preceded in the same simple query by the writes still waiting and the
        ``pg_notify`` of every payload :meth:`publish` queued: one round trip, the same
        statements in the same order (publish is the last step of an operation). Nothing is
        sent for a transaction that ran nothing."""
        if self._single or (self._ended and not self._payloads):
            return
        self._reopen()
        pending, self._pending = self._pending, []
        if not self._sent and len(pending) <= 1 and not self._payloads:
            return  # at most the BEGIN, never sent: nothing to commit
        quoted = sql.Literal(NOTIFY_CHANNEL).as_bytes(self.conn)
        notifies = [b"SELECT pg_notify(" + quoted + b", " + sql.Literal(p).as_bytes(self.conn)
                    + b")" for p in self._payloads]
        self._payloads.clear()
        first, self._sent = not self._sent, True
        try:
            postgres_batch.send(self.conn, [*pending, *notifies, b"COMMIT"])
        except psycopg.OperationalError as exc:
            # BEGIN went in this query: the server refused it before running anything only
            # when it had ended the session (SQLSTATE class 57P).
            if first and self.conn.broken and _ended_session(exc):
                raise _lost(exc) from exc
            raise


def _ended_session(exc: psycopg.OperationalError) -> bool:
    return (getattr(exc, "sqlstate", None) or "").startswith("57P")
