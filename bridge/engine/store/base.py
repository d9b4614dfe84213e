"""The storage contract of the engine core: :class:`Store` and :class:`Tx`.

The core (``bridge.engine.core``) never writes SQL. It opens one transaction per engine
operation with :meth:`Store.transaction` and composes the row-level steps of :class:`Tx` inside
it, so every operation commits or rolls back as a whole (compat-policy: "every operation is one
transaction").

Rules every store must keep (``tests/engine/store/test_contract.py`` checks them):

* **Atomicity.** Everything done through one ``Tx`` commits together when the ``with`` block
  ends normally and is rolled back when it raises.
* **Write transactions are serialisable with respect to each other for the rows they touch.**
  SQLite gets this from ``BEGIN IMMEDIATE`` (one writer at a time); PostgreSQL must lock the
  rows it reads for update (``get_workflow(..., lock=True)``, ``FOR UPDATE SKIP LOCKED`` in the
  claims).
* **Claims are exclusive.** ``claim_workflow_task`` and ``claim_activity_task`` hand a given
  row to at most one caller, even under concurrent callers in different threads or processes.
* **Event seqs are dense and unique.** ``append_event`` assigns ``max(seq) + 1`` per workflow
  inside the transaction; ``(workflow_id, seq)`` is UNIQUE in the schema.
* **Values are opaque.** JSON columns (``input``, ``result``, ``payload``) are text chosen by the
  core; stores never parse them.
* **Rows are plain dicts** keyed by column name (engine-api §2.5 names); times are epoch floats.
* **Stores never read a clock.** Every time comes in as an argument.
* Driver errors are translated to :class:`~bridge.errors.StoreError` (``retryable=True`` for
  lock and serialisation conflicts) or :class:`~bridge.errors.StoreUnavailableError` (disk full,
  read-only database, lost server), always with the driver error as ``__cause__``.
* **Background work is claimed per row.** The steps ``run_due`` uses to find due work
  (``take_due_timers``, ``timed_out_activities``, ``activities_of_dead_workers``,
  ``expired_leases``, ``due_schedules``) hand each row to at most one open transaction at a
  time: a store that allows several engine instances on one database (capability
  ``several_instances``) locks the rows it returns and skips rows another transaction holds
  (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), so each timer, timeout, lease and cron tick is
  processed exactly once across instances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bridge import wire

Row = dict[str, Any]

#: Workflow statuses that are final (engine-api §2.1), in a fixed order for SQL.
TERMINAL_STATUSES: tuple[str, ...] = tuple(sorted(wire.TERMINAL_STATUSES))
#: Statuses of an activity that is done with: it is not claimed, retried or finished again.
FINISHED_ACTIVITY_STATUSES: tuple[str, ...] = ("CANCELLED", "COMPLETED", "FAILED")

#: Capabilities a store may declare in ``Store.capabilities``; tests skip only by capability.
CAP_INSTANCE_LOCK = "instance_lock"
#: Several engine instances may serve one database at once (claims lock rows, notices are
#: shared through :meth:`Store.listen` / :meth:`Tx.publish`).
CAP_SEVERAL_INSTANCES = "several_instances"
#: Transactions are local and take microseconds: the HTTP layer may run hot core calls on its
#: event loop instead of hopping to a thread (the SQLite store).
CAP_INLINE_CALLS = "inline_calls"

#: A notice kind :meth:`Store.listen` delivers when notices may have been missed (the listener
#: reconnected): everyone waiting should look again.
RESYNC = "resync"

Notice = tuple[wire.NoticeKind, dict[str, Any]]

#: Columns of each table that ``insert_*`` / ``update_*`` accept (engine-api §2.5 names plus
#: the corrections' extra columns). Stores check names against these before building SQL.
WORKFLOW_COLUMNS = frozenset({
    "id", "namespace", "run_id", "workflow_type", "task_queue", "status", "input", "result",
    "error", "parent_id", "origin_id", "claimed_by", "needs_dispatch", "dispatch_claimed_by",
    "dispatch_last_heartbeat", "created_at", "updated_at", "completed_at"})
ACTIVITY_COLUMNS = frozenset({
    "workflow_id", "seq", "name", "task_queue", "input", "status", "result", "error", "attempt",
    "max_attempts", "initial_interval_secs", "backoff_coefficient", "start_to_close_secs",
    "heartbeat_timeout_secs", "claimed_by", "scheduled_at", "started_at", "completed_at",
    "last_heartbeat", "timeout_at"})
SCHEDULE_COLUMNS = frozenset({
    "namespace", "name", "workflow_type", "cron_expr", "input", "task_queue", "overlap_policy",
    "paused", "last_run_at", "next_run_at", "last_workflow_id", "created_at"})
WORKER_COLUMNS = frozenset({
    "id", "namespace", "identity", "task_queue", "workflows", "activities",
    "max_concurrent_workflows", "max_concurrent_activities", "active_tasks", "last_heartbeat",
    "registered_at"})


def checked_columns(fields: Iterable[str], allowed: frozenset[str]) -> list[str]:
    """The column names ``fields`` gives (a row's keys), in order; ValueError naming any that
    ``allowed`` lacks."""
    names = list(fields)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"unknown column(s): {unknown}")
    return names


class Store(Protocol):
    """A database holding the engine's state."""

    #: Names of optional features this store supports (see ``CAP_*``).
    capabilities: frozenset[str]

    def open(self) -> None:
        """Connect and create or migrate the schema. Idempotent. Seeds namespace ``main``."""
        ...

    def close(self) -> None:
        """Release every connection (and the instance lock if held). Idempotent."""
        ...

    def transaction(self, write: bool = False, *,
                    one_statement: bool = False) -> AbstractContextManager[Tx]:
        """Open one transaction and yield its :class:`Tx`.

        Args:
            write: True for a transaction that may write. Write transactions are serialised
                against each other (see the module docstring); read transactions see a
                consistent snapshot and never block writers for long.
            one_statement: the caller promises to run at most one statement; a store may then
                run it as its own implicit transaction, without ``BEGIN`` and ``COMMIT`` (a
                single statement is atomic and sees one snapshot either way). A second
                statement is a programming error (``AssertionError``) on such a store.

        Commits when the block ends normally; rolls back when it raises, then re-raises.
        Transactions must not be nested on one thread.
        """
        ...

    def leads(self, role: str) -> bool:
        """True while this instance holds ``role`` among all instances on the database (one
        holder at a time; it keeps the role until it closes or dies). Always True on a store
        that serves one instance."""
        ...

    def acquire_instance_lock(self, instance_id: str, *, now: float, stale_after_s: float,
                              pid: int | None = None) -> bool:
        """Take the single-instance lock (capability ``instance_lock``).

        Succeeds when nobody holds it, when ``instance_id`` already holds it, when the holder's
        heartbeat is older than ``stale_after_s``, or when the holder's ``pid`` is a process that
        no longer exists on this host. Returns False when a live instance holds it.
        """
        ...

    def refresh_instance_lock(self, instance_id: str, *, now: float) -> bool:
        """Refresh the lock heartbeat; False if ``instance_id`` no longer holds it."""
        ...

    def release_instance_lock(self, instance_id: str) -> None:
        """Drop the lock if ``instance_id`` holds it. Idempotent."""
        ...

    def listen(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """Hear the notices other engine instances publish (capability ``several_instances``).

        From now until :meth:`close`, ``callback(kind, data)`` is called from a background
        thread for every notice another instance's committed transaction published with
        :meth:`Tx.publish` (never for this store's own). When notices may have been lost (the
        listening connection dropped and came back) it is called with :data:`RESYNC` and ``{}``.
        A single-instance store has nobody to hear and does nothing. Call at most once.
        """
        ...


class Tx(Protocol):
    """Row-level steps inside one open transaction. None of them commits."""

    def publish(self, notices: Sequence[Notice]) -> None:
        """Send ``notices`` to the other engine instances' :meth:`Store.listen` callbacks if,
        and only when, this transaction commits. A single-instance store does nothing."""
        ...

    # -- workflows ---------------------------------------------------------------------------
    def insert_workflow(self, row: Mapping[str, Any]) -> bool:
        """Insert a workflow row. Returns False (and changes nothing) if the id exists."""
        ...

    def get_workflow(self, workflow_id: str, *, lock: bool = False) -> Row | None:
        """The full workflow row (internal dispatch columns included), or None.

        ``lock=True`` locks the row until the transaction ends (a no-op where write
        transactions are already exclusive).
        """
        ...

    def list_workflows(self, *, namespace: str, status: str | None, workflow_type: str | None,
                       limit: int, offset: int) -> list[Row]:
        """Workflows of a namespace, newest ``created_at`` first, optionally filtered."""
        ...

    def list_children(self, parent_id: str) -> list[Row]:
        """Workflows whose ``parent_id`` is ``parent_id``, oldest first."""
        ...

    def update_workflow(self, workflow_id: str, fields: Mapping[str, Any]) -> None:
        """Set the given columns of one workflow. Unknown column names raise ValueError."""
        ...

    def wake_workflow(self, workflow_id: str) -> Row | None:
        """Set ``needs_dispatch = 1`` on a workflow that is not terminal and return the row as
        it is after that (locked for this transaction); None if there is no such workflow or
        it is terminal (then nothing changes)."""
        ...

    def claim_workflow_task(self, *, queue: str, worker_id: str, now: float,
                            types: Sequence[str] | None = None,
                            start: bool = False) -> Row | None:
        """Atomically claim the dispatchable workflow on ``queue`` with the smallest updated_at,
        of one of ``types`` when given (None: any type).

        Candidates: ``needs_dispatch = 1``, no lease, status not terminal. The claimed row gets
        ``needs_dispatch = 0``, ``dispatch_claimed_by = worker_id``,
        ``dispatch_last_heartbeat = now`` and is returned as it is after the claim. With
        ``start``, a ``PENDING`` workflow also becomes ``RUNNING`` with ``updated_at = now``, in
        the same statement. Exclusive: two concurrent claims never return the same workflow.
        """
        ...

    def release_workflow_task(self, workflow_id: str) -> Row | None:
        """Drop the workflow's task lease (``dispatch_claimed_by`` and
        ``dispatch_last_heartbeat`` become NULL) and return the row as it is after that, or
        None if there is no such workflow."""
        ...

    def expired_leases(self, cutoff: float, limit: int) -> list[Row]:
        """Workflows holding a lease whose ``dispatch_last_heartbeat < cutoff``, locked for this
        transaction (rows another transaction holds are skipped)."""
        ...

    def oldest_lease_at(self) -> float | None:
        """The smallest ``dispatch_last_heartbeat`` among held leases, or None."""
        ...

    # -- events ------------------------------------------------------------------------------
    def append_event(self, workflow_id: str, event_type: str, payload: str | None,
                     timestamp: float) -> Row:
        """Append an event with seq ``max(seq) + 1`` (1 for the first) and return its row."""
        ...

    def list_events(self, workflow_id: str) -> list[Row]:
        """Every event of a workflow ordered by seq, in one query."""
        ...

    def list_events_after(self, workflow_id: str, seq: int) -> list[Row]:
        """The workflow's events with ``seq`` above ``seq``, ordered by seq (the history
        cache's read)."""
        ...

    # -- activities --------------------------------------------------------------------------
    def insert_activity(self, row: Mapping[str, Any]) -> int | None:
        """Insert an activity; return its new integer id, or None if (workflow_id, seq) exists.

        Idempotent on (workflow_id, seq): a repeat changes nothing.
        """
        ...

    def get_activity(self, activity_id: int, *, lock: bool = False) -> Row | None:
        """One activity row, or None."""
        ...

    def update_activity(self, activity_id: int, fields: Mapping[str, Any]) -> None:
        """Set the given columns of one activity. Unknown column names raise ValueError."""
        ...

    def finish_activity(self, activity_id: int, fields: Mapping[str, Any]) -> Row | None:
        """Set the given columns of one activity that is not finished (COMPLETED, FAILED or
        CANCELLED) and return the row as it is after that; None if there is no such activity
        or it is finished (then nothing changes). Unknown column names raise ValueError."""
        ...

    def list_activities(self, workflow_id: str, statuses: Sequence[str]) -> list[Row]:
        """Activities of a workflow with one of ``statuses``, by seq (locked in a write
        transaction, so a concurrent claim cannot change them underneath)."""
        ...

    def claim_activity_task(self, *, queue: str, worker_id: str, now: float,
                            names: Sequence[str] | None = None) -> Row | None:
        """Atomically claim the PENDING activity on ``queue`` with ``scheduled_at <= now``,
        named one of ``names`` when given (None: any name).

        Oldest ``scheduled_at`` first (then id). Sets RUNNING, ``claimed_by``, ``started_at``,
        clears ``last_heartbeat`` and sets ``timeout_at`` to the earlier of start-to-close and
        heartbeat deadline. Exclusive like :meth:`claim_workflow_task`.
        """
        ...

    def has_ready_activity(self, queue: str, now: float,
                           names: Sequence[str] | None = None) -> bool:
        """True if a PENDING activity on ``queue`` (named one of ``names`` when given) is
        claimable at ``now``. One index probe."""
        ...

    def ready_tasks(self, queue: str, now: float, types: Sequence[str] | None = None,
                    names: Sequence[str] | None = None) -> tuple[bool, bool]:
        """``(workflow_task, activity)``: whether :meth:`claim_workflow_task` (of one of
        ``types``) would find a task on ``queue``, and whether :meth:`has_ready_activity` (of
        ``names``) is true, read in one statement that claims nothing and locks nothing. A row
        another transaction holds counts as ready: the claim itself decides."""
        ...

    def timed_out_activities(self, now: float, limit: int) -> list[Row]:
        """RUNNING activities whose ``timeout_at <= now``, locked (held rows skipped)."""
        ...

    def activities_of_dead_workers(self, cutoff: float, limit: int) -> list[Row]:
        """RUNNING activities claimed by a registered worker whose last heartbeat and whose own
        last sign of life (``last_heartbeat`` or ``started_at``) are both older than ``cutoff``;
        locked, held rows skipped."""
        ...

    def activities_becoming_ready(self, after: float, now: float) -> list[Row]:
        """PENDING activities with ``after < scheduled_at <= now`` (a backoff just ended)."""
        ...

    def next_activity_deadline(self, now: float) -> float | None:
        """The earliest RUNNING ``timeout_at`` or future PENDING ``scheduled_at``, or None."""
        ...

    # -- timers ------------------------------------------------------------------------------
    def insert_timer(self, workflow_id: str, seq: int, fire_at: float) -> int | None:
        """Insert a timer; its id, or None if (workflow_id, seq) exists (idempotent)."""
        ...

    def take_due_timers(self, now: float, limit: int) -> list[Row]:
        """Mark unfired timers with ``fire_at <= now`` fired and return them, oldest first.

        Exactly once: two concurrent callers never both get the same timer."""
        ...

    def cancel_timers(self, workflow_id: str) -> int:
        """Mark every unfired timer of the workflow fired (without an event). Returns count.

        A timer that a concurrent :meth:`take_due_timers` holds may be left to it (it fires,
        and the core then finds the workflow finished and writes no event)."""
        ...

    def next_timer_at(self) -> float | None:
        """The earliest unfired ``fire_at``, or None."""
        ...

    # -- signals and replay markers ----------------------------------------------------------
    def insert_signal(self, workflow_id: str, name: str, payload: str | None, now: float) -> None:
        """Record a received signal."""
        ...

    def count_signals(self, workflow_id: str, name: str) -> int:
        """How many signals named ``name`` the workflow has received."""
        ...

    def list_signal_waits(self, workflow_id: str) -> list[Row]:
        """``[{name, signal_count}]``: each signal name the workflow waited for, with the
        number of such signals it had received at its latest wait."""
        ...

    def queue_depths(self, now: float) -> list[Row]:
        """Per queue, what waits for a worker: ``[{queue, kind, count, oldest}]`` with kind
        ``activity`` (PENDING and ready at ``now``; ``oldest`` its ``scheduled_at``) or
        ``workflow_task`` (dispatchable and unleased; ``oldest`` its ``updated_at``)."""
        ...

    def list_open_timers(self, workflow_id: str) -> list[Row]:
        """``[{seq, fire_at}]`` of the workflow's unfired timers, soonest first."""
        ...

    def dispatch_waits(self, namespace: str, now: float) -> list[Row]:
        """What live workflows of a namespace wait for a worker to take:
        ``[{workflow_id, kind, name, task_queue}]`` with kind ``workflow_task`` (name: the
        workflow type; dispatchable and unleased) or ``activity`` (name: the activity; PENDING
        and ready at ``now``)."""
        ...

    def has_work_in_hand(self, now: float) -> bool:
        """True if a live workflow has work a worker holds or could take at ``now``: a workflow
        task that is dispatchable or leased, or an activity that is RUNNING or PENDING and
        ready at ``now``. False means every live workflow waits on time (timers, retry
        backoffs), on signals or on nothing (time skipping of ``bridge.testing``)."""
        ...

    def insert_signal_wait(self, workflow_id: str, name: str, signal_count: int) -> bool:
        """Record a wait for signal ``name`` after ``signal_count`` arrivals; False if known."""
        ...

    def insert_side_effect(self, workflow_id: str, seq: int) -> bool:
        """Record that side effect ``seq`` was recorded; False if it already was."""
        ...

    # -- schedules ---------------------------------------------------------------------------
    def insert_schedule(self, row: Mapping[str, Any]) -> bool:
        """Insert a schedule; False (nothing changed) if (namespace, name) exists."""
        ...

    def get_schedule(self, namespace: str, name: str) -> Row | None:
        """One schedule, or None."""
        ...

    def list_schedules(self, namespace: str) -> list[Row]:
        """Schedules of a namespace ordered by name."""
        ...

    def update_schedule(self, namespace: str, name: str, fields: Mapping[str, Any]) -> None:
        """Set the given columns of one schedule."""
        ...

    def delete_schedule(self, namespace: str, name: str) -> bool:
        """Delete one schedule; False if it did not exist."""
        ...

    def due_schedules(self, now: float, limit: int) -> list[Row]:
        """Unpaused schedules with ``next_run_at <= now``, earliest first, locked for this
        transaction (held rows skipped): a cron tick is fired by one transaction only."""
        ...

    def next_schedule_at(self) -> float | None:
        """The earliest ``next_run_at`` of an unpaused schedule, or None."""
        ...

    # -- namespaces, workers, queues, API keys ----------------------------------------------
    def insert_namespace(self, name: str, now: float) -> bool:
        """Create a namespace; False if it exists."""
        ...

    def list_namespaces(self) -> list[Row]:
        """``[{name, created_at}]`` ordered by name."""
        ...

    def delete_namespace(self, name: str) -> bool:
        """Delete the namespace row only; False if it did not exist."""
        ...

    def namespace_stats(self, name: str) -> Row:
        """Counts: total_workflows, running, pending, completed, failed, schedules, workers."""
        ...

    def insert_worker(self, row: Mapping[str, Any]) -> None:
        """Insert (or replace) a worker row."""
        ...

    def touch_worker(self, worker_id: str, now: float) -> bool:
        """Set ``last_heartbeat = now``; False if the worker is unknown."""
        ...

    def get_worker(self, worker_id: str) -> Row | None:
        """One worker row, or None."""
        ...

    def list_workers(self, namespace: str | None, *, seen_since: float | None = None) -> list[Row]:
        """Workers of a namespace (None: all) ordered by ``registered_at``; with
        ``seen_since``, only those whose ``last_heartbeat >= seen_since``."""
        ...

    def dead_workers(self, cutoff: float) -> list[str]:
        """Ids of workers whose ``last_heartbeat < cutoff``."""
        ...

    def delete_workers(self, worker_ids: Sequence[str]) -> None:
        """Delete worker rows."""
        ...

    def oldest_worker_heartbeat(self) -> float | None:
        """The smallest worker ``last_heartbeat``, or None."""
        ...

    def queue_stats(self, namespace: str, seen_since: float) -> list[Row]:
        """``[{queue, pending_activities, running_activities, workers}]`` sorted by queue;
        ``workers`` counts (and lists queues of) workers heard from since ``seen_since``."""
        ...

    def insert_api_key(self, key_hash: str, prefix: str, label: str | None, now: float) -> None:
        """Store an API key's hash."""
        ...

    def list_api_keys(self) -> list[Row]:
        """``[{prefix, label, created_at}]`` oldest first."""
        ...

    def api_key_hashes(self, prefix: str) -> list[str]:
        """Stored hashes of the keys with this display prefix."""
        ...


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Split ``items`` into slices of at most ``size`` (for IN lists with bound parameters)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
