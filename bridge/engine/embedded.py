"""The engine inside the calling Python process: :class:`EmbeddedEngine`, exported as
``bridge.Engine``.

It runs what ``assay-bridge serve`` runs (:class:`~bridge.engine.running.RunningCore`: the core,
the store, the instance lock, the due-work runner) and one private asyncio loop thread hosting
the very same Starlette app (:func:`~bridge.engine.api.app.create_app`). Two adapters reach that
one app, never a second code path:

* :meth:`EmbeddedEngine.request` answers in-process. A hot route (what every workflow calls:
  polls, commands, completions, heartbeats, start, status, ``/wait``) is answered in the
  calling thread by :class:`~bridge.engine.api.direct.DirectPath`, which runs the very handlers
  the app's endpoints run; a held poll or ``/wait`` waits in that thread too, woken by the hub.
  Anything else goes to the app on the loop (:func:`bridge.engine.inprocess.call_app`) while
  the calling thread blocks. ``Worker(engine=...)`` and ``Client(engine=...)`` send their
  calls here, and take turns at it (:mod:`bridge.engine.turn`);
* :meth:`EmbeddedEngine.serve` opens a real uvicorn server on the same loop and app, so other
  processes (the CLI, workers elsewhere) can use the engine too.

:meth:`EmbeddedEngine.close`: the hub closes first (held polls end at once, in callers' threads
and on the loop), uvicorn stops, the
requests still running finish (at most ``graceful_timeout_s``), the loop thread ends, calls on
the direct path finish, the runner stops and the store closes, releasing the SQLite instance lock. No thread is left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from bridge.engine.api.app import create_app
from bridge.engine.api.direct import DirectPath
from bridge.engine.api.notify import Hub
from bridge.engine.cpu_handoff import CpuHandoff
from bridge.engine.config import DEFAULT_BACKEND_URL, DEFAULT_MAX_BODY_BYTES, ServerSettings
from bridge.engine.inprocess import Answer, call_app
from bridge.engine.running import RunningCore
from bridge.engine.server import UvicornServer, format_url, http_name
from bridge.engine.turn import Turn
from bridge.errors import EngineClosedError

if TYPE_CHECKING:
    from bridge.engine.clock import Clock
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)

#: How long a thread of the engine may take to end on :meth:`EmbeddedEngine.close`.
_JOIN_TIMEOUT_S = 30.0


class EmbeddedEngine:
    """An assay workflow engine running inside this Python process (``bridge.Engine``).

    The same engine as ``assay-bridge serve`` (same store, same HTTP API, same answers), with
    no socket unless :meth:`serve` is called. Hand it to ``Worker(engine=...)`` and
    ``Client(engine=...)``.

    Args:
        backend_url: the store, ``sqlite:///path.db``, ``sqlite:///:memory:`` or a
            ``postgresql://`` URL. A SQLite file is held by one engine at a time.
        clock: the time source of the core and the due-work runner (default: the wall clock);
            with a :class:`~bridge.engine.clock.FakeClock`, advance it and call
            :meth:`wake_due_runner`.
        poll_wait_s: how long an idle workflow-task poll is held open.
        dispatch_timeout_s: the workflow-task lease.
        engine_threads: how many core calls may run on threads at once.
        max_body_bytes: request bodies above this get 413.
        db_pool_size: the most pooled PostgreSQL connections.
        graceful_timeout_s: how long requests still running may take to finish on :meth:`close`.
        cpu_handoff: on Linux, a thread blocked in a held poll or ``/wait`` that another
            thread's in-process call wakes (a client's start waking a worker, a worker's
            completion waking a client) starts on the CPU of the thread that woke it, which
            is about to wait in turn (:mod:`bridge.engine.cpu_handoff`). False leaves thread
            placement to the OS.

    Raises:
        ConfigError: a bad backend URL or setting.
        StoreError: the store cannot be opened.
        InstanceLockError: another live engine serves this SQLite file.

    Example::

        with bridge.Engine("sqlite:///app.db") as engine:
            worker = bridge.Worker(engine=engine)
            ...
    """

    def __init__(
        self,
        backend_url: str = DEFAULT_BACKEND_URL,
        *,
        clock: Clock | None = None,
        poll_wait_s: float = 5.0,
        dispatch_timeout_s: float = 30.0,
        engine_threads: int = 8,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        db_pool_size: int = 10,
        graceful_timeout_s: float = 10.0,
        cpu_handoff: bool = True,
    ) -> None:
        settings = ServerSettings(
            port=0, backend_url=backend_url, poll_wait_s=poll_wait_s,
            dispatch_timeout_s=dispatch_timeout_s, engine_threads=engine_threads,
            max_body_bytes=max_body_bytes, db_pool_size=db_pool_size)
        self._graceful_timeout_s = graceful_timeout_s
        self._turn = Turn()
        self._hub = Hub(turn=self._turn,
                        cpu_handoff=CpuHandoff.create() if cpu_handoff else None)
        self._lock = threading.Lock()  # taken bare on every request: no Python frames
        self._gate = threading.Condition(self._lock)
        self._direct_calls = 0  # requests answered in their callers' threads right now
        self._closed = False
        self._url: str | None = None
        self._server: UvicornServer | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._running = RunningCore.open(settings, self._hub, clock=clock,
                                         on_failure=self._runner_failed)
        try:
            self._app = create_app(
                self._running.engine, self._hub, poll_wait_s=settings.poll_wait_s,
                max_body_bytes=settings.max_body_bytes, engine_threads=settings.engine_threads)
            self._direct = DirectPath(self._app.state.api, self._app.state.metrics)
            self._loop = asyncio.new_event_loop()
            self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
            self._thread = threading.Thread(target=self._run_loop, name="assay-engine-loop",
                                            daemon=True)
            self._thread.start()
            self._ready.result()
            self._loop_ident = self._thread.ident  # read on every request
        except BaseException:
            self._running.close()
            raise

    # -- public face ----------------------------------------------------------------------
    @property
    def core(self) -> Engine:
        """The engine core (:class:`bridge.engine.core.Engine`)."""
        return self._running.engine

    @property
    def clock(self) -> Clock:
        """The clock the core and the due-work runner read."""
        return self._running.engine.clock

    @property
    def url(self) -> str | None:
        """The HTTP URL once :meth:`serve` was called, else None."""
        return self._url

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, *,
                hold_wakeups: bool = False) -> Answer:
        """Answer one API request in-process, exactly as the HTTP API would.

        A hot route is answered in the calling thread (a held poll or ``/wait`` waits there for
        work, as over HTTP); any other request blocks the calling thread while the engine's
        loop answers it.

        Args:
            method: ``GET``, ``POST``, ``DELETE``...
            path: the path with its query string, e.g. ``/api/v1/workflows?limit=5``.
            body: the request body (JSON text for the API's POSTs).
            headers: request headers, e.g. ``{"Content-Type": "application/json"}``.
            hold_wakeups: the calling thread calls the engine again at once (a worker's
                loop, having reported a task, polls next). The threads of this process that
                this call wakes (a client's ``/wait``) are then woken when that next call
                waits or returns, so they do not compete with this thread until it waits.
                A thread that passes it and then makes no further call must call
                :meth:`release_wakeups`.

        Returns:
            ``(status, headers, body)``, header names lower-cased.

        Raises:
            EngineClosedError: the engine was closed (before or during the call).
        """
        with self._lock:
            if self._closed:
                raise EngineClosedError("the engine was closed")
            if threading.get_ident() == self._loop_ident:
                raise RuntimeError("EmbeddedEngine.request was called on the engine's own loop")
            self._direct_calls += 1
        turn, hub = self._turn, self._hub
        turn.enter()
        owed = hub.holds_wakeups  # held by an earlier call: they go as this one ends
        if hold_wakeups:
            hub.release_held()  # owed ones go as it starts: none waits beyond a next call
            hub.hold_wakeups()
        try:
            answer = self._direct.answer(method, path, body, headers or {})
        finally:
            if hold_wakeups:
                hub.stop_holding()
            elif owed:
                hub.release_held()
            turn.leave()
            with self._lock:
                self._direct_calls -= 1
                if self._closed and not self._direct_calls:
                    self._gate.notify_all()  # close() waits for the last one
        if answer is not None:
            return answer
        hub.release_held()
        turn.block()  # the loop answers: this thread only waits
        with self._gate:
            self._check_open()
            future = asyncio.run_coroutine_threadsafe(
                call_app(self._app, method, path, body, headers), self._loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise EngineClosedError(f"{method} {path}: the engine was closed") from None

    def release_wakeups(self) -> None:
        """Wake now the threads whose wake-ups a call with ``hold_wakeups`` held back (see
        :meth:`request`); any thread, any time."""
        self._hub.release_held()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Also serve the HTTP API on ``host:port`` (0: a free port); returns the URL.

        In-process callers keep working; the server stops on :meth:`close`. A second call
        returns the URL already served.

        Raises:
            OSError: the address cannot be bound.
            EngineClosedError: the engine was closed.
        """
        with self._gate:
            self._check_open()
            if self._url is not None:
                return self._url
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.create_server((host, port), family=family)
            try:
                future = asyncio.run_coroutine_threadsafe(self._start_server(sock), self._loop)
                bound = future.result()
            except BaseException:
                sock.close()
                raise
            self._url = format_url(host, bound)
        logger.info("assay-bridge engine in this process listening on %s", self._url)
        return self._url

    def wake_due_runner(self) -> None:
        """Ask the due-work runner to run ``run_due`` now (timers, retries, cron, as of
        :attr:`clock`); returns at once."""
        self._check_open()
        self._running.runner.poke(self.clock.now())

    def poke_due(self, at: float) -> None:
        """Make sure the due-work runner runs ``run_due`` no later than the epoch time ``at``
        (by :attr:`clock`); returns at once."""
        self._check_open()
        self._running.runner.poke(at)

    def end_held_calls(self) -> None:
        """Answer every held poll and ``/wait`` now, and from now on answer them without
        holding: the first step of a shutdown that lets in-process workers, once told to
        stop, finish and report the task in hand before :meth:`close`. Other calls keep
        working."""
        self._check_open()
        self._hub.close_threads()
        with contextlib.suppress(RuntimeError):  # the loop has ended already
            self._loop.call_soon_threadsafe(self._hub.close)

    def close(self) -> None:
        """Stop the engine: held polls end at once, the HTTP server (if any) stops, the runner
        stops and the store closes (the SQLite file may then be opened again). Idempotent."""
        with self._gate:
            if self._closed:
                return
            self._closed = True
        if threading.current_thread() is self._thread:
            raise RuntimeError("EmbeddedEngine.close was called on the engine's own loop")
        self._hub.close_threads()  # held polls and /wait calls in callers' threads answer now
        try:
            stop = self._stop
            if stop is not None and self._thread.is_alive():
                with contextlib.suppress(RuntimeError):  # the loop has ended already
                    self._loop.call_soon_threadsafe(stop.set)
            self._thread.join(_JOIN_TIMEOUT_S)
            self._join_loop_threads()
            with self._gate:  # the store closes once no caller's thread is inside it
                self._gate.wait_for(lambda: not self._direct_calls, _JOIN_TIMEOUT_S)
        finally:
            self._running.close()

    def __enter__(self) -> EmbeddedEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else (self._url or "in-process")
        return f"<EmbeddedEngine {state}>"

    # -- the loop thread ------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosedError("the engine was closed")

    def _run_loop(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the constructor or logged
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                logger.critical("the engine's loop failed", exc_info=exc)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    async def _main(self) -> None:
        """The loop's root task: the app's lifespan around a wait for :meth:`close`."""
        self._stop = asyncio.Event()
        async with self._app.router.lifespan_context(self._app):
            self._ready.set_result(None)
            await self._stop.wait()
            self._hub.close()  # held polls and /wait calls answer now
            await self._stop_server()
            await self._finish_requests()

    async def _start_server(self, sock: socket.socket) -> int:
        config = uvicorn.Config(
            self._app, lifespan="off", loop="none", http=http_name(), log_config=None,
            access_log=False, server_header=False,
            timeout_graceful_shutdown=max(1, round(self._graceful_timeout_s)))
        listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_listening(sockets: list[socket.socket]) -> None:
            if not listening.done():
                listening.set_result(int(sockets[0].getsockname()[1]) if sockets else 0)

        server = UvicornServer(config, hub=self._hub, on_listening=on_listening,
                               handle_signals=False)
        task = asyncio.create_task(self._run_server(server, sock))
        waits: set[asyncio.Future[Any]] = {listening, task}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not listening.done():
            listening.cancel()
            raise OSError(f"could not serve on {sock.getsockname()}")
        self._server, self._server_task = server, task
        return listening.result()

    @staticmethod
    async def _run_server(server: UvicornServer, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit:  # uvicorn exits when it cannot start; it has logged why
            logger.error("the engine's HTTP server could not start")
        finally:
            sock.close()

    async def _stop_server(self) -> None:
        server, task = self._server, self._server_task
        if server is None or task is None:
            return
        server.should_exit = True
        await task

    async def _finish_requests(self) -> None:
        """Let in-process requests still running finish, then cancel what is left."""
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if not others:
            return
        _, pending = await asyncio.wait(others, timeout=self._graceful_timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def _join_loop_threads(self) -> None:
        """Wait for the threads the loop started (anyio's workers of the app's core calls),
        which end once the loop's root task is done."""
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and getattr(thread, "loop", None) is self._loop:
                thread.join(_JOIN_TIMEOUT_S)

    def _runner_failed(self, exc: BaseException) -> None:
        logger.critical("the engine's due-work runner stopped; timers and retries will not run "
                        "until the engine is reopened", exc_info=exc)
