"""The engine core: every engine operation as one synchronous method of :class:`Engine`.

Plain Python, no HTTP and no SQL. Each public method is one store transaction: it builds an
:class:`~bridge.engine.op.Op` (transaction, ``now`` from the injected clock, settings),
calls one step in :mod:`bridge.engine.ops`, commits, and only then delivers the collected
notifications. A transaction that fails with a retryable :class:`~bridge.errors.StoreError`
(lock contention) is retried a few times with a short backoff.

Where the rules live: :mod:`bridge.engine.ops.dispatch` (workflow-task claim, leases, the
commands), :mod:`~bridge.engine.ops.workflows`, :mod:`~bridge.engine.ops.activities`,
:mod:`~bridge.engine.ops.timers_signals`, :mod:`~bridge.engine.ops.schedules`,
:mod:`~bridge.engine.ops.workers`, :mod:`~bridge.engine.ops.namespaces`.

Records come back in wire shape (plain dicts ready for JSON, engine-api §2.4); errors are the
:class:`~bridge.errors.EngineError` subclasses that ``bridge.engine.api.errors`` maps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bridge.engine.clock import Clock, SystemClock
from bridge.engine.observe import NullObserver, Observer
from bridge.engine.op import Op
from bridge.engine.settings import Settings
from bridge.engine.history import HistoryCache
from bridge.engine.live import LiveWorkflows
from bridge.engine.notify import Notifier, NullNotifier, deliver, shared_notices
from bridge.engine.ops import (
    activities,
    api_keys,
    dispatch,
    namespaces,
    schedules,
    timers_signals,
    workers,
)
from bridge.engine.ops import workflows as wf_ops
from bridge.engine.records import optional_json_text
from bridge.engine.store import open_store
from bridge.engine.store.base import CAP_SEVERAL_INSTANCES, Store
from bridge.errors import StoreError
from bridge.wire import DEFAULT_NAMESPACE, DEFAULT_QUEUE

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts of a transaction that hits a retryable StoreError, and the first backoff.
TX_ATTEMPTS = 5
TX_BACKOFF_S = 0.01


#: Heartbeats of one worker closer together than this are written once (Engine.worker_heartbeat).
HEARTBEAT_COALESCE_S = 1.0


class Engine:
    """The workflow engine over one :class:`~bridge.engine.store.base.Store`.

    Args:
        store: an opened store (see :meth:`open` to build one from a URL).
        notifier: receives notifications after each commit (default: dropped).
        settings: core tunables.
        clock: the time source; tests inject a :class:`~bridge.engine.clock.FakeClock`.

    Thread-safe: every method opens its own transaction.
    """

    def __init__(self, store: Store, *, notifier: Notifier | None = None,
                 settings: Settings | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.notifier: Notifier = notifier or NullNotifier()
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        #: Told of every transaction and of what committed operations counted (metrics).
        self.observer: Observer = NullObserver()
        self._ready_checked_at: float | None = None
        # only a store shared by several instances hands notices on (Tx.publish)
        self._publishes = CAP_SEVERAL_INSTANCES in store.capabilities
        #: Rendered histories of running workflows, for :meth:`poll_workflow_task`.
        self.histories = HistoryCache()
        #: Workflows known to be running (:meth:`known_running`); None on a store that
        #: other instances write too.
        self.live: LiveWorkflows | None = None if self._publishes else LiveWorkflows()
        self._beats: dict[str, float] = {}  # worker id -> when this engine last wrote its beat
        self._served: dict[str, workers.Served] = {}  # worker id -> what it registered to serve

    @classmethod
    def open(cls, backend_url: str, *, notifier: Notifier | None = None,
             settings: Settings | None = None, clock: Clock | None = None,
             pool_size: int | None = None) -> Engine:
        """Open the store named by ``backend_url`` (creating or migrating its schema) and wrap
        it; ``pool_size`` bounds a PostgreSQL store's connections (see :func:`bridge.engine.store.open_store`)."""
        store = open_store(backend_url, pool_size=pool_size)
        store.open()
        return cls(store, notifier=notifier, settings=settings, clock=clock)

    def close(self) -> None:
        """Close the store. Idempotent."""
        self.store.close()

    # -- transaction plumbing ----------------------------------------------------------------
    def _run(self, fn: Callable[..., T], *args: Any, write: bool = True,
             now: float | None = None, one_statement: bool = False, **kwargs: Any) -> T:
        delay = TX_BACKOFF_S
        started = time.perf_counter()
        attempt = 0
        op: Op | None = None
        try:
            for attempt in range(1, TX_ATTEMPTS + 1):
                at = self.clock.now() if now is None else now
                try:
                    with (self.store.transaction(write=write, one_statement=True)
                          if one_statement else self.store.transaction(write=write)) as tx:
                        op = Op(tx=tx, now=at, settings=self.settings, live=self.live)
                        result = fn(op, *args, **kwargs)
                        if op.outbox and self._publishes:  # heard only if this commits
                            shared = shared_notices(op.outbox)
                            if shared:
                                tx.publish(shared)
                except StoreError as exc:
                    _rolled_back(op)
                    if not exc.retryable or attempt == TX_ATTEMPTS:
                        raise
                    logger.info("retrying %s after %s (attempt %d)", fn.__name__, exc, attempt)
                    time.sleep(delay)
                    delay *= 2
                    continue
                self.observer.transaction(fn.__name__, time.perf_counter() - started, attempt,
                                          True)
                if op.outbox:
                    deliver(self.notifier, op.outbox)
                if op.counts:
                    self.observer.counted(op.counts)
                return result
        except BaseException:
            _rolled_back(op)
            self.observer.transaction(fn.__name__, time.perf_counter() - started, attempt, False)
            raise
        raise AssertionError("unreachable")

    def known_running(self, workflow_id: str) -> bool:
        """True if this engine started the workflow and has not finished it (a transaction
        doing either may still be open): a ``/wait`` subscribed to its terminal notice may
        block without reading it first (:mod:`bridge.engine.live`). False when unknown."""
        return self.live is not None and workflow_id in self.live

    def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._run(fn, *args, write=False, **kwargs)

    # -- workflows ---------------------------------------------------------------------------
    def start_workflow(self, *, workflow_type: str, workflow_id: str, input: Any = None,
                       task_queue: str = DEFAULT_QUEUE, namespace: str | None = DEFAULT_NAMESPACE
                       ) -> dict[str, Any]:
        """Start a workflow: ``{workflow_id, run_id, status: "PENDING"}``; 409 if the id exists."""
        return self._run(wf_ops.start_workflow, workflow_type=workflow_type,
                         workflow_id=workflow_id, input_text=optional_json_text(input),
                         task_queue=task_queue, namespace=namespace or DEFAULT_NAMESPACE)

    def get_workflow(self, workflow_id: str, *, waiting_on: bool = True) -> dict[str, Any]:
        """One WorkflowRecord with ``waiting_on``; :class:`~bridge.errors.WorkflowNotFoundError`
        if unknown. ``waiting_on=False``: a live workflow's record comes without it, read in
        one statement (for callers that only look at the status)."""
        # without waiting_on: one SELECT (a finished workflow's waiting_on is [] unread)
        return self._read(wf_ops.get_workflow, workflow_id, waiting_on=waiting_on,
                          one_statement=not waiting_on)

    def list_workflows(self, *, namespace: str = DEFAULT_NAMESPACE, status: str | None = None,
                       workflow_type: str | None = None, limit: int = 50, offset: int = 0,
                       stalled: bool = False) -> list[dict[str, Any]]:
        """WorkflowRecords of a namespace, newest first; ``stalled``: only those waiting on a
        type or activity that no live worker serves."""
        return self._read(wf_ops.list_workflows, namespace=namespace, status=status,
                          workflow_type=workflow_type, limit=limit, offset=offset,
                          stalled=stalled)

    def list_events(self, workflow_id: str) -> list[dict[str, Any]]:
        """History events with payloads as JSON text; ``[]`` for an unknown workflow."""
        return self._read(wf_ops.list_events, workflow_id)

    def list_children(self, workflow_id: str) -> list[dict[str, Any]]:
        """The workflow's children, oldest first."""
        return self._read(wf_ops.list_children, workflow_id)

    def signal_workflow(self, workflow_id: str, name: str, payload: Any = None) -> None:
        """Send a signal; 404 for an unknown workflow, 409 for a finished one."""
        self._run(timers_signals.signal_workflow, workflow_id, name, payload)

    def cancel_workflow(self, workflow_id: str) -> None:
        """Request cancellation (two-phase, cascades to children); 404 if unknown or finished."""
        self._run(wf_ops.cancel_workflow, workflow_id)

    def terminate_workflow(self, workflow_id: str, reason: str | None = None) -> None:
        """Terminate at once (FAILED); 404 if unknown or finished."""
        self._run(wf_ops.terminate_workflow, workflow_id, reason)

    def continue_as_new(self, workflow_id: str, input: Any = None) -> dict[str, Any]:
        """Close the run and start ``{id}-continued-{secs}``; the start result of the new run."""
        return self._run(wf_ops.continue_as_new, workflow_id, optional_json_text(input))

    # -- workflow tasks ----------------------------------------------------------------------
    def poll_workflow_task(self, *, queue: str, worker_id: str) -> str | None:
        """Claim a workflow task: the JSON text of ``{workflow_id, namespace, workflow_type,
        task_queue, input, history}`` (what the HTTP API sends), or None when idle. The history
        is rendered incrementally (bridge.engine.history)."""
        types = self.served_by(worker_id).workflows
        return self._run(dispatch.poll_workflow_task, queue, worker_id, self.histories,
                         None if types is None else sorted(types))

    def poll_workflow_task_or_activity(self, *, queue: str, worker_id: str
                                       ) -> tuple[str | None, bool]:
        """:meth:`poll_workflow_task`; when it finds none, also whether an activity task the
        worker serves is claimable on ``queue`` (:meth:`has_ready_activity`), in the same
        transaction: ``(task, activity_ready)``. What a held poll asks on each turn."""
        types = self.served_by(worker_id).workflows
        return self._run(dispatch.poll_or_see_activity, queue, worker_id, self.histories,
                         None if types is None else sorted(types),
                         self._activity_names(worker_id))

    def ready_tasks(self, *, queue: str, worker_id: str) -> tuple[bool, bool]:
        """``(workflow_task, activity)``: whether :meth:`poll_workflow_task` would find a task
        for ``worker_id`` on ``queue`` now, and whether an activity it serves is claimable
        there. One statement, no write lock: how a held poll asks before it claims, so an
        idle turn costs a read instead of a write transaction."""
        types = self.served_by(worker_id).workflows
        return self._read(dispatch.ready_tasks, queue, None if types is None else sorted(types),
                          self._activity_names(worker_id), one_statement=True)

    def submit_commands(self, workflow_id: str, *, worker_id: str,
                        commands: list[dict[str, Any]]) -> None:
        """Apply a worker's commands and release its lease (400 unknown type, 409 lease lost)."""
        self._run(dispatch.submit_commands, workflow_id, worker_id, commands)

    # -- activities --------------------------------------------------------------------------
    def schedule_activity(self, workflow_id: str, *, name: str, seq: int, task_queue: str,
                          input: Any = None, max_attempts: int | None = None,
                          initial_interval_secs: float | None = None,
                          backoff_coefficient: float | None = None,
                          start_to_close_secs: float | None = None,
                          heartbeat_timeout_secs: float | None = None) -> dict[str, Any]:
        """Schedule an activity directly (idempotent per seq): the WorkflowActivity."""
        return self._run(activities.schedule_activity, workflow_id, name=name, seq=seq,
                         task_queue=task_queue, input=input, max_attempts=max_attempts,
                         initial_interval_secs=initial_interval_secs,
                         backoff_coefficient=backoff_coefficient,
                         start_to_close_secs=start_to_close_secs,
                         heartbeat_timeout_secs=heartbeat_timeout_secs)

    def get_activity(self, activity_id: int) -> dict[str, Any]:
        """One WorkflowActivity; :class:`~bridge.errors.NotFoundError` if unknown."""
        return self._read(activities.get_activity, activity_id)

    def poll_activity_task(self, *, queue: str, worker_id: str) -> dict[str, Any] | None:
        """Claim the oldest ready activity on ``queue``, or None."""
        return self._run(activities.poll_activity_task, queue, worker_id,
                         self._activity_names(worker_id), one_statement=True)  # the claim

    def has_ready_activity(self, queue: str, *, worker_id: str | None = None) -> bool:
        """True if an activity on ``queue`` is claimable now (by ``worker_id`` when given: one
        of the names it serves). A cheap read."""
        now = self.clock.now()
        names = None if worker_id is None else self._activity_names(worker_id)
        return self._read(lambda op: bool(op.tx.has_ready_activity(queue, now, names)))

    def _activity_names(self, worker_id: str) -> list[str] | None:
        names = self.served_by(worker_id).activities
        return None if names is None else sorted(names)

    def complete_activity(self, activity_id: int, result: Any = None) -> None:
        """Record an activity's result (a no-op if it already finished)."""
        self._run(activities.complete_activity, activity_id, result)

    def fail_activity(self, activity_id: int, error: str) -> None:
        """Record a failed attempt; retried after its backoff or failed for good."""
        self._run(activities.fail_activity, activity_id, error)

    def heartbeat_activity(self, activity_id: int, details: Any = None) -> None:
        """Record an activity heartbeat."""
        self._run(activities.heartbeat_activity, activity_id, details)

    # -- workers and queues ------------------------------------------------------------------
    def register_worker(self, *, identity: str, queue: str, namespace: str = DEFAULT_NAMESPACE,
                        workflows: list[str] | None = None, activities: list[str] | None = None,
                        max_concurrent_workflows: int = 10,
                        max_concurrent_activities: int = 10) -> str:
        """Register a worker and return its id ``w-<16 hex>``."""
        worker_id = self._run(workers.register_worker, identity=identity, queue=queue,
                              namespace=namespace, workflows=workflows, activities=activities,
                              max_concurrent_workflows=max_concurrent_workflows,
                              max_concurrent_activities=max_concurrent_activities)
        self._remember_served(worker_id, workers.served_by({
            "workflows": optional_json_text(workflows),
            "activities": optional_json_text(activities)}))
        return worker_id

    def served_by(self, worker_id: str) -> workers.Served:
        """What ``worker_id`` registered to serve (cached: a registration never changes; a
        worker registered through another instance is read once)."""
        served = self._served.get(worker_id)
        if served is None:
            served = self._read(workers.lookup_served, worker_id)
            self._remember_served(worker_id, served)
        return served

    def _remember_served(self, worker_id: str, served: workers.Served) -> None:
        if len(self._served) >= 10_000:
            self._served.clear()
        self._served[worker_id] = served

    def worker_heartbeat(self, worker_id: str) -> None:
        """Record a worker heartbeat (unknown ids are ignored).

        workflow.lua beats at the top of every poll-loop turn, three times per one-activity
        workflow. A beat within :data:`HEARTBEAT_COALESCE_S` of the last one this engine wrote
        for the worker is not written again (liveness is judged in tens of seconds).
        """
        now = self.clock.now()
        last = self._beats.get(worker_id)
        if last is not None and 0 <= now - last < HEARTBEAT_COALESCE_S:
            return
        self._run(workers.worker_heartbeat, worker_id, now=now, one_statement=True)
        if len(self._beats) >= 10_000:
            self._beats.clear()
        self._beats[worker_id] = now

    def list_workers(self, *, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        """WorkflowWorkers of a namespace."""
        return self._read(workers.list_workers, namespace)

    def queue_depths(self) -> list[dict[str, Any]]:
        """What waits for a worker on each queue (every namespace): ``[{queue, kind, count,
        oldest}]``; see :meth:`bridge.engine.store.base.Tx.queue_depths`."""
        now = self.clock.now()
        return self._read(lambda op: [dict(r) for r in op.tx.queue_depths(now)])

    def list_queues(self, *, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        """Queue statistics of a namespace."""
        return self._read(workers.list_queues, namespace)

    # -- schedules ---------------------------------------------------------------------------
    def create_schedule(self, *, name: str, workflow_type: str, cron_expr: str,
                        namespace: str = DEFAULT_NAMESPACE, input: Any = None, task_queue: str = DEFAULT_QUEUE,
                        overlap_policy: str = "skip") -> dict[str, Any]:
        """Create a cron schedule (400 for a bad expression, 409 for a duplicate)."""
        return self._run(schedules.create_schedule, name=name, workflow_type=workflow_type,
                         cron_expr=cron_expr, namespace=namespace, input=input,
                         task_queue=task_queue, overlap_policy=overlap_policy)

    def list_schedules(self, *, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        """Schedules of a namespace by name."""
        return self._read(schedules.list_schedules, namespace)

    def get_schedule(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
        """One schedule; 404 if unknown."""
        return self._read(schedules.get_schedule, name, namespace)

    def delete_schedule(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Delete a schedule; 404 if unknown."""
        self._run(schedules.delete_schedule, name, namespace)

    def pause_schedule(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
        """Pause a schedule; the updated schedule."""
        return self._run(schedules.pause_schedule, name, namespace)

    def resume_schedule(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
        """Resume a schedule from its next matching time; the updated schedule."""
        return self._run(schedules.resume_schedule, name, namespace)

    # -- namespaces and API keys -------------------------------------------------------------
    def create_namespace(self, name: str) -> None:
        """Create a namespace; 409 if it exists."""
        self._run(namespaces.create_namespace, name)

    def list_namespaces(self) -> list[dict[str, Any]]:
        """Every namespace by name."""
        return self._read(namespaces.list_namespaces)

    def namespace_stats(self, name: str) -> dict[str, Any]:
        """Counts of a namespace (zeros if unknown)."""
        return self._read(namespaces.namespace_stats, name)

    def delete_namespace(self, name: str) -> None:
        """Delete a namespace row; 404 for ``main`` or an unknown name."""
        self._run(namespaces.delete_namespace, name)

    def create_api_key(self, label: str | None = None) -> str:
        """Generate and store a new API key; the key is returned once and never stored."""
        return self._run(api_keys.create_api_key, label)

    def list_api_keys(self) -> list[dict[str, Any]]:
        """``[{prefix, label, created_at}]`` of the stored keys."""
        return self._read(api_keys.list_api_keys)

    def verify_api_key(self, key: str) -> bool:
        """True if ``key`` is a valid API key."""
        return self._read(api_keys.verify_api_key, key)

    # -- background work ---------------------------------------------------------------------
    def run_due(self, now: float | None = None) -> float | None:
        """Do all background work due at ``now`` (default: the clock) and return the next
        deadline (epoch seconds), or None when nothing is scheduled.

        In order, each kind in its own transactions of at most ``settings.batch_limit`` items:
        fire due timers; retry or fail activities past their start-to-close or heartbeat
        deadline; retry activities of dead workers and remove long-dead workers; release
        expired workflow-task leases; fire due cron schedules; announce activities whose retry
        backoff just ended.
        """
        at = self.clock.now() if now is None else now
        limit = self.settings.batch_limit
        for step in (timers_signals.fire_due_timers, activities.expire_timed_out,
                     activities.retry_dead_workers, dispatch.release_expired_leases,
                     schedules.fire_due_schedules):
            while self._run(step, limit, now=at) >= limit:
                pass
        self._run(lambda op: workers.remove_dead_workers(op), now=at)
        self._announce_ready(at)
        return self._read(self._next_deadline, now=at)

    def next_idle_deadline(self) -> float | None:
        """The earliest time background work is due (a timer, an activity's retry backoff or
        timeout, a cron schedule) when nothing is in hand: no live workflow has a workflow
        task ready or leased, or an activity ready or running. None when work is in hand or
        nothing is scheduled.

        What the time-skipping test clock of :mod:`bridge.testing` jumps to. Leases and worker
        liveness are left out: they are not time a workflow waits on.
        """
        def read(op: Op) -> float | None:
            tx = op.tx
            if tx.has_work_in_hand(op.now):
                return None
            values = [v for v in (tx.next_timer_at(), tx.next_activity_deadline(op.now),
                                  tx.next_schedule_at()) if v is not None]
            return min(values) if values else None
        return self._read(read)

    def _announce_ready(self, at: float) -> None:
        after = self._ready_checked_at if self._ready_checked_at is not None else float("-inf")

        def ready(op: Op) -> None:
            for row in op.tx.activities_becoming_ready(after, at):
                op.notify("activity_task", {"queue": row["task_queue"],
                                            "activity_id": row["id"]})
        self._run(ready, now=at, write=False)
        self._ready_checked_at = at

    @staticmethod
    def _next_deadline(op: Op) -> float | None:
        tx, now, s = op.tx, op.now, op.settings
        candidates: list[float | None] = [tx.next_timer_at(), tx.next_activity_deadline(now),
                                          tx.next_schedule_at()]
        lease = tx.oldest_lease_at()
        if lease is not None:
            candidates.append(lease + s.dispatch_timeout_s)
        beat = tx.oldest_worker_heartbeat()
        if beat is not None:
            for after in (s.worker_dead_after_s, workers.remove_after_s(op)):
                if beat + after > now:
                    candidates.append(beat + after)
                    break
        values = [c for c in candidates if c is not None]
        return min(values) if values else None


def _rolled_back(op: Op | None) -> None:
    """Forget the workflows an operation that did not commit had noted as running."""
    if op is not None and op.created and op.live is not None:
        op.live.forget(op.created)
