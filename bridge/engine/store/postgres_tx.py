"""Row-level steps of the PostgreSQL store (:class:`PostgresTx`), the contract of ``base.Tx``.

Every method runs inside the transaction opened by ``PostgresStore.transaction``. In a write
transaction (READ COMMITTED):

* rows read in order to change them are locked ``FOR NO KEY UPDATE`` (it does not conflict
  with the foreign-key checks of inserts into child tables);
* claims and background-work queries lock with ``SKIP LOCKED`` inside one
  ``UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR NO KEY UPDATE SKIP LOCKED)) RETURNING *``
  or ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``: a row is handed to one transaction, and a
  row changed by a transaction that committed meanwhile is re-checked against the conditions;
* ``append_event`` first locks the workflow row, then computes ``max(seq) + 1`` in a new
  statement, whose snapshot sees every event committed before the lock was granted.

In a read transaction (REPEATABLE READ READ ONLY) no lock clause is added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow

from bridge.engine.store.base import (
    ACTIVITY_COLUMNS,
    SCHEDULE_COLUMNS,
    TERMINAL_STATUSES,
    WORKER_COLUMNS,
    WORKFLOW_COLUMNS,
    Notice,
    Row,
    checked_columns,
)

#: The LISTEN/NOTIFY channel engine instances share (per database).
NOTIFY_CHANNEL = "assay_bridge"
#: PostgreSQL refuses notice payloads of 8000 bytes or more; larger batches are split.
MAX_NOTIFY_BYTES = 7000

_TERMINAL_SQL = "(" + ",".join(f"'{s}'" for s in TERMINAL_STATUSES) + ")"
_LOCK = " FOR NO KEY UPDATE"
_CLAIM = " FOR NO KEY UPDATE SKIP LOCKED"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class PostgresTx:
    """One open PostgreSQL transaction. See :class:`bridge.engine.store.base.Tx`."""

    def __init__(self, conn: psycopg.Connection[DictRow], *, write: bool, origin: str) -> None:
        self.conn = conn
        self.write = write
        self.origin = origin
        self._locked: set[str] = set()  # workflow ids this transaction holds a row lock on

    # -- plumbing ----------------------------------------------------------------------------
    def _x(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[DictRow]:
        # bytes: the SQL is built from constants here, not LiteralString-typed
        return self.conn.execute(sql.encode(), params or None)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._x(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._x(sql, params).fetchall()]

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._x(sql, params).fetchone()
        return None if row is None else next(iter(row.values()))

    def _lock(self, clause: str = _LOCK) -> str:
        return clause if self.write else ""

    def _insert(self, table: str, row: Mapping[str, Any], allowed: frozenset[str],
                conflict: str = "ON CONFLICT DO NOTHING") -> psycopg.Cursor[DictRow]:
        names = checked_columns(row, allowed)
        sql = (f"INSERT INTO {table} ({', '.join(names)}) VALUES "
               f"({', '.join('%s' for _ in names)}) {conflict}")
        return self._x(sql, [row[n] for n in names])

    def _update(self, table: str, where: str, key: Sequence[Any], fields: Mapping[str, Any],
                allowed: frozenset[str]) -> None:
        names = checked_columns(fields, allowed)
        if not names:
            return
        sets = ", ".join(f"{n} = %s" for n in names)
        self._x(f"UPDATE {table} SET {sets} WHERE {where}", [fields[n] for n in names] + list(key))

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
            self._x("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload))

    # -- workflows ---------------------------------------------------------------------------
    def insert_workflow(self, row: Mapping[str, Any]) -> bool:
        inserted = self._insert("workflows", row, WORKFLOW_COLUMNS).rowcount == 1
        if inserted:
            self._locked.add(str(row["id"]))
        return inserted

    def get_workflow(self, workflow_id: str, *, lock: bool = False) -> Row | None:
        locking = lock and self.write
        row = self._one("SELECT * FROM workflows WHERE id = %s" + (_LOCK if locking else ""),
                        (workflow_id,))
        if locking and row is not None:
            self._locked.add(workflow_id)
        return row

    def list_workflows(self, *, namespace: str, status: str | None, workflow_type: str | None,
                       limit: int, offset: int) -> list[Row]:
        sql, params = "SELECT * FROM workflows WHERE namespace = %s", [namespace]
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        if workflow_type is not None:
            sql += " AND workflow_type = %s"
            params.append(workflow_type)
        sql += " ORDER BY created_at DESC, id LIMIT %s OFFSET %s"
        return self._all(sql, [*params, limit, offset])

    def list_children(self, parent_id: str) -> list[Row]:
        return self._all("SELECT * FROM workflows WHERE parent_id = %s ORDER BY created_at, id",
                         (parent_id,))

    def update_workflow(self, workflow_id: str, fields: Mapping[str, Any]) -> None:
        self._update("workflows", "id = %s", (workflow_id,), fields, WORKFLOW_COLUMNS)

    def claim_workflow_task(self, *, queue: str, worker_id: str, now: float) -> Row | None:
        row = self._one(
            "UPDATE workflows SET needs_dispatch = 0, dispatch_claimed_by = %s, "
            "dispatch_last_heartbeat = %s WHERE id = ("
            " SELECT id FROM workflows WHERE task_queue = %s AND needs_dispatch = 1"
            " AND dispatch_claimed_by IS NULL AND status NOT IN " + _TERMINAL_SQL +
            " ORDER BY updated_at, id LIMIT 1" + _CLAIM + ") RETURNING *",
            (worker_id, now, queue))
        if row is not None:
            self._locked.add(row["id"])
        return row

    def expired_leases(self, cutoff: float, limit: int) -> list[Row]:
        rows = self._all(
            "SELECT * FROM workflows WHERE dispatch_claimed_by IS NOT NULL AND "
            "dispatch_last_heartbeat < %s ORDER BY dispatch_last_heartbeat LIMIT %s"
            + self._lock(_CLAIM), (cutoff, limit))
        self._locked.update(r["id"] for r in rows)
        return rows

    def oldest_lease_at(self) -> float | None:
        return _float(self._scalar("SELECT MIN(dispatch_last_heartbeat) FROM workflows "
                                   "WHERE dispatch_claimed_by IS NOT NULL"))

    # -- events ------------------------------------------------------------------------------
    def append_event(self, workflow_id: str, event_type: str, payload: str | None,
                     timestamp: float) -> Row:
        if self.write and workflow_id not in self._locked:
            self._x("SELECT 1 FROM workflows WHERE id = %s" + _LOCK, (workflow_id,))
            self._locked.add(workflow_id)
        row = self._one(
            "INSERT INTO workflow_events (workflow_id, seq, event_type, payload, timestamp) "
            "VALUES (%s, (SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_events "
            "WHERE workflow_id = %s), %s, %s, %s) RETURNING *",
            (workflow_id, workflow_id, event_type, payload, timestamp))
        assert row is not None
        return row

    def list_events(self, workflow_id: str) -> list[Row]:
        return self._all("SELECT * FROM workflow_events WHERE workflow_id = %s ORDER BY seq",
                         (workflow_id,))

    # -- activities --------------------------------------------------------------------------
    def insert_activity(self, row: Mapping[str, Any]) -> int | None:
        got = self._insert("workflow_activities", row, ACTIVITY_COLUMNS,
                           "ON CONFLICT DO NOTHING RETURNING id").fetchone()
        return int(got["id"]) if got is not None else None

    def get_activity(self, activity_id: int, *, lock: bool = False) -> Row | None:
        return self._one("SELECT * FROM workflow_activities WHERE id = %s"
                         + (self._lock() if lock else ""), (activity_id,))

    def update_activity(self, activity_id: int, fields: Mapping[str, Any]) -> None:
        self._update("workflow_activities", "id = %s", (activity_id,), fields, ACTIVITY_COLUMNS)

    def list_activities(self, workflow_id: str, statuses: Sequence[str]) -> list[Row]:
        return self._all("SELECT * FROM workflow_activities WHERE workflow_id = %s AND "
                         "status = ANY(%s) ORDER BY seq" + self._lock(),
                         (workflow_id, list(statuses)))

    def claim_activity_task(self, *, queue: str, worker_id: str, now: float) -> Row | None:
        return self._one(
            "UPDATE workflow_activities SET status = 'RUNNING', claimed_by = %s, started_at = %s,"
            " last_heartbeat = NULL, timeout_at = CASE WHEN heartbeat_timeout_secs IS NOT NULL"
            " AND heartbeat_timeout_secs < start_to_close_secs THEN %s + heartbeat_timeout_secs"
            " ELSE %s + start_to_close_secs END"
            " WHERE id = (SELECT id FROM workflow_activities WHERE task_queue = %s AND"
            " status = 'PENDING' AND scheduled_at <= %s ORDER BY scheduled_at, id LIMIT 1"
            + _CLAIM + ") RETURNING *", (worker_id, now, now, now, queue, now))

    def has_ready_activity(self, queue: str, now: float) -> bool:
        return self._x("SELECT 1 FROM workflow_activities WHERE task_queue = %s AND status = "
                       "'PENDING' AND scheduled_at <= %s LIMIT 1", (queue, now)
                       ).fetchone() is not None

    def timed_out_activities(self, now: float, limit: int) -> list[Row]:
        return self._all("SELECT * FROM workflow_activities WHERE status = 'RUNNING' AND "
                         "timeout_at <= %s ORDER BY timeout_at LIMIT %s" + self._lock(_CLAIM),
                         (now, limit))

    def activities_of_dead_workers(self, cutoff: float, limit: int) -> list[Row]:
        return self._all(
            "SELECT a.* FROM workflow_activities a JOIN workflow_workers w ON w.id = a.claimed_by"
            " WHERE a.status = 'RUNNING' AND w.last_heartbeat < %s"
            " AND COALESCE(a.last_heartbeat, a.started_at) < %s ORDER BY a.id LIMIT %s"
            + self._lock(" FOR NO KEY UPDATE OF a SKIP LOCKED"), (cutoff, cutoff, limit))

    def activities_becoming_ready(self, after: float, now: float) -> list[Row]:
        return self._all("SELECT id, task_queue FROM workflow_activities WHERE status = "
                         "'PENDING' AND scheduled_at > %s AND scheduled_at <= %s", (after, now))

    def next_activity_deadline(self, now: float) -> float | None:
        a = self._scalar("SELECT MIN(timeout_at) FROM workflow_activities "
                         "WHERE status = 'RUNNING'")
        b = self._scalar("SELECT MIN(scheduled_at) FROM workflow_activities "
                         "WHERE status = 'PENDING' AND scheduled_at > %s", (now,))
        values = [float(v) for v in (a, b) if v is not None]
        return min(values) if values else None

    # -- timers ------------------------------------------------------------------------------
    def insert_timer(self, workflow_id: str, seq: int, fire_at: float) -> int | None:
        got = self._x("INSERT INTO workflow_timers (workflow_id, seq, fire_at) "
                      "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                      (workflow_id, seq, fire_at)).fetchone()
        return int(got["id"]) if got is not None else None

    def take_due_timers(self, now: float, limit: int) -> list[Row]:
        rows = self._all(
            "UPDATE workflow_timers SET fired = 1 WHERE id = ANY(ARRAY("
            " SELECT id FROM workflow_timers WHERE fired = 0 AND fire_at <= %s"
            " ORDER BY fire_at, id LIMIT %s" + _CLAIM + ")) RETURNING *", (now, limit))
        return sorted(rows, key=lambda r: (r["fire_at"], r["id"]))

    def cancel_timers(self, workflow_id: str) -> int:
        # SKIP LOCKED: a timer being fired right now is left to take_due_timers, whose
        # transaction then finds the workflow finished (it waits for our lock) and writes no
        # event. Waiting for it instead could deadlock (it holds the timer, we the workflow).
        return self._x("UPDATE workflow_timers SET fired = 1 WHERE id = ANY(ARRAY("
                       " SELECT id FROM workflow_timers WHERE workflow_id = %s AND fired = 0"
                       + _CLAIM + "))", (workflow_id,)).rowcount

    def next_timer_at(self) -> float | None:
        return _float(self._scalar("SELECT MIN(fire_at) FROM workflow_timers WHERE fired = 0"))

    # -- signals and replay markers ----------------------------------------------------------
    def insert_signal(self, workflow_id: str, name: str, payload: str | None, now: float) -> None:
        self._x("INSERT INTO workflow_signals (workflow_id, name, payload, received_at) "
                "VALUES (%s, %s, %s, %s)", (workflow_id, name, payload, now))

    def count_signals(self, workflow_id: str, name: str) -> int:
        return int(self._scalar("SELECT COUNT(*) FROM workflow_signals WHERE workflow_id = %s "
                                "AND name = %s", (workflow_id, name)))

    def insert_signal_wait(self, workflow_id: str, name: str, signal_count: int) -> bool:
        return self._x("INSERT INTO workflow_signal_waits (workflow_id, name, signal_count) "
                       "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                       (workflow_id, name, signal_count)).rowcount == 1

    def insert_side_effect(self, workflow_id: str, seq: int) -> bool:
        return self._x("INSERT INTO workflow_side_effects (workflow_id, seq) VALUES (%s, %s) "
                       "ON CONFLICT DO NOTHING", (workflow_id, seq)).rowcount == 1

    # -- schedules ---------------------------------------------------------------------------
    def insert_schedule(self, row: Mapping[str, Any]) -> bool:
        return self._insert("workflow_schedules", row, SCHEDULE_COLUMNS).rowcount == 1

    def get_schedule(self, namespace: str, name: str) -> Row | None:
        return self._one("SELECT * FROM workflow_schedules WHERE namespace = %s AND name = %s",
                         (namespace, name))

    def list_schedules(self, namespace: str) -> list[Row]:
        return self._all("SELECT * FROM workflow_schedules WHERE namespace = %s ORDER BY name",
                         (namespace,))

    def update_schedule(self, namespace: str, name: str, fields: Mapping[str, Any]) -> None:
        self._update("workflow_schedules", "namespace = %s AND name = %s", (namespace, name),
                     fields, SCHEDULE_COLUMNS)

    def delete_schedule(self, namespace: str, name: str) -> bool:
        return self._x("DELETE FROM workflow_schedules WHERE namespace = %s AND name = %s",
                       (namespace, name)).rowcount == 1

    def due_schedules(self, now: float, limit: int) -> list[Row]:
        return self._all("SELECT * FROM workflow_schedules WHERE paused = 0 AND next_run_at "
                         "<= %s ORDER BY next_run_at, namespace, name LIMIT %s"
                         + self._lock(" FOR UPDATE SKIP LOCKED"), (now, limit))

    def next_schedule_at(self) -> float | None:
        return _float(self._scalar("SELECT MIN(next_run_at) FROM workflow_schedules "
                                   "WHERE paused = 0"))

    # -- namespaces, workers, queues, API keys ----------------------------------------------
    def insert_namespace(self, name: str, now: float) -> bool:
        return self._x("INSERT INTO namespaces (name, created_at) VALUES (%s, %s) "
                       "ON CONFLICT DO NOTHING", (name, now)).rowcount == 1

    def list_namespaces(self) -> list[Row]:
        return self._all("SELECT name, created_at FROM namespaces ORDER BY name")

    def delete_namespace(self, name: str) -> bool:
        return self._x("DELETE FROM namespaces WHERE name = %s", (name,)).rowcount == 1

    def namespace_stats(self, name: str) -> Row:
        row = self._one(
            "SELECT COUNT(*) AS total_workflows,"
            " COUNT(*) FILTER (WHERE status = 'RUNNING') AS running,"
            " COUNT(*) FILTER (WHERE status = 'PENDING') AS pending,"
            " COUNT(*) FILTER (WHERE status = 'COMPLETED') AS completed,"
            " COUNT(*) FILTER (WHERE status = 'FAILED') AS failed,"
            " (SELECT COUNT(*) FROM workflow_schedules WHERE namespace = %s) AS schedules,"
            " (SELECT COUNT(*) FROM workflow_workers WHERE namespace = %s) AS workers"
            " FROM workflows WHERE namespace = %s", (name, name, name))
        assert row is not None
        return row

    def insert_worker(self, row: Mapping[str, Any]) -> None:
        self._insert("workflow_workers", row, WORKER_COLUMNS,
                     "ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat")

    def touch_worker(self, worker_id: str, now: float) -> bool:
        return self._x("UPDATE workflow_workers SET last_heartbeat = %s WHERE id = %s",
                       (now, worker_id)).rowcount == 1

    def list_workers(self, namespace: str) -> list[Row]:
        return self._all("SELECT * FROM workflow_workers WHERE namespace = %s "
                         "ORDER BY registered_at, id", (namespace,))

    def dead_workers(self, cutoff: float) -> list[str]:
        return [r["id"] for r in self._all(
            "SELECT id FROM workflow_workers WHERE last_heartbeat < %s ORDER BY id", (cutoff,))]

    def delete_workers(self, worker_ids: Sequence[str]) -> None:
        self._x("DELETE FROM workflow_workers WHERE id = ANY(%s)", (list(worker_ids),))

    def oldest_worker_heartbeat(self) -> float | None:
        return _float(self._scalar("SELECT MIN(last_heartbeat) FROM workflow_workers"))

    def queue_stats(self, namespace: str) -> list[Row]:
        return self._all(
            "SELECT q.queue AS queue,"
            " (SELECT COUNT(*) FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            "   WHERE a.task_queue = q.queue AND a.status = 'PENDING' AND w.namespace = %s)"
            "   AS pending_activities,"
            " (SELECT COUNT(*) FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            "   WHERE a.task_queue = q.queue AND a.status = 'RUNNING' AND w.namespace = %s)"
            "   AS running_activities,"
            " (SELECT COUNT(*) FROM workflow_workers k WHERE k.task_queue = q.queue"
            "   AND k.namespace = %s) AS workers"
            " FROM (SELECT DISTINCT a.task_queue AS queue FROM workflow_activities a"
            "       JOIN workflows w ON w.id = a.workflow_id WHERE w.namespace = %s"
            "       UNION SELECT task_queue FROM workflow_workers WHERE namespace = %s) q"
            " ORDER BY q.queue", (namespace,) * 5)

    def insert_api_key(self, key_hash: str, prefix: str, label: str | None, now: float) -> None:
        self._x("INSERT INTO api_keys (key_hash, prefix, label, created_at) "
                "VALUES (%s, %s, %s, %s)", (key_hash, prefix, label, now))

    def list_api_keys(self) -> list[Row]:
        return self._all("SELECT prefix, label, created_at FROM api_keys ORDER BY created_at")

    def api_key_hashes(self, prefix: str) -> list[str]:
        return [r["key_hash"] for r in self._all(
            "SELECT key_hash FROM api_keys WHERE prefix = %s", (prefix,))]
