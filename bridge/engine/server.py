"""Runs the engine: the store, the core, the HTTP API on uvicorn, and the due-work runner.

What ``assay-bridge serve`` starts, in order:

1. the :class:`~bridge.engine.api.notify.Hub` (the core's notifier) and the
   :class:`~bridge.engine.core.Engine` on the backend URL (default ``sqlite:///assay-workflow.db``);
   with a store that several instances may share (PostgreSQL), the store's listener feeds the
   other instances' wake-ups into the hub, and there is no instance lock;
2. the :class:`DueRunner` thread, which calls ``Engine.run_due()`` when the next deadline the core
   reported passes, and at once when a ``"deadline"`` notice names an earlier time. It waits on a
   :class:`threading.Condition` with a timeout; it never polls;
3. the Starlette app from :func:`~bridge.engine.api.app.create_app` on a real uvicorn server
   (httptools and uvloop when installed). Once the socket listens, one log line gives the URL
   actually bound (``--port 0`` becomes the real port) and ``port_file`` gets the port.

Shutdown (SIGINT or SIGTERM, or :meth:`EngineService.request_stop`): the listening socket closes,
held long-polls and SSE streams are released at once (the hub closes first), in-flight requests
finish (at most ``graceful_timeout_s``), the runner stops, and the engine closes its store, which
releases the SQLite instance lock. A second SIGINT skips the wait for in-flight requests.

A loop failure is never swallowed: a :class:`~bridge.errors.StoreError` that says retrying may help,
and :class:`~bridge.errors.StoreUnavailableError` (the database server is down or restarting), are
logged and retried with backoff; anything else is logged with its traceback and stops the server
with exit code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Generator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from bridge.engine.api.app import create_app
from bridge.engine.api.notify import Hub
from bridge.engine.config import ServerSettings, describe_backend
from bridge.engine.store.base import CAP_INSTANCE_LOCK, CAP_SEVERAL_INSTANCES
from bridge.errors import BridgeError, StoreError, StoreUnavailableError

if TYPE_CHECKING:
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)

#: The runner calls ``run_due`` at least this often even when no deadline is known, so that work
#: whose deadline the core cannot announce (a worker going silent) is still found.
MAX_IDLE_S = 15.0
#: Backoff bounds after a retryable store error in ``run_due``.
RETRY_MIN_S = 0.1
RETRY_MAX_S = 5.0
#: The instance lock's heartbeat interval, and the age at which another engine takes it over.
LOCK_REFRESH_S = 15.0
LOCK_STALE_S = 60.0
#: How long in-flight requests get to finish after a stop was requested.
DEFAULT_GRACEFUL_TIMEOUT_S = 10.0

_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


class _UvicornServer(uvicorn.Server):
    """uvicorn's server with three hooks: a callback once listening, the hub closed before the
    connection drain (so long-polls and SSE end at once), and signal handling that does not
    re-raise the signal after the graceful shutdown (the store must still be closed)."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        hub: Hub,
        on_listening: Callable[[list[socket.socket]], None],
        handle_signals: bool,
    ) -> None:
        super().__init__(config)
        self._hub = hub
        self._on_listening = on_listening
        self._handle_signals = handle_signals

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            listeners = [s for server in self.servers for s in (server.sockets or ())]
            self._on_listening(list(sockets or listeners))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._hub.close()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self._on_signal) for sig in _HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            logger.warning("second interrupt: not waiting for in-flight requests")
            self.force_exit = True
        else:
            logger.info("received %s, shutting down", signal.Signals(sig).name)
            self.should_exit = True


def open_engine(settings: ServerSettings, hub: Hub) -> Engine:
    """Open the engine core on ``settings.backend_url`` with ``hub`` as its notifier.

    Raises:
        ConfigError: the backend URL is not supported.
        StoreError: the database cannot be opened.
    """
    from bridge.engine.settings import Settings
    from bridge.engine.core import Engine

    return Engine.open(
        settings.backend_url,
        notifier=hub,
        settings=Settings(dispatch_timeout_s=settings.dispatch_timeout_s),
        pool_size=settings.db_pool_size,
    )


class InstanceLockError(BridgeError):
    """Another live engine serves the same database (the SQLite single-instance lock)."""


class InstanceLock:
    """The store's single-instance lock, held for the life of one server (engine-api §2.5).

    Unlike assay it is released on shutdown, and a lock left by a dead process on this host, or
    one not refreshed for :data:`LOCK_STALE_S`, is taken over (compat-policy). Stores without
    the ``instance_lock`` capability skip it.
    """

    def __init__(self, engine: Engine) -> None:
        self._store = engine.store
        self.instance_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.enabled = CAP_INSTANCE_LOCK in self._store.capabilities
        self._refreshed_at = 0.0

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            InstanceLockError: a live engine holds it.
        """
        if not self.enabled:
            return
        now = time.time()
        if not self._store.acquire_instance_lock(
            self.instance_id, now=now, stale_after_s=LOCK_STALE_S, pid=os.getpid()
        ):
            raise InstanceLockError(
                "another assay-bridge engine is already running on this database"
            )
        self._refreshed_at = now

    def refresh_if_due(self) -> None:
        """Refresh the heartbeat every :data:`LOCK_REFRESH_S` (called by the runner).

        Raises:
            InstanceLockError: another instance took the lock over.
        """
        now = time.time()
        if not self.enabled or now - self._refreshed_at < LOCK_REFRESH_S:
            return
        if not self._store.refresh_instance_lock(self.instance_id, now=now):
            raise InstanceLockError("another engine took over this database's instance lock")
        self._refreshed_at = now


def _loop_name() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def _http_name() -> str:
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def write_port_file(path: str | os.PathLike[str], port: int) -> None:
    """Write ``port`` to ``path`` atomically, so a reader never sees a partial file."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{port}\n", encoding="ascii")
    os.replace(tmp, target)


