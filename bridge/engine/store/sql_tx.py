"""Row-level steps of the SQL stores (:class:`SqlTx`), the contract of ``base.Tx``, written once.

Every statement is written here with ``?`` placeholders. A dialect subclass
(:class:`~bridge.engine.store.sqlite_tx.SQLiteTx`,
:class:`~bridge.engine.store.postgres_tx.PostgresTx`) says only what truly differs:

* :meth:`SqlTx._x` runs a statement (PostgreSQL rewrites ``?`` to ``%s``), and
  :meth:`SqlTx._w` one whose outcome nobody reads (PostgreSQL sends it with the next one);
* :meth:`SqlTx._in_transaction`: whether the connection has a transaction to roll back;
* :meth:`SqlTx._lock_clause` / :meth:`SqlTx._claim_clause`: the row lock added to a read that
  is followed by a change, and the ``SKIP LOCKED`` lock of claims and background work (none
  on SQLite, where ``BEGIN IMMEDIATE`` admits one writer at a time);
* :meth:`SqlTx._ids_of`: how an ``UPDATE`` takes the ids a sub-select picked;
* :meth:`SqlTx._in`: a column matched against a list of values;
* :meth:`SqlTx._note_locked` / :meth:`SqlTx._lock_workflow`: which workflow rows this
  transaction holds locked (``append_event`` locks the workflow row first on PostgreSQL);
* :meth:`SqlTx.publish`: notices for other engine instances.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from bridge.engine.store.base import (
    ACTIVITY_COLUMNS,
    FINISHED_ACTIVITY_STATUSES,
    SCHEDULE_COLUMNS,
    TERMINAL_STATUSES,
    WORKER_COLUMNS,
    WORKFLOW_COLUMNS,
    Notice,
    Row,
    checked_columns,
)


def _sql_list(values: Sequence[str]) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"


_TERMINAL_SQL = _sql_list(TERMINAL_STATUSES)
_FINISHED_ACTIVITY_SQL = _sql_list(FINISHED_ACTIVITY_STATUSES)

logger = logging.getLogger(__name__)

T = TypeVar("T", bound="SqlTx")


class SqlTransaction(Generic[T]):
    """One transaction of ``tx`` as a context manager: ``begin`` on entry, commit on a normal
    exit, roll back when the block raises. A database error (``db_errors``) leaves as
    ``translate(error)``, the store's own error. A plain class, not a generator: every core
    call opens one.

    Args:
        tx: the dialect's transaction object, not begun yet.
        begin: the statement that opens it (a dialect may send it later, or not at all).
        db_errors: the driver's errors.
        translate: maps a driver error to the store's error.
    """

    __slots__ = ("tx", "_begin", "_db_errors", "_translate")

    def __init__(self, tx: T, begin: str, *,
                 db_errors: type[BaseException] | tuple[type[BaseException], ...],
                 translate: Callable[[BaseException], Exception]) -> None:
        self.tx = tx
        self._begin = begin
        self._db_errors = db_errors
        self._translate = translate

    def __enter__(self) -> T:
        try:
            self.tx._begin(self._begin)
        except self._db_errors as exc:
            raise self._translate(exc) from exc
        return self.tx

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if exc is not None:
            self._rollback()
            if isinstance(exc, self._db_errors):
                raise self._translate(exc) from exc
            return
        try:
            self.tx._commit()
        except self._db_errors as error:
            self._rollback()
            raise self._translate(error) from error

    def _rollback(self) -> None:
        if self.tx._in_transaction():
            try:
                self.tx._rollback()
            except self._db_errors:
                logger.warning("rollback failed", exc_info=True)


def _sets(fields: Mapping[str, Any], allowed: frozenset[str]) -> tuple[str, list[Any]]:
    """The ``SET`` list of an UPDATE of ``fields`` (checked against ``allowed``) and its values."""
    names = tuple(fields)
    return _set_list(names, allowed), [fields[n] for n in names]


# The statements a core call writes come from a few column lists: each is checked and written
# out once (a generator and a join a column otherwise, ~70 a workflow).
@functools.lru_cache(maxsize=512)
def _set_list(names: tuple[str, ...], allowed: frozenset[str]) -> str:
    checked_columns(names, allowed)
    return ", ".join(f"{n} = ?" for n in names)


@functools.lru_cache(maxsize=512)
def _insert_sql(table: str, names: tuple[str, ...], allowed: frozenset[str], conflict: str) -> str:
    checked_columns(names, allowed)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) {conflict}"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class SqlTx:
    """One open transaction of a SQL store. See :class:`bridge.engine.store.base.Tx`."""

    def __init__(self, conn: Any, *, write: bool = True) -> None:
        self.conn = conn
        self.write = write

    # -- dialect hooks ---------------------------------------------------------------------
    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor."""
        raise NotImplementedError

    def _w(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a write whose outcome (rows, count) is not read. A dialect may delay it until
        its next statement or the commit, in order; an error it raises then surfaces there."""
        self._x(sql, params)

    def _begin(self, sql: str) -> None:
        """Open the transaction with ``sql``."""
        self.conn.execute(sql)

    def _commit(self) -> None:
        """Commit the transaction."""
        self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        """Roll the transaction back."""
        self.conn.execute("ROLLBACK")

    def _in_transaction(self) -> bool:
        """Whether the connection has a transaction open (one to roll back)."""
        raise NotImplementedError

    def _lock_clause(self) -> str:
        """The lock of a row read in order to change it."""
        return ""

    def _claim_clause(self, strength: str = "NO KEY UPDATE", of: str | None = None) -> str:
        """The lock of rows claimed by one transaction, skipping rows others hold."""
        return ""

    def _ids_of(self, select: str) -> str:
        """``id`` matched against the ids the sub-select ``select`` picks."""
        return f"id IN ({select})"

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` matched against ``values``: the SQL and its parameters."""
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def _note_locked(self, workflow_ids: Iterable[str]) -> None:
        """These workflow rows are locked by this transaction (a claim or a locked read)."""

    def _lock_workflow(self, workflow_id: str) -> None:
        """Make sure this transaction holds the workflow row's lock before adding an event."""

    def publish(self, notices: Sequence[Notice]) -> None:
        """Hand notices to other engine instances; nothing to do with one instance."""

    # -- plumbing --------------------------------------------------------------------------
    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._x(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._x(sql, params).fetchall()]

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._x(sql, params).fetchone()
        return None if row is None else next(iter(dict(row).values()))

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._x(sql, params).rowcount)

    def _insert(self, table: str, row: Mapping[str, Any], allowed: frozenset[str],
                conflict: str = "ON CONFLICT DO NOTHING") -> Any:
        names = tuple(row)
        return self._x(_insert_sql(table, names, allowed, conflict), [row[n] for n in names])

    def _update(self, table: str, where: str, key: Sequence[Any], fields: Mapping[str, Any],
                allowed: frozenset[str]) -> None:
        sets, values = _sets(fields, allowed)
        if sets:
            self._w(f"UPDATE {table} SET {sets} WHERE {where}", values + list(key))

    def _lock(self) -> str:
        return self._lock_clause() if self.write else ""

    def _claim(self, strength: str = "NO KEY UPDATE", of: str | None = None) -> str:
        return self._claim_clause(strength, of) if self.write else ""

    # -- workflows ---------------------------------------------------------------------------
    def insert_workflow(self, row: Mapping[str, Any]) -> bool:
        inserted = int(self._insert("workflows", row, WORKFLOW_COLUMNS).rowcount) == 1
        if inserted:
            self._note_locked([str(row["id"])])
        return inserted

    def get_workflow(self, workflow_id: str, *, lock: bool = False) -> Row | None:
        row = self._one("SELECT * FROM workflows WHERE id = ?" + (self._lock() if lock else ""),
                        (workflow_id,))
        if lock and self.write and row is not None:
            self._note_locked([workflow_id])
        return row

    def list_workflows(self, *, namespace: str, status: str | None, workflow_type: str | None,
                       limit: int, offset: int) -> list[Row]:
        sql, params = "SELECT * FROM workflows WHERE namespace = ?", [namespace]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if workflow_type is not None:
            sql += " AND workflow_type = ?"
            params.append(workflow_type)
        sql += " ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
        return self._all(sql, [*params, limit, offset])

    def list_children(self, parent_id: str) -> list[Row]:
        return self._all("SELECT * FROM workflows WHERE parent_id = ? ORDER BY created_at, id",
                         (parent_id,))

    def update_workflow(self, workflow_id: str, fields: Mapping[str, Any]) -> None:
        self._update("workflows", "id = ?", (workflow_id,), fields, WORKFLOW_COLUMNS)

    def wake_workflow(self, workflow_id: str) -> Row | None:
        row = self._one("UPDATE workflows SET needs_dispatch = 1 WHERE id = ? AND status NOT IN "
                        + _TERMINAL_SQL + " RETURNING *", (workflow_id,))
        if row is not None:
            self._note_locked([workflow_id])
        return row

    def _only(self, column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
        """`` AND column IN (values)``, or nothing when ``values`` is None (no restriction)."""
        if values is None:
            return "", []
        if not values:
            return " AND 1 = 0", []
        match, params = self._in(column, values)
        return " AND " + match, params

    def claim_workflow_task(self, *, queue: str, worker_id: str, now: float,
                            types: Sequence[str] | None = None,
                            start: bool = False) -> Row | None:
        only, params = self._only("workflow_type", types)
        starting = (", status = CASE WHEN status = 'PENDING' THEN 'RUNNING' ELSE status END,"
                    " updated_at = CASE WHEN status = 'PENDING' THEN ? ELSE updated_at END"
                    if start else "")
        row = self._one(
            "UPDATE workflows SET needs_dispatch = 0, dispatch_claimed_by = ?, "
            "dispatch_last_heartbeat = ?" + starting + " WHERE id = ("
            " SELECT id FROM workflows WHERE task_queue = ? AND needs_dispatch = 1"
            " AND dispatch_claimed_by IS NULL AND status NOT IN " + _TERMINAL_SQL + only +
            " ORDER BY updated_at, id LIMIT 1" + self._claim() + ") RETURNING *",
            (worker_id, now, *((now,) if start else ()), queue, *params))
        if row is not None:
            self._note_locked([row["id"]])
        return row

    def release_workflow_task(self, workflow_id: str) -> Row | None:
        return self._one("UPDATE workflows SET dispatch_claimed_by = NULL, "
                         "dispatch_last_heartbeat = NULL WHERE id = ? RETURNING *", (workflow_id,))

    def expired_leases(self, cutoff: float, limit: int) -> list[Row]:
        rows = self._all(
            "SELECT * FROM workflows WHERE dispatch_claimed_by IS NOT NULL AND "
            "dispatch_last_heartbeat < ? ORDER BY dispatch_last_heartbeat LIMIT ?"
            + self._claim(), (cutoff, limit))
        self._note_locked(r["id"] for r in rows)
        return rows

    def oldest_lease_at(self) -> float | None:
        return _float(self._scalar("SELECT MIN(dispatch_last_heartbeat) FROM workflows "
                                   "WHERE dispatch_claimed_by IS NOT NULL"))

    # -- events ------------------------------------------------------------------------------
    def append_event(self, workflow_id: str, event_type: str, payload: str | None,
                     timestamp: float) -> Row:
        self._lock_workflow(workflow_id)
        row = self._one(
            "INSERT INTO workflow_events (workflow_id, seq, event_type, payload, timestamp) "
            "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_events "
            "WHERE workflow_id = ?), ?, ?, ?) RETURNING *",
            (workflow_id, workflow_id, event_type, payload, timestamp))
        assert row is not None
        return row

    def list_events(self, workflow_id: str) -> list[Row]:
        return self._all("SELECT * FROM workflow_events WHERE workflow_id = ? ORDER BY seq",
                         (workflow_id,))

    def list_events_after(self, workflow_id: str, seq: int) -> list[Row]:
        return self._all("SELECT * FROM workflow_events WHERE workflow_id = ? AND seq > ? "
                         "ORDER BY seq", (workflow_id, seq))

    # -- activities --------------------------------------------------------------------------
    def insert_activity(self, row: Mapping[str, Any]) -> int | None:
        got = self._insert("workflow_activities", row, ACTIVITY_COLUMNS,
                           "ON CONFLICT DO NOTHING RETURNING id").fetchone()
        return int(dict(got)["id"]) if got is not None else None

    def get_activity(self, activity_id: int, *, lock: bool = False) -> Row | None:
        return self._one("SELECT * FROM workflow_activities WHERE id = ?"
                         + (self._lock() if lock else ""), (activity_id,))

    def update_activity(self, activity_id: int, fields: Mapping[str, Any]) -> None:
        self._update("workflow_activities", "id = ?", (activity_id,), fields, ACTIVITY_COLUMNS)

    def finish_activity(self, activity_id: int, fields: Mapping[str, Any]) -> Row | None:
        sets, values = _sets(fields, ACTIVITY_COLUMNS)
        return self._one(f"UPDATE workflow_activities SET {sets} WHERE id = ? AND status NOT IN "
                         + _FINISHED_ACTIVITY_SQL + " RETURNING *",
                         values + [activity_id])

    def list_activities(self, workflow_id: str, statuses: Sequence[str]) -> list[Row]:
        match, params = self._in("status", statuses)
        return self._all(f"SELECT * FROM workflow_activities WHERE workflow_id = ? AND {match} "
                         "ORDER BY seq" + self._lock(), (workflow_id, *params))

    def claim_activity_task(self, *, queue: str, worker_id: str, now: float,
                            names: Sequence[str] | None = None) -> Row | None:
        only, params = self._only("name", names)
        return self._one(
            "UPDATE workflow_activities SET status = 'RUNNING', claimed_by = ?, started_at = ?,"
            " last_heartbeat = NULL, timeout_at = CASE WHEN heartbeat_timeout_secs IS NOT NULL"
            " AND heartbeat_timeout_secs < start_to_close_secs THEN ? + heartbeat_timeout_secs"
            " ELSE ? + start_to_close_secs END"
            " WHERE id = (SELECT id FROM workflow_activities WHERE task_queue = ? AND"
            " status = 'PENDING' AND scheduled_at <= ?" + only +
            " ORDER BY scheduled_at, id LIMIT 1" + self._claim() + ") RETURNING *",
            (worker_id, now, now, now, queue, now, *params))

    def has_ready_activity(self, queue: str, now: float,
                           names: Sequence[str] | None = None) -> bool:
        only, params = self._only("name", names)
        return self._x("SELECT 1 FROM workflow_activities WHERE task_queue = ? AND status = "
                       "'PENDING' AND scheduled_at <= ?" + only + " LIMIT 1",
                       (queue, now, *params)).fetchone() is not None

    def ready_tasks(self, queue: str, now: float, types: Sequence[str] | None = None,
                    names: Sequence[str] | None = None) -> tuple[bool, bool]:
        only_types, type_params = self._only("workflow_type", types)
        only_names, name_params = self._only("name", names)
        row = self._x(
            "SELECT EXISTS (SELECT 1 FROM workflows WHERE task_queue = ? AND needs_dispatch = 1"
            " AND dispatch_claimed_by IS NULL AND status NOT IN " + _TERMINAL_SQL + only_types +
            ") AS workflow_task, EXISTS (SELECT 1 FROM workflow_activities WHERE task_queue = ?"
            " AND status = 'PENDING' AND scheduled_at <= ?" + only_names + ") AS activity",
            (queue, *type_params, queue, now, *name_params)).fetchone()
        return bool(row["workflow_task"]), bool(row["activity"])

    def timed_out_activities(self, now: float, limit: int) -> list[Row]:
        return self._all("SELECT * FROM workflow_activities WHERE status = 'RUNNING' AND "
                         "timeout_at <= ? ORDER BY timeout_at LIMIT ?" + self._claim(),
                         (now, limit))

    def activities_of_dead_workers(self, cutoff: float, limit: int) -> list[Row]:
        return self._all(
            "SELECT a.* FROM workflow_activities a JOIN workflow_workers w ON w.id = a.claimed_by"
            " WHERE a.status = 'RUNNING' AND w.last_heartbeat < ?"
            " AND COALESCE(a.last_heartbeat, a.started_at) < ? ORDER BY a.id LIMIT ?"
            + self._claim(of="a"), (cutoff, cutoff, limit))

    def activities_becoming_ready(self, after: float, now: float) -> list[Row]:
        return self._all("SELECT id, task_queue FROM workflow_activities WHERE status = "
                         "'PENDING' AND scheduled_at > ? AND scheduled_at <= ?", (after, now))

    def next_activity_deadline(self, now: float) -> float | None:
        a = self._scalar("SELECT MIN(timeout_at) FROM workflow_activities "
                         "WHERE status = 'RUNNING'")
        b = self._scalar("SELECT MIN(scheduled_at) FROM workflow_activities "
                         "WHERE status = 'PENDING' AND scheduled_at > ?", (now,))
        values = [float(v) for v in (a, b) if v is not None]
        return min(values) if values else None

    # -- timers ------------------------------------------------------------------------------
    def insert_timer(self, workflow_id: str, seq: int, fire_at: float) -> int | None:
        got = self._x("INSERT INTO workflow_timers (workflow_id, seq, fire_at) VALUES (?, ?, ?) "
                      "ON CONFLICT DO NOTHING RETURNING id", (workflow_id, seq, fire_at)).fetchone()
        return int(dict(got)["id"]) if got is not None else None

    def take_due_timers(self, now: float, limit: int) -> list[Row]:
        rows = self._all(
            "UPDATE workflow_timers SET fired = 1 WHERE " + self._ids_of(
                "SELECT id FROM workflow_timers WHERE fired = 0 AND fire_at <= ?"
                " ORDER BY fire_at, id LIMIT ?" + self._claim()) + " RETURNING *", (now, limit))
        return sorted(rows, key=lambda r: (r["fire_at"], r["id"]))

    def cancel_timers(self, workflow_id: str) -> int:
        # SKIP LOCKED (PostgreSQL): a timer being fired right now is left to take_due_timers,
        # whose transaction then finds the workflow finished (it waits for our lock) and writes
        # no event. Waiting for it instead could deadlock (it holds the timer, we the workflow).
        return self._count("UPDATE workflow_timers SET fired = 1 WHERE " + self._ids_of(
            "SELECT id FROM workflow_timers WHERE workflow_id = ? AND fired = 0" + self._claim()),
            (workflow_id,))

    def next_timer_at(self) -> float | None:
        return _float(self._scalar("SELECT MIN(fire_at) FROM workflow_timers WHERE fired = 0"))

    # -- signals and replay markers ----------------------------------------------------------
    def insert_signal(self, workflow_id: str, name: str, payload: str | None, now: float) -> None:
        self._w("INSERT INTO workflow_signals (workflow_id, name, payload, received_at) "
                "VALUES (?, ?, ?, ?)", (workflow_id, name, payload, now))

    def count_signals(self, workflow_id: str, name: str) -> int:
        return int(self._scalar("SELECT COUNT(*) FROM workflow_signals WHERE workflow_id = ? "
                                "AND name = ?", (workflow_id, name)))

    def list_signal_waits(self, workflow_id: str) -> list[Row]:
        return self._all("SELECT name, MAX(signal_count) AS signal_count FROM "
                         "workflow_signal_waits WHERE workflow_id = ? GROUP BY name ORDER BY name",
                         (workflow_id,))

    def queue_depths(self, now: float) -> list[Row]:
        return self._all(
            "SELECT task_queue AS queue, 'activity' AS kind, COUNT(*) AS count,"
            " MIN(scheduled_at) AS oldest FROM workflow_activities WHERE status = 'PENDING'"
            " AND scheduled_at <= ? GROUP BY task_queue"
            " UNION ALL SELECT task_queue, 'workflow_task', COUNT(*), MIN(updated_at)"
            " FROM workflows WHERE needs_dispatch = 1 AND dispatch_claimed_by IS NULL"
            " AND status NOT IN " + _TERMINAL_SQL + " GROUP BY task_queue", (now,))

    def list_open_timers(self, workflow_id: str) -> list[Row]:
        return self._all("SELECT seq, fire_at FROM workflow_timers WHERE workflow_id = ? AND "
                         "fired = 0 ORDER BY fire_at, seq", (workflow_id,))

    def dispatch_waits(self, namespace: str, now: float) -> list[Row]:
        return self._all(
            "SELECT id AS workflow_id, 'workflow_task' AS kind, workflow_type AS name,"
            " task_queue FROM workflows WHERE namespace = ? AND needs_dispatch = 1 AND"
            " dispatch_claimed_by IS NULL AND status NOT IN " + _TERMINAL_SQL +
            " UNION ALL SELECT a.workflow_id, 'activity', a.name, a.task_queue"
            " FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            " WHERE w.namespace = ? AND a.status = 'PENDING' AND a.scheduled_at <= ? AND"
            " w.status NOT IN " + _TERMINAL_SQL, (namespace, namespace, now))

    def has_work_in_hand(self, now: float) -> bool:
        return self._x(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM workflows WHERE status NOT IN " + _TERMINAL_SQL +
            " AND (needs_dispatch = 1 OR dispatch_claimed_by IS NOT NULL))"
            " OR EXISTS (SELECT 1 FROM workflow_activities a JOIN workflows w"
            " ON w.id = a.workflow_id WHERE w.status NOT IN " + _TERMINAL_SQL +
            " AND (a.status = 'RUNNING' OR (a.status = 'PENDING' AND a.scheduled_at <= ?)))",
            (now,)).fetchone() is not None

    def insert_signal_wait(self, workflow_id: str, name: str, signal_count: int) -> bool:
        return self._count("INSERT INTO workflow_signal_waits (workflow_id, name, signal_count) "
                           "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           (workflow_id, name, signal_count)) == 1

    def insert_side_effect(self, workflow_id: str, seq: int) -> bool:
        return self._count("INSERT INTO workflow_side_effects (workflow_id, seq) VALUES (?, ?) "
                           "ON CONFLICT DO NOTHING", (workflow_id, seq)) == 1

    # -- schedules ---------------------------------------------------------------------------
    def insert_schedule(self, row: Mapping[str, Any]) -> bool:
        return int(self._insert("workflow_schedules", row, SCHEDULE_COLUMNS).rowcount) == 1

    def get_schedule(self, namespace: str, name: str) -> Row | None:
        return self._one("SELECT * FROM workflow_schedules WHERE namespace = ? AND name = ?",
                         (namespace, name))

    def list_schedules(self, namespace: str) -> list[Row]:
        return self._all("SELECT * FROM workflow_schedules WHERE namespace = ? ORDER BY name",
                         (namespace,))

    def update_schedule(self, namespace: str, name: str, fields: Mapping[str, Any]) -> None:
        self._update("workflow_schedules", "namespace = ? AND name = ?", (namespace, name),
                     fields, SCHEDULE_COLUMNS)

    def delete_schedule(self, namespace: str, name: str) -> bool:
        return self._count("DELETE FROM workflow_schedules WHERE namespace = ? AND name = ?",
                           (namespace, name)) == 1

    def due_schedules(self, now: float, limit: int) -> list[Row]:
        return self._all("SELECT * FROM workflow_schedules WHERE paused = 0 AND next_run_at "
                         "<= ? ORDER BY next_run_at, namespace, name LIMIT ?"
                         + self._claim("UPDATE"), (now, limit))

    def next_schedule_at(self) -> float | None:
        return _float(self._scalar("SELECT MIN(next_run_at) FROM workflow_schedules "
                                   "WHERE paused = 0"))

    # -- namespaces, workers, queues, API keys ----------------------------------------------
    def insert_namespace(self, name: str, now: float) -> bool:
        return self._count("INSERT INTO namespaces (name, created_at) VALUES (?, ?) "
                           "ON CONFLICT DO NOTHING", (name, now)) == 1

    def list_namespaces(self) -> list[Row]:
        return self._all("SELECT name, created_at FROM namespaces ORDER BY name")

    def delete_namespace(self, name: str) -> bool:
        return self._count("DELETE FROM namespaces WHERE name = ?", (name,)) == 1

    def namespace_stats(self, name: str) -> Row:
        row = self._one(
            "SELECT COUNT(*) AS total_workflows,"
            " COUNT(CASE WHEN status = 'RUNNING' THEN 1 END) AS running,"
            " COUNT(CASE WHEN status = 'PENDING' THEN 1 END) AS pending,"
            " COUNT(CASE WHEN status = 'COMPLETED' THEN 1 END) AS completed,"
            " COUNT(CASE WHEN status = 'FAILED' THEN 1 END) AS failed,"
            " (SELECT COUNT(*) FROM workflow_schedules WHERE namespace = ?) AS schedules,"
            " (SELECT COUNT(*) FROM workflow_workers WHERE namespace = ?) AS workers"
            " FROM workflows WHERE namespace = ?", (name, name, name))
        assert row is not None
        return row

    def insert_worker(self, row: Mapping[str, Any]) -> None:
        self._insert("workflow_workers", row, WORKER_COLUMNS,
                     "ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat")

    def touch_worker(self, worker_id: str, now: float) -> bool:
        return self._count("UPDATE workflow_workers SET last_heartbeat = ? WHERE id = ?",
                           (now, worker_id)) == 1

    def get_worker(self, worker_id: str) -> Row | None:
        return self._one("SELECT * FROM workflow_workers WHERE id = ?", (worker_id,))

    def list_workers(self, namespace: str | None, *, seen_since: float | None = None) -> list[Row]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        if seen_since is not None:
            where.append("last_heartbeat >= ?")
            params.append(seen_since)
        return self._all("SELECT * FROM workflow_workers WHERE " + " AND ".join(where) +
                         " ORDER BY registered_at, id", params)

    def dead_workers(self, cutoff: float) -> list[str]:
        return [r["id"] for r in self._all(
            "SELECT id FROM workflow_workers WHERE last_heartbeat < ? ORDER BY id", (cutoff,))]

    def delete_workers(self, worker_ids: Sequence[str]) -> None:
        ids = list(worker_ids)
        for start in range(0, len(ids), 500):
            match, params = self._in("id", ids[start:start + 500])
            self._x(f"DELETE FROM workflow_workers WHERE {match}", params)

    def oldest_worker_heartbeat(self) -> float | None:
        return _float(self._scalar("SELECT MIN(last_heartbeat) FROM workflow_workers"))

    def queue_stats(self, namespace: str, seen_since: float) -> list[Row]:
        return self._all(
            "SELECT q.queue AS queue,"
            " (SELECT COUNT(*) FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            "   WHERE a.task_queue = q.queue AND a.status = 'PENDING' AND w.namespace = ?)"
            "   AS pending_activities,"
            " (SELECT COUNT(*) FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            "   WHERE a.task_queue = q.queue AND a.status = 'RUNNING' AND w.namespace = ?)"
            "   AS running_activities,"
            " (SELECT COUNT(*) FROM workflow_workers k WHERE k.task_queue = q.queue"
            "   AND k.namespace = ? AND k.last_heartbeat >= ?) AS workers"
            " FROM (SELECT DISTINCT a.task_queue AS queue FROM workflow_activities a"
            "       JOIN workflows w ON w.id = a.workflow_id WHERE w.namespace = ?"
            "       UNION SELECT task_queue FROM workflow_workers WHERE namespace = ?"
            "       AND last_heartbeat >= ?) q"
            " ORDER BY q.queue",
            (namespace, namespace, namespace, seen_since, namespace, namespace, seen_since))

    def insert_api_key(self, key_hash: str, prefix: str, label: str | None, now: float) -> None:
        self._x("INSERT INTO api_keys (key_hash, prefix, label, created_at) "
                "VALUES (?, ?, ?, ?)", (key_hash, prefix, label, now))

    def list_api_keys(self) -> list[Row]:
        return self._all("SELECT prefix, label, created_at FROM api_keys ORDER BY created_at")

    def api_key_hashes(self, prefix: str) -> list[str]:
        return [r["key_hash"] for r in self._all(
            "SELECT key_hash FROM api_keys WHERE prefix = ?", (prefix,))]
