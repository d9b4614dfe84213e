"""Row-level steps of the SQLite store (:class:`SQLiteTx`), the contract of ``base.Tx``.

Every method runs inside the transaction opened by ``SQLiteStore.transaction``. Claims use a
single ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING *`` statement; under
``BEGIN IMMEDIATE`` there is one writer at a time, so a claim can never hand a row out twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.engine.store.base import (
    ACTIVITY_COLUMNS,
    SCHEDULE_COLUMNS,
    TERMINAL_STATUSES,
    WORKER_COLUMNS,
    WORKFLOW_COLUMNS,
    Notice,
    Row,
    checked_columns,
    iter_chunks,
)

_TERMINAL_SQL = "(" + ",".join(f"'{s}'" for s in TERMINAL_STATUSES) + ")"


def _one(cur: sqlite3.Cursor) -> Row | None:
    row = cur.fetchone()
    return dict(row) if row is not None else None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _all(cur: sqlite3.Cursor) -> list[Row]:
    return [dict(r) for r in cur.fetchall()]


class SQLiteTx:
    """One open SQLite transaction. See :class:`bridge.engine.store.base.Tx` for contracts."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def publish(self, notices: Sequence[Notice]) -> None:
        """Nothing to do: one engine instance serves a SQLite database (its instance lock)."""

    def _x(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def _insert(self, table: str, row: Mapping[str, Any], allowed: frozenset[str],
                conflict: str = "ON CONFLICT DO NOTHING") -> sqlite3.Cursor:
        names = checked_columns(row, allowed)
        sql = (f"INSERT INTO {table} ({', '.join(names)}) VALUES "
               f"({', '.join('?' for _ in names)}) {conflict}")
        return self._x(sql, [row[n] for n in names])

    def _update(self, table: str, where: str, key: Sequence[Any], fields: Mapping[str, Any],
                allowed: frozenset[str]) -> None:
        names = checked_columns(fields, allowed)
        if not names:
            return
        sets = ", ".join(f"{n} = ?" for n in names)
        self._x(f"UPDATE {table} SET {sets} WHERE {where}", [fields[n] for n in names] + list(key))

    # -- workflows ---------------------------------------------------------------------------
    def insert_workflow(self, row: Mapping[str, Any]) -> bool:
        return self._insert("workflows", row, WORKFLOW_COLUMNS).rowcount == 1

    def get_workflow(self, workflow_id: str, *, lock: bool = False) -> Row | None:
        return _one(self._x("SELECT * FROM workflows WHERE id = ?", (workflow_id,)))

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
        return _all(self._x(sql, [*params, limit, offset]))

    def list_children(self, parent_id: str) -> list[Row]:
        return _all(self._x("SELECT * FROM workflows WHERE parent_id = ? ORDER BY created_at, id",
                            (parent_id,)))

    def update_workflow(self, workflow_id: str, fields: Mapping[str, Any]) -> None:
        self._update("workflows", "id = ?", (workflow_id,), fields, WORKFLOW_COLUMNS)

    def claim_workflow_task(self, *, queue: str, worker_id: str, now: float) -> Row | None:
        return _one(self._x(
            "UPDATE workflows SET needs_dispatch = 0, dispatch_claimed_by = ?, "
            "dispatch_last_heartbeat = ? WHERE id = ("
            " SELECT id FROM workflows WHERE task_queue = ? AND needs_dispatch = 1"
            " AND dispatch_claimed_by IS NULL AND status NOT IN " + _TERMINAL_SQL +
            " ORDER BY updated_at, id LIMIT 1) RETURNING *", (worker_id, now, queue)))

    def expired_leases(self, cutoff: float, limit: int) -> list[Row]:
        return _all(self._x(
            "SELECT * FROM workflows WHERE dispatch_claimed_by IS NOT NULL AND "
            "dispatch_last_heartbeat < ? ORDER BY dispatch_last_heartbeat LIMIT ?", (cutoff, limit)))

    def oldest_lease_at(self) -> float | None:
        return _float(self._x("SELECT MIN(dispatch_last_heartbeat) FROM workflows "
                              "WHERE dispatch_claimed_by IS NOT NULL").fetchone()[0])

    # -- events ------------------------------------------------------------------------------
    def append_event(self, workflow_id: str, event_type: str, payload: str | None,
                     timestamp: float) -> Row:
        row = _one(self._x(
            "INSERT INTO workflow_events (workflow_id, seq, event_type, payload, timestamp) "
            "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_events WHERE workflow_id = ?),"
            " ?, ?, ?) RETURNING *", (workflow_id, workflow_id, event_type, payload, timestamp)))
        assert row is not None
        return row

    def list_events(self, workflow_id: str) -> list[Row]:
        return _all(self._x("SELECT * FROM workflow_events WHERE workflow_id = ? ORDER BY seq",
                            (workflow_id,)))

    def list_events_after(self, workflow_id: str, seq: int) -> list[Row]:
        """The workflow's events with ``seq`` above ``seq``, in order (the history cache's read)."""
        return _all(self._x("SELECT * FROM workflow_events WHERE workflow_id = ? AND seq > ? "
                            "ORDER BY seq", (workflow_id, seq)))

    # -- activities --------------------------------------------------------------------------
    def insert_activity(self, row: Mapping[str, Any]) -> int | None:
        cur = self._insert("workflow_activities", row, ACTIVITY_COLUMNS,
                           "ON CONFLICT DO NOTHING RETURNING id")
        got = cur.fetchone()
        return int(got[0]) if got is not None else None

    def get_activity(self, activity_id: int, *, lock: bool = False) -> Row | None:
        return _one(self._x("SELECT * FROM workflow_activities WHERE id = ?", (activity_id,)))

    def update_activity(self, activity_id: int, fields: Mapping[str, Any]) -> None:
        self._update("workflow_activities", "id = ?", (activity_id,), fields, ACTIVITY_COLUMNS)

    def list_activities(self, workflow_id: str, statuses: Sequence[str]) -> list[Row]:
        marks = ",".join("?" for _ in statuses)
        return _all(self._x(f"SELECT * FROM workflow_activities WHERE workflow_id = ? AND status "
                            f"IN ({marks}) ORDER BY seq", (workflow_id, *statuses)))

    def claim_activity_task(self, *, queue: str, worker_id: str, now: float) -> Row | None:
        return _one(self._x(
            "UPDATE workflow_activities SET status = 'RUNNING', claimed_by = ?, started_at = ?,"
            " last_heartbeat = NULL, timeout_at = CASE WHEN heartbeat_timeout_secs IS NOT NULL"
            " AND heartbeat_timeout_secs < start_to_close_secs THEN ? + heartbeat_timeout_secs"
            " ELSE ? + start_to_close_secs END"
            " WHERE id = (SELECT id FROM workflow_activities WHERE task_queue = ? AND"
            " status = 'PENDING' AND scheduled_at <= ? ORDER BY scheduled_at, id LIMIT 1)"
            " RETURNING *", (worker_id, now, now, now, queue, now)))

    def has_ready_activity(self, queue: str, now: float) -> bool:
        return self._x("SELECT 1 FROM workflow_activities WHERE task_queue = ? AND status = "
                       "'PENDING' AND scheduled_at <= ? LIMIT 1", (queue, now)).fetchone() is not None

    def timed_out_activities(self, now: float, limit: int) -> list[Row]:
        return _all(self._x("SELECT * FROM workflow_activities WHERE status = 'RUNNING' AND "
                            "timeout_at <= ? ORDER BY timeout_at LIMIT ?", (now, limit)))

    def activities_of_dead_workers(self, cutoff: float, limit: int) -> list[Row]:
        return _all(self._x(
            "SELECT a.* FROM workflow_activities a JOIN workflow_workers w ON w.id = a.claimed_by"
            " WHERE a.status = 'RUNNING' AND w.last_heartbeat < ?"
            " AND COALESCE(a.last_heartbeat, a.started_at) < ? ORDER BY a.id LIMIT ?",
            (cutoff, cutoff, limit)))

    def activities_becoming_ready(self, after: float, now: float) -> list[Row]:
        return _all(self._x("SELECT id, task_queue FROM workflow_activities WHERE status = "
                            "'PENDING' AND scheduled_at > ? AND scheduled_at <= ?", (after, now)))

    def next_activity_deadline(self, now: float) -> float | None:
        a = self._x("SELECT MIN(timeout_at) FROM workflow_activities WHERE status = 'RUNNING'"
                    ).fetchone()[0]
        b = self._x("SELECT MIN(scheduled_at) FROM workflow_activities WHERE status = 'PENDING'"
                    " AND scheduled_at > ?", (now,)).fetchone()[0]
        values = [v for v in (a, b) if v is not None]
        return min(values) if values else None

    # -- timers ------------------------------------------------------------------------------
    def insert_timer(self, workflow_id: str, seq: int, fire_at: float) -> int | None:
        got = self._x("INSERT INTO workflow_timers (workflow_id, seq, fire_at) VALUES (?, ?, ?) "
                      "ON CONFLICT DO NOTHING RETURNING id", (workflow_id, seq, fire_at)).fetchone()
        return int(got[0]) if got is not None else None

    def take_due_timers(self, now: float, limit: int) -> list[Row]:
        rows = _all(self._x("SELECT * FROM workflow_timers WHERE fired = 0 AND fire_at <= ? "
                            "ORDER BY fire_at, id LIMIT ?", (now, limit)))
        for chunk in iter_chunks([r["id"] for r in rows], 500):
            marks = ",".join("?" for _ in chunk)
            self._x(f"UPDATE workflow_timers SET fired = 1 WHERE id IN ({marks})", chunk)
        return rows

    def cancel_timers(self, workflow_id: str) -> int:
        return self._x("UPDATE workflow_timers SET fired = 1 WHERE workflow_id = ? AND fired = 0",
                       (workflow_id,)).rowcount

    def next_timer_at(self) -> float | None:
        return _float(self._x("SELECT MIN(fire_at) FROM workflow_timers WHERE fired = 0"
                              ).fetchone()[0])

    # -- signals and replay markers ----------------------------------------------------------
    def insert_signal(self, workflow_id: str, name: str, payload: str | None, now: float) -> None:
        self._x("INSERT INTO workflow_signals (workflow_id, name, payload, received_at) "
                "VALUES (?, ?, ?, ?)", (workflow_id, name, payload, now))

    def count_signals(self, workflow_id: str, name: str) -> int:
        return int(self._x("SELECT COUNT(*) FROM workflow_signals WHERE workflow_id = ? AND "
                           "name = ?", (workflow_id, name)).fetchone()[0])

    def insert_signal_wait(self, workflow_id: str, name: str, signal_count: int) -> bool:
        return self._x("INSERT INTO workflow_signal_waits (workflow_id, name, signal_count) "
                       "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       (workflow_id, name, signal_count)).rowcount == 1

    def insert_side_effect(self, workflow_id: str, seq: int) -> bool:
        return self._x("INSERT INTO workflow_side_effects (workflow_id, seq) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (workflow_id, seq)).rowcount == 1

    # -- schedules ---------------------------------------------------------------------------
    def insert_schedule(self, row: Mapping[str, Any]) -> bool:
        return self._insert("workflow_schedules", row, SCHEDULE_COLUMNS).rowcount == 1

    def get_schedule(self, namespace: str, name: str) -> Row | None:
        return _one(self._x("SELECT * FROM workflow_schedules WHERE namespace = ? AND name = ?",
                            (namespace, name)))

    def list_schedules(self, namespace: str) -> list[Row]:
        return _all(self._x("SELECT * FROM workflow_schedules WHERE namespace = ? ORDER BY name",
                            (namespace,)))

    def update_schedule(self, namespace: str, name: str, fields: Mapping[str, Any]) -> None:
        self._update("workflow_schedules", "namespace = ? AND name = ?", (namespace, name),
                     fields, SCHEDULE_COLUMNS)

    def delete_schedule(self, namespace: str, name: str) -> bool:
        return self._x("DELETE FROM workflow_schedules WHERE namespace = ? AND name = ?",
                       (namespace, name)).rowcount == 1

    def due_schedules(self, now: float, limit: int) -> list[Row]:
        return _all(self._x("SELECT * FROM workflow_schedules WHERE paused = 0 AND next_run_at "
                            "<= ? ORDER BY next_run_at, namespace, name LIMIT ?", (now, limit)))

    def next_schedule_at(self) -> float | None:
        return _float(self._x("SELECT MIN(next_run_at) FROM workflow_schedules WHERE paused = 0"
                              ).fetchone()[0])

    # -- namespaces, workers, queues, API keys ----------------------------------------------
    def insert_namespace(self, name: str, now: float) -> bool:
        return self._x("INSERT INTO namespaces (name, created_at) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (name, now)).rowcount == 1

    def list_namespaces(self) -> list[Row]:
        return _all(self._x("SELECT name, created_at FROM namespaces ORDER BY name"))

    def delete_namespace(self, name: str) -> bool:
        return self._x("DELETE FROM namespaces WHERE name = ?", (name,)).rowcount == 1

    def namespace_stats(self, name: str) -> Row:
        row = self._x(
            "SELECT COUNT(*) AS total_workflows,"
            " COALESCE(SUM(status = 'RUNNING'), 0) AS running,"
            " COALESCE(SUM(status = 'PENDING'), 0) AS pending,"
            " COALESCE(SUM(status = 'COMPLETED'), 0) AS completed,"
            " COALESCE(SUM(status = 'FAILED'), 0) AS failed"
            " FROM workflows WHERE namespace = ?", (name,)).fetchone()
        stats = dict(row)
        stats["schedules"] = self._x("SELECT COUNT(*) FROM workflow_schedules WHERE namespace = ?",
                                     (name,)).fetchone()[0]
        stats["workers"] = self._x("SELECT COUNT(*) FROM workflow_workers WHERE namespace = ?",
                                   (name,)).fetchone()[0]
        return stats

    def insert_worker(self, row: Mapping[str, Any]) -> None:
        self._insert("workflow_workers", row, WORKER_COLUMNS,
                     "ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat")

    def touch_worker(self, worker_id: str, now: float) -> bool:
        return self._x("UPDATE workflow_workers SET last_heartbeat = ? WHERE id = ?",
                       (now, worker_id)).rowcount == 1

    def list_workers(self, namespace: str) -> list[Row]:
        return _all(self._x("SELECT * FROM workflow_workers WHERE namespace = ? "
                            "ORDER BY registered_at, id", (namespace,)))

    def dead_workers(self, cutoff: float) -> list[str]:
        return [r[0] for r in self._x("SELECT id FROM workflow_workers WHERE last_heartbeat < ?",
                                      (cutoff,)).fetchall()]

    def delete_workers(self, worker_ids: Sequence[str]) -> None:
        for chunk in iter_chunks(list(worker_ids), 500):
            marks = ",".join("?" for _ in chunk)
            self._x(f"DELETE FROM workflow_workers WHERE id IN ({marks})", chunk)

    def oldest_worker_heartbeat(self) -> float | None:
        return _float(self._x("SELECT MIN(last_heartbeat) FROM workflow_workers").fetchone()[0])

    def queue_stats(self, namespace: str) -> list[Row]:
        rows = self._x(
            "SELECT q.queue AS queue,"
            " (SELECT COUNT(*) FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            "   WHERE a.task_queue = q.queue AND a.status = 'PENDING' AND w.namespace = ?)"
            "   AS pending_activities,"
            " (SELECT COUNT(*) FROM workflow_activities a JOIN workflows w ON w.id = a.workflow_id"
            "   WHERE a.task_queue = q.queue AND a.status = 'RUNNING' AND w.namespace = ?)"
            "   AS running_activities,"
            " (SELECT COUNT(*) FROM workflow_workers k WHERE k.task_queue = q.queue"
            "   AND k.namespace = ?) AS workers"
            " FROM (SELECT DISTINCT a.task_queue AS queue FROM workflow_activities a"
            "       JOIN workflows w ON w.id = a.workflow_id WHERE w.namespace = ?"
            "       UNION SELECT task_queue FROM workflow_workers WHERE namespace = ?) q"
            " ORDER BY q.queue", (namespace,) * 5)
        return _all(rows)

    def insert_api_key(self, key_hash: str, prefix: str, label: str | None, now: float) -> None:
        self._x("INSERT INTO api_keys (key_hash, prefix, label, created_at) VALUES (?, ?, ?, ?)",
                (key_hash, prefix, label, now))

    def list_api_keys(self) -> list[Row]:
        return _all(self._x("SELECT prefix, label, created_at FROM api_keys ORDER BY created_at"))

    def api_key_hashes(self, prefix: str) -> list[str]:
        return [r[0] for r in self._x("SELECT key_hash FROM api_keys WHERE prefix = ?",
                                      (prefix,)).fetchall()]