def format_url(host: str, port: int) -> str:
    """The URL clients use for ``host:port`` (IPv6 in brackets, wildcard as loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class EngineService:
    """One engine process: opens the engine, serves it, stops it cleanly.

    Args:
        settings: validated server settings.
        port_file: if set, the bound port is written there once the socket listens.
        handle_signals: stop gracefully on SIGINT/SIGTERM (only from the main thread).
        access_log: log every request (uvicorn's access log).
        graceful_timeout_s: how long in-flight requests may run after a stop was requested.
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        port_file: str | os.PathLike[str] | None = None,
        handle_signals: bool = True,
        access_log: bool = False,
        graceful_timeout_s: float = DEFAULT_GRACEFUL_TIMEOUT_S,
    ) -> None:
        self.settings = settings
        self.port_file = port_file
        self.handle_signals = handle_signals
        self.access_log = access_log
        self.graceful_timeout_s = graceful_timeout_s
        self.url: str | None = None
        self.listening = threading.Event()
        self._server: _UvicornServer | None = None
        self._stop_requested = threading.Event()
        self._failure: BaseException | None = None

    def request_stop(self) -> None:
        """Ask the server to shut down gracefully (any thread)."""
        self._stop_requested.set()
        server = self._server
        if server is not None:
            server.should_exit = True

    def run(self) -> int:
        """Serve until stopped; returns the exit code (0 clean stop, 1 a loop failed or no bind).

        Raises:
            ConfigError: a bad backend URL.
            StoreError: the store cannot be opened.
        """
        settings = self.settings
        hub = Hub()
        engine = open_engine(settings, hub)
        try:
            lock = InstanceLock(engine)
            lock.acquire()
            if CAP_SEVERAL_INSTANCES in engine.store.capabilities:
                engine.store.listen(hub.notify_remote)

            def run_due() -> float | None:
                lock.refresh_if_due()
                return engine.run_due()

            runner = DueRunner(run_due, on_failure=self._runner_failed)
            hub.set_deadline_callback(runner.poke)
            runner.start()
            try:
                started = self._serve(engine, hub)
            finally:
                hub.set_deadline_callback(None)
                runner.stop()
        finally:
            engine.close()
            logger.info("engine stopped; store %s closed", describe_backend(settings.backend_url))
        return 1 if self._failure is not None or not started else 0

    def _serve(self, engine: Engine, hub: Hub) -> bool:
        """Run uvicorn until it stops; False if it never listened (the cause is logged)."""
        settings = self.settings
        app = create_app(
            engine,
            hub,
            auth_api_key=settings.auth_api_key,
            poll_wait_s=settings.poll_wait_s,
            max_body_bytes=settings.max_body_bytes,
            engine_threads=settings.engine_threads,
        )
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            loop=_loop_name(),
            http=_http_name(),
            lifespan="on",
            log_config=None,
            access_log=self.access_log,
            server_header=False,
            timeout_graceful_shutdown=max(1, round(self.graceful_timeout_s)),
        )
        server = _UvicornServer(
            config, hub=hub, on_listening=self._listening, handle_signals=self.handle_signals
        )
        self._server = server
        if self._stop_requested.is_set():
            return True
        try:
            server.run()
        except SystemExit:  # uvicorn exits when it cannot bind; it has logged why
            logger.error("could not listen on %s:%s", settings.host, settings.port)
            return False
        return server.started

    def _listening(self, sockets: list[socket.socket]) -> None:
        port = sockets[0].getsockname()[1] if sockets else self.settings.port
        self.url = format_url(self.settings.host, port)
        logger.info(
            "assay-bridge engine listening on %s (backend %s, auth %s)",
            self.url,
            describe_backend(self.settings.backend_url),
            "api-key" if self.settings.auth_api_key else "off",
        )
        if self.port_file is not None:
            write_port_file(self.port_file, port)
        self.listening.set()
        if self._stop_requested.is_set() and self._server is not None:
            self._server.should_exit = True

    def _runner_failed(self, exc: BaseException) -> None:
        self._failure = exc
        self.request_stop()


def serve(settings: ServerSettings, **options: Any) -> int:
    """Run an :class:`EngineService` with ``settings`` until it stops; returns the exit code."""
    return EngineService(settings, **options).run()
