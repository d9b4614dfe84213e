"""A whole workflow system inside a test: :class:`WorkflowEnvironment`.

It runs an engine in the test's process (:class:`bridge.Engine`) on a SQLite file in a
temporary directory, hands out workers and a client bound to it, and, with time skipping on
(the default), moves the engine's clock straight to the next timer, retry or schedule whenever
every workflow waits on time only (:mod:`bridge.testing.time_skipping`)::

    from bridge.testing import WorkflowEnvironment

    with WorkflowEnvironment() as env:
        env.worker("workflows.lua")
        env.client.start("Onboard", input={"user": "ann"}, workflow_id="onboard-1")
        assert env.client.result("onboard-1", timeout=30) == {...}

Leaving the block stops the workers, closes the engine and removes the directory.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from bridge.client import Client
from bridge.client.client import waits_text
from bridge.engine.embedded import EmbeddedEngine
from bridge.errors import ConfigError
from bridge.testing.time_skipping import SkippingClock, TimeSkipper
from bridge.worker import Worker
from bridge.worker.trampoline import ActivityHandler, WorkflowHandler
from bridge.wire import DEFAULT_QUEUE, TERMINAL_STATUSES

logger = logging.getLogger(__name__)

#: How long :meth:`WorkflowEnvironment.worker` waits for the worker to register.
REGISTER_TIMEOUT_S = 30.0
#: How long leaving the environment waits for each worker's poll loops to end.
STOP_TIMEOUT_S = 30.0
_WAIT_CHECK_S = 0.01
_NOT_STARTED = "the workflow environment is not started (or was closed)"
#: The kinds of wait :meth:`WorkflowEnvironment.wait_until_waiting` can wait for.
WAIT_KINDS = ("timer", "signal", "activity", "child", "workflow_task")


class WorkflowEnvironment:
    """An in-process engine, its workers and a client, for tests. A context manager.

    Args:
        time_skipping: skip the engine's clock to the next deadline whenever every live
            workflow waits on time only (no workflow task or activity ready or in hand).
            Time can always be moved on purpose with :meth:`sleep`.
        poll_wait_s: how long the engine holds an idle worker poll open.

    Attributes:
        clock: the engine's clock, wall time plus what was skipped.
    """

    def __init__(self, *, time_skipping: bool = True, poll_wait_s: float = 5.0) -> None:
        if not isinstance(time_skipping, bool):
            raise TypeError(f"time_skipping must be True or False, not {time_skipping!r}")
        self.time_skipping = time_skipping
        self.poll_wait_s = poll_wait_s
        self.clock = SkippingClock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._engine: EmbeddedEngine | None = None
        self._client: Client | None = None
        self._skipper: TimeSkipper | None = None
        self._workers: list[Worker] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> WorkflowEnvironment:
        """Open the engine (and start time skipping); :meth:`close` undoes it."""
        if self._engine is not None:
            raise RuntimeError("the workflow environment is already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="assay-bridge-test-")
        try:
            db = Path(self._tmp.name) / "engine.db"
            self._engine = EmbeddedEngine(f"sqlite:///{db}", clock=self.clock,
                                          poll_wait_s=self.poll_wait_s)
            self._client = Client(engine=self._engine)
            if self.time_skipping:
                self._skipper = TimeSkipper(self._engine.core, self.clock,
                                            self._engine.wake_due_runner)
                self._skipper.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the workers and time skipping, close the engine, remove the directory.
        Idempotent."""
        try:
            for worker in self._workers:
                worker.stop()
            if self._skipper is not None:
                self._skipper.stop()
            if self._engine is not None and not self._engine.closed:
                # held polls answer at once, so the loops see the stop; the engine stays
                # open until they end, so an activity in hand can still report its result
                self._engine.end_held_calls()
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for worker in self._workers:
                worker.join(max(0.0, deadline - time.monotonic()))
                if worker.is_alive():
                    logger.warning(
                        "a worker of the workflow environment was still running a task "
                        "%g s after the stop; its thread is left behind (an activity or "
                        "workflow that does not return)", STOP_TIMEOUT_S)
            if self._engine is not None:
                self._engine.close()
        finally:
            self._workers.clear()
            self._skipper = None
            self._engine = None
            self._client = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> WorkflowEnvironment:
        return self.start() if self._engine is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- what tests use ----------------------------------------------------------------------
    @property
    def engine(self) -> EmbeddedEngine:
        """The engine (:class:`bridge.Engine`); ``engine.core`` is the engine core."""
        if self._engine is None:
            raise RuntimeError(_NOT_STARTED)
        return self._engine

    @property
    def client(self) -> Client:
        """A :class:`bridge.Client` of the engine."""
        if self._client is None:
            raise RuntimeError(_NOT_STARTED)
        return self._client

    @property
    def directory(self) -> Path:
        """The temporary directory of the engine's database (removed on close)."""
        if self._tmp is None:
            raise RuntimeError(_NOT_STARTED)
        return Path(self._tmp.name)

    def now(self) -> float:
        """The engine's time (epoch seconds): wall time plus what was skipped."""
        return self.clock.now()

    def worker(
        self,
        lua: str | Path | Sequence[str | Path] | None = None,
        *,
        queue: str = DEFAULT_QUEUE,
        handlers: Worker | None = None,
        workflows: Mapping[str, WorkflowHandler] | None = None,
        activities: Mapping[str, ActivityHandler] | None = None,
        setup: Callable[[Worker], None] | None = None,
        **options: Any,
    ) -> Worker:
        """Start a worker on the engine and return it once it has registered.

        Args:
            lua: a Lua file (or several, or Lua source text) defining workflows and activities
                (``workflow.define`` / ``workflow.activity``); its ``workflow.connect`` and
                ``workflow.listen`` calls point it at this engine.
            queue: the task queue it polls.
            handlers: a :class:`bridge.Worker` built elsewhere (an application's module-level
                worker and its decorators): its Python workflows and activities and the Lua it
                loaded are served; its URL is not used.
            workflows: Python workflows by type, ``fn(ctx, input) -> result``.
            activities: Python activities by name, ``fn(ctx, input) -> result``.
            setup: called with the worker before it starts, to register more with its
                decorators (``@w.workflow(...)``, ``@w.activity(...)``) or ``w.load_lua``.
            options: further :class:`bridge.Worker` arguments (``concurrency``,
                ``search_paths``, ``globals_off``, ``log_stderr``...).

        The worker is stopped when the environment closes.

        Raises:
            TypeError: an argument of the wrong kind (``handlers`` is a Worker; Python
                functions by name go in ``workflows`` or ``activities``).
        """
        _check_worker_arguments(lua, handlers, workflows, activities)
        if handlers is not None:
            options.setdefault("search_paths", list(handlers.search_paths))
        worker = Worker(engine=self.engine, queue=queue, **options)
        if handlers is not None:
            for name, wf in handlers._workflows.items():
                worker.workflow(name)(wf)
            for name, act in handlers._activities.items():
                worker.activity(name)(act)
            for src in handlers._lua:
                worker.load_lua(src.path if src.path is not None else src.source or "",
                                chunk_name=src.chunk_name)
        for item in _lua_items(lua):
            worker.load_lua(item)
        for name, wf in (workflows or {}).items():
            worker.workflow(name)(wf)
        for name, act in (activities or {}).items():
            worker.activity(name)(act)
        if setup is not None:
            setup(worker)
        worker.start()
        self._workers.append(worker)
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while not worker.wait_registered(0.05):
            if worker.errors:  # a Lua file that fails to load, a bad handler
                raise worker.errors[0]
            if time.monotonic() > deadline:
                raise ConfigError(f"the worker did not register within {REGISTER_TIMEOUT_S:g} s")
        return worker

    def wait_until_waiting(self, workflow_id: str, kind: str = "timer", *,
                           timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until the workflow waits on something of ``kind`` (``timer``, ``signal``,
        ``activity``, ``child``, ``workflow_task``: the kinds of ``describe``'s
        ``waiting_on``) and return those waits, e.g. before :meth:`sleep` moves time past a
        timer that must exist first.

        Raises:
            ValueError: ``kind`` is none of those.
            RuntimeError: the workflow has ended, so it waits on nothing any more.
            TimeoutError: not within ``timeout`` seconds (wall time).
        """
        if kind not in WAIT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(WAIT_KINDS)}, not {kind!r}")
        deadline = time.monotonic() + timeout
        while True:
            record = self.client.describe(workflow_id)
            waits = [w for w in record.get("waiting_on") or [] if w.get("kind") == kind]
            if waits:
                return waits
            if record.get("status") in TERMINAL_STATUSES:
                raise RuntimeError(f"workflow {workflow_id} ended {record['status']}: it waits "
                                   f"on no {kind} any more")
            if time.monotonic() > deadline:
                article = "an" if kind[0] in "aeiou" else "a"
                raise TimeoutError(f"workflow {workflow_id} did not wait on {article} {kind} "
                                   f"within {timeout:g} s; it waits on: "
                                   f"{waits_text(record.get('waiting_on')) or 'nothing'}")
            time.sleep(_WAIT_CHECK_S)

    def sleep(self, seconds: float) -> None:
        """Move the engine's clock ``seconds`` ahead and run the work that became due (timers,
        retries, schedules) before returning."""
        engine = self.engine  # not started: raise before the clock moves
        self.clock.advance(seconds)
        engine.core.run_due()

    @property
    def skipper(self) -> TimeSkipper | None:
        """The thread that skips time (None without time skipping); ``skipper.pause()`` and
        ``skipper.resume()`` hold the clock to wall time for a while."""
        return self._skipper

    @property
    def skips(self) -> int:
        """How many times time skipping jumped the clock."""
        return self._skipper.skips if self._skipper is not None else 0

    def __repr__(self) -> str:
        state = "started" if self._engine is not None else "closed"
        return (f"<WorkflowEnvironment {state} time_skipping={self.time_skipping} "
                f"skipped={self.clock.skipped:g}s>")


def _check_worker_arguments(lua: Any, handlers: Any, workflows: Any, activities: Any) -> None:
    if handlers is not None and not isinstance(handlers, Worker):
        raise TypeError(f"handlers must be a bridge.Worker, not {type(handlers).__name__} "
                        f"(Python functions by name go in workflows= or activities=)")
    for name, value in (("workflows", workflows), ("activities", activities)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping of name to function, not "
                            f"{type(value).__name__}")
    items = [lua] if isinstance(lua, (str, Path)) or lua is None else lua
    if not isinstance(items, Sequence) or not all(isinstance(i, (str, Path))
                                                  for i in items if i is not None):
        raise TypeError(f"lua must be a file path, Lua source text or a list of them, not "
                        f"{lua!r}")


def _lua_items(lua: str | Path | Sequence[str | Path] | None) -> list[str | Path]:
    if lua is None:
        return []
    if isinstance(lua, (str, Path)):
        return [lua]
    return list(lua)
