"""Time skipping for tests: :class:`SkippingClock` and :class:`TimeSkipper`.

A workflow that sleeps for a day should not make its test wait a day. The engine never reads
the wall clock itself; it asks its clock. :class:`SkippingClock` is the wall clock plus an
offset that only grows, and :class:`TimeSkipper` grows it: whenever no workflow task or
activity is ready or in hand (every live workflow waits on a timer, a retry backoff, a
signal, or nothing), it moves the clock to the next deadline the engine knows
(:meth:`bridge.engine.core.Engine.next_idle_deadline`: a durable timer, an activity's retry or
timeout, a cron schedule) and has the due-work runner run. Timers then fire at the skipped time,
and the events carry it. The live workers' heartbeats are renewed at the new time: skipped time
is not time they were silent in, so they are not taken for dead.

Only engine time skips: a worker's own ``sleep`` between polls, and an activity's work, take
the time they take.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bridge.engine.clock import Clock, SystemClock
from bridge.engine.core import Engine
from bridge.errors import BridgeError

logger = logging.getLogger(__name__)

#: How often :class:`TimeSkipper` asks the engine whether everything waits on time.
DEFAULT_CHECK_INTERVAL_S = 0.01


class SkippingClock:
    """The wall clock plus an offset that only grows. Thread-safe.

    Args:
        base: the clock underneath (default the wall clock).
    """

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base or SystemClock()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """The base clock's time plus the time skipped so far (epoch seconds)."""
        with self._lock:
            return self._base.now() + self._offset

    @property
    def skipped(self) -> float:
        """Seconds skipped so far."""
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> float:
        """Skip ``seconds`` ahead and return the new time."""
        if seconds < 0:
            raise ValueError("time cannot be skipped backwards")
        with self._lock:
            self._offset += seconds
            return self._base.now() + self._offset

    def skip_to(self, t: float) -> float:
        """Skip ahead to the epoch time ``t`` (nothing if it has passed); returns the seconds
        skipped."""
        with self._lock:
            ahead = t - (self._base.now() + self._offset)
            if ahead <= 0:
                return 0.0
            self._offset += ahead
            return ahead


class TimeSkipper:
    """A background thread that skips ``clock`` to the engine's next deadline whenever nothing
    is ready or in hand, then calls ``wake`` (which has the due-work runner run).

    Args:
        core: the engine core to ask (:meth:`~bridge.engine.core.Engine.next_idle_deadline`).
        clock: the clock the core reads.
        wake: has due work run now (``bridge.Engine.wake_due_runner``).
        interval_s: how often to ask.
    """

    def __init__(self, core: Engine, clock: SkippingClock, wake: Callable[[], None], *,
                 interval_s: float = DEFAULT_CHECK_INTERVAL_S) -> None:
        self._core = core
        self._clock = clock
        self._wake = wake
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._woken_for: float | None = None
        #: How many times the clock jumped.
        self.skips = 0
        #: How many times the thread has looked (paused or not).
        self.checks = 0

    def start(self) -> None:
        """Start the thread."""
        if self._thread is not None:
            raise RuntimeError("the time skipper was already started")
        self._thread = threading.Thread(target=self._loop, name="assay-time-skipper",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def paused(self) -> bool:
        """True while :meth:`pause` holds the clock to wall time."""
        return self._paused.is_set()

    def pause(self) -> None:
        """Stop skipping until :meth:`resume` (time then passes as on the wall)."""
        self._paused.set()

    def resume(self) -> None:
        """Skip again after :meth:`pause`."""
        self._paused.clear()

    def skip_once(self) -> float:
        """One decision: when nothing is in hand, jump to the next deadline and wake the
        due-work runner. Returns the seconds skipped (0.0 when busy or nothing is due)."""
        target = self._core.next_idle_deadline()
        if target is None:
            return 0.0
        workers = self._live_workers() if target > self._clock.now() else []
        skipped = self._clock.skip_to(target)
        if skipped > 0:
            self.skips += 1
            for worker_id in workers:  # skipped time is not time they were silent in
                self._core.worker_heartbeat(worker_id)
        elif target == self._woken_for:
            return 0.0  # already due, and the runner was told
        self._woken_for = target
        self._wake()
        return skipped

    def _live_workers(self) -> list[str]:
        return [str(w["id"]) for ns in self._core.list_namespaces()
                for w in self._core.list_workers(namespace=str(ns["name"]))]

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.checks += 1
            if self._paused.is_set():
                continue
            try:
                self.skip_once()
            except BridgeError as exc:  # the engine closing under us, a store hiccup
                if self._stop.is_set():
                    return
                logger.warning("time skipping: %s", exc)
