"""The due-work runner: calls ``Engine.run_due()`` when the next deadline the core reported passes.

It waits on a :class:`threading.Condition` with a timeout and never polls; a ``"deadline"``
notice that names an earlier time wakes it at once (``DueRunner.poke``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bridge.errors import StoreError, StoreUnavailableError

logger = logging.getLogger(__name__)

#: The runner calls ``run_due`` at least this often even when no deadline is known, so that work
#: whose deadline the core cannot announce (a worker going silent) is still found.
MAX_IDLE_S = 15.0
#: Backoff bounds after a retryable store error in ``run_due``.
RETRY_MIN_S = 0.1
RETRY_MAX_S = 5.0


class DueRunner:
    """A background thread that runs ``engine.run_due()`` when due work exists.

    Args:
        run_due: the core's ``run_due``: does all work due now and returns the epoch time of the
            next deadline, or None when nothing is scheduled.
        on_failure: called (from the runner thread) with the exception when ``run_due`` fails with
            anything but a retryable :class:`StoreError`; the runner then stops.
        max_idle_s: the longest the runner sleeps when no deadline is known.
        clock: the epoch clock deadlines are compared against.
    """

    def __init__(
        self,
        run_due: Callable[[], float | None],
        *,
        on_failure: Callable[[BaseException], None] | None = None,
        max_idle_s: float = MAX_IDLE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._run_due = run_due
        self._on_failure = on_failure
        self._max_idle_s = max_idle_s
        self._clock = clock
        self._cond = threading.Condition()
        self._next_at: float | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the thread; the first ``run_due`` happens at once (it recovers expired work)."""
        with self._cond:
            self._next_at = self._clock()
        self._thread = threading.Thread(target=self._loop, name="engine-due-runner", daemon=True)
        self._thread.start()

    def poke(self, at: float) -> None:
        """Make sure ``run_due`` runs no later than the epoch time ``at`` (any thread)."""
        with self._cond:
            if self._next_at is None or at < self._next_at:
                self._next_at = at
                self._cond.notify()
            elif at <= self._clock():
                # the clock jumped (a test's skipping clock) past the deadline the runner
                # waits for in wall seconds: look again now
                self._cond.notify()

    def stop(self, timeout_s: float | None = 10.0) -> None:
        """Stop the thread and wait for the ``run_due`` in progress, if any, to finish."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("the due-work runner did not stop within %s s", timeout_s)

    def _wait_until_due(self) -> bool:
        """Block until the next deadline passes; False when stopping."""
        with self._cond:
            while not self._stopping:
                now = self._clock()
                due_at = self._next_at if self._next_at is not None else now + self._max_idle_s
                due_at = min(due_at, now + self._max_idle_s)
                if due_at <= now:
                    self._next_at = None
                    return True
                self._cond.wait(due_at - now)
                if self._next_at is None and self._clock() >= due_at:
                    return True  # the idle interval ran out
            return False

    def _loop(self) -> None:
        failures = 0
        while self._wait_until_due():
            try:
                next_at = self._run_due()
            except (StoreError, StoreUnavailableError) as exc:
                if isinstance(exc, StoreError) and not exc.retryable:
                    self._fail(exc)
                    return
                failures += 1
                delay = min(RETRY_MAX_S, RETRY_MIN_S * 2 ** (failures - 1))
                logger.warning("run_due failed (%s); retrying in %.1f s", exc, delay, exc_info=exc)
                self.poke(self._clock() + delay)
                continue
            except Exception as exc:
                self._fail(exc)
                return
            failures = 0
            self.runs += 1
            if next_at is not None:
                self.poke(float(next_at))

    def _fail(self, exc: BaseException) -> None:
        logger.critical("the due-work runner stopped: run_due failed", exc_info=exc)
        if self._on_failure is not None:
            self._on_failure(exc)
