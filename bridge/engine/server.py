"""Runs the engine: the store, the core, the HTTP API on uvicorn, and the due-work runner.

What ``assay-bridge serve`` starts, in order:

1. the :class:`~bridge.engine.api.notify.Hub` (the core's notifier) and, through
   :class:`~bridge.engine.running.RunningCore`, the :class:`~bridge.engine.core.Engine` on the
   backend URL (default ``sqlite:///assay-workflow.db``); with a store that several instances
   may share (PostgreSQL), the store's listener feeds the other instances' wake-ups into the
   hub, and there is no instance lock;
2. the :class:`~bridge.engine.runner.DueRunner` thread, which calls ``Engine.run_due()`` when the next deadline the core
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

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from bridge.engine.api.app import create_app
from bridge.engine.api.jwt_auth import JwtVerifier
from bridge.engine.api.notify import Hub
from bridge.engine.config import ServerSettings, describe_backend
from bridge.engine.running import RunningCore

if TYPE_CHECKING:
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)

#: How long in-flight requests get to finish after a stop was requested.
DEFAULT_GRACEFUL_TIMEOUT_S = 10.0

_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class UvicornServer(uvicorn.Server):
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


def loop_name() -> str:
    """The event loop uvicorn runs on: uvloop when installed."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def http_name() -> str:
    """The HTTP parser uvicorn uses: httptools when installed."""
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
        #: The notifier hub of the running engine (held polls, ``/wait``, SSE wait on it).
        self.hub = Hub()
        self.listening = threading.Event()
        self._server: UvicornServer | None = None
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
        hub = self.hub
        core = RunningCore.open(self.settings, hub, on_failure=self._runner_failed)
        try:
            started = self._serve(core.engine, hub)
        finally:
            core.close()
        return 1 if self._failure is not None or not started else 0

    def _serve(self, engine: Engine, hub: Hub) -> bool:
        """Run uvicorn until it stops; False if it never listened (the cause is logged)."""
        settings = self.settings
        app = create_app(
            engine,
            hub,
            auth_api_key=settings.auth_api_key,
            jwt=None if settings.auth_issuer is None else JwtVerifier(
                settings.auth_issuer, settings.auth_audience,
                refetch_interval_s=settings.jwks_refetch_s),
            metrics_open=settings.metrics_open,
            poll_wait_s=settings.poll_wait_s,
            max_body_bytes=settings.max_body_bytes,
            engine_threads=settings.engine_threads,
        )
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            loop=loop_name(),
            http=http_name(),
            lifespan="on",
            log_config=None,
            access_log=self.access_log,
            server_header=False,
            timeout_graceful_shutdown=max(1, round(self.graceful_timeout_s)),
        )
        server = UvicornServer(
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
            self.settings.auth_mode,
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
