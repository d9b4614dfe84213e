"""The :class:`Worker`: Lua and Python workflow and activity handlers on one worker.

Each poll loop owns one Lua runtime running the unchanged workflow.lua; the Python handlers
are registered into that same module (``workflow.define`` / ``workflow.activity``), so the
unchanged ``workflow.listen`` serves Lua and Python handlers alike, and each side can call
the other.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bridge.errors import ConfigError, EngineUnavailableError
from bridge.runtime.runtime import (
    DEFAULT_MEMORY_LIMIT,
    Control,
    Runtime,
    check_globals_off,
    default_modules_dir,
)
from bridge.worker.engine_calls import EngineNeverAnswered, WorkerStopped, install_engine_hooks
from bridge.worker.trampoline import ActivityHandler, PythonHandlers, WorkflowHandler
from bridge.wire import DEFAULT_QUEUE, IN_PROCESS_URL, InProcessEngine

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: The engine a worker polls when given neither ``url`` nor ``engine``.
DEFAULT_URL = "http://127.0.0.1:8080"

#: Exit code of a second SIGINT/SIGTERM during :meth:`Worker.run` (as ``assay-bridge run``).
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class _LuaSource:
    path: Path | None
    source: str | None
    chunk_name: str


class Worker:
    """A worker polling an assay engine for workflow and activity tasks.

    Args:
        url: the engine's base URL (default ``http://127.0.0.1:8080``).
        engine: an engine in this process (:class:`bridge.Engine`) instead of ``url``: the
            worker's engine calls are answered in-process, the same bytes as over HTTP.
        queue: the task queue to poll; by default the queue a loaded script's
            ``workflow.listen{queue=...}`` asked for, else ``"default"``.
        identity: the worker identity reported at registration (default
            ``assay-worker-<hostname>``, as workflow.lua builds it).
        token: an API key, sent as ``Authorization: Bearer <token>``.
        concurrency: independent poll loops, each with its own Lua runtime.
        memory_limit: byte cap per Lua runtime (default 64 MiB).
        search_paths: extra folders for Lua's ``require``.
        modules_path: assay's modules folder for ``require("assay.x")``; by default
            ``$ASSAY_MODULES_PATH``, else ``~/.assay/modules``, read when the worker is made.
        globals_off: groups of Lua globals to leave out of every runtime, e.g.
            ``{"shell", "process", "db"}`` (docs/security.md).
        log_stderr: write Lua ``log.*`` lines and the worker's own lines (retries, failures it
            reports) to stderr, timestamped; they always reach the ``assay`` logger.
        wait_engine: seconds to keep trying an engine that has not answered yet before the
            poll loops end with :class:`~bridge.errors.EngineUnavailableError` (raised by
            :meth:`run`, listed in :attr:`errors`); ``None`` (the
            default) waits for ever, as the worker does for an engine that restarts.

    Example::

        w = Worker("http://127.0.0.1:8080")

        @w.activity("score")
        def score(ctx, input):
            return {"score": len(input["text"])}

        w.load_lua("workflows.lua")
        w.run()
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: InProcessEngine | None = None,
        queue: str | None = None,
        identity: str | None = None,
        token: str | None = None,
        concurrency: int = 1,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        search_paths: Sequence[str | Path] = (),
        modules_path: str | Path | None = None,
        globals_off: Collection[str] = (),
        log_stderr: bool = True,
        wait_engine: float | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        self.globals_off = check_globals_off(globals_off)
        self.modules_path = modules_path if modules_path is not None else default_modules_dir(os.environ)
        if engine is not None and url is not None:
            raise ConfigError("give a Worker either url or engine, not both")
        self.engine = engine
        if engine is not None:
            url = engine.url or IN_PROCESS_URL
        self.url = url or DEFAULT_URL
        self.queue = queue
        self.identity = identity
        self.token = token
        self.concurrency = concurrency
        self.memory_limit = memory_limit
        self.search_paths = list(search_paths)
        self.log_stderr = log_stderr
        if wait_engine is not None and wait_engine < 0:
            raise ConfigError("wait_engine must be 0 or more seconds (None: for ever)")
        self.wait_engine = wait_engine
        self._workflows: dict[str, WorkflowHandler] = {}
        self._activities: dict[str, ActivityHandler] = {}
        self._lua: list[_LuaSource] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._registered = threading.Event()
        self._registered_count = 0
        self._lock = threading.Lock()

    # -- registration -------------------------------------------------------------------------
    def activity(self, name: str) -> Callable[[F], F]:
        """Decorator registering a Python activity ``fn(ctx, input) -> result``."""

        def deco(fn: F) -> F:
            self._activities[name] = fn
            return fn

        return deco

    def workflow(self, name: str) -> Callable[[F], F]:
        """Decorator registering a Python workflow ``fn(ctx, input) -> result``."""

        def deco(fn: F) -> F:
            self._workflows[name] = fn
            return fn

        return deco

    def load_lua(self, path_or_source: str | Path, *, chunk_name: str | None = None) -> None:
        """Load a Lua file (or Lua source text) that defines workflows and activities.

        Its ``workflow.connect`` and ``workflow.listen`` calls are deferred to :meth:`run`
        (the worker's URL is used; a ``queue`` given to ``listen`` is honoured unless the
        worker was given one).
        """
        text = str(path_or_source)
        if isinstance(path_or_source, Path) or ("\n" not in text and text.endswith(".lua")):
            path = Path(path_or_source)
            if not path.is_file():
                raise ConfigError(f"no such Lua file: {path}")
            self._lua.append(_LuaSource(path, None, chunk_name or f"@{path}"))
        else:
            self._lua.append(_LuaSource(None, text, chunk_name or "=<load_lua>"))

    # -- running ------------------------------------------------------------------------------
    def run(self) -> None:
        """Serve until :meth:`stop` is called, or SIGINT / SIGTERM; re-raises a poll loop's
        failure.

        Called in the main thread, it handles SIGINT (Ctrl-C) and SIGTERM itself, also when
        SIGINT was inherited as ignored (a ``&`` job of a script): the first signal stops the
        poll loops after the task in hand, which finishes and is reported, and ``run`` then
        returns; a second signal ends the process at once with exit code 130. The previous
        handlers are restored when ``run`` returns.
        """
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, _frame: Any) -> None:
                if self._stop.is_set():
                    sys.stderr.flush()
                    os._exit(EXIT_INTERRUPTED)
                logger.warning("worker: %s received; stopping after the task in hand "
                               "(signal again to quit now)", signal.Signals(signum).name)
                self.stop()

            previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        self.start()
        try:
            while any(t.is_alive() for t in self._threads):
                for t in self._threads:
                    t.join(timeout=0.2)
        except KeyboardInterrupt:
            self.stop()
            self.join()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if self._errors:
            raise self._errors[0]

    def start(self) -> None:
        """Start the poll loops in background threads and return."""
        if self._threads:
            raise RuntimeError("worker already started")
        self._stop.clear()
        for i in range(self.concurrency):
            t = threading.Thread(target=self._serve, args=(i,), name=f"assay-worker-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    def stop(self) -> None:
        """Ask every poll loop to stop after the task in hand (returns at once).

        A loop that is waiting in a poll the engine holds open (``assay-bridge serve
        --poll-wait-secs``, 5 s by default) ends when that poll is answered; use :meth:`join`
        to wait for the loops.
        """
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the poll loops to end."""
        for t in self._threads:
            t.join(timeout)

    def is_alive(self) -> bool:
        """Whether a poll loop is still running (one that was started and has not ended)."""
        return any(t.is_alive() for t in self._threads)

    def wait_registered(self, timeout: float | None = None) -> bool:
        """Block until every poll loop has registered with the engine."""
        return self._registered.wait(timeout)

    @property
    def errors(self) -> list[BaseException]:
        """Failures that ended poll loops."""
        return list(self._errors)

    def _serve(self, index: int) -> None:
        rt: Runtime | None = None
        try:
            rt = Runtime(
                memory_limit=self.memory_limit,
                search_paths=self.search_paths,
                script_dir=self._script_dir(),
                modules_path=self.modules_path,
                globals_off=self.globals_off,
                log_stderr=self.log_stderr,
                control=Control(stop=self._stop),  # an idle loop's sleep ends on stop
            )
            handlers = PythonHandlers(rt)
            install_engine_hooks(
                rt,
                on_activity_task=handlers.note_activity_task,
                on_registered=self._note_registered,
                engine=self.engine,
                engine_url=self.url,
                wait_engine=self.wait_engine,
            )
            module = rt.require("assay.workflow")
            listen_opts = self._load_scripts(rt, module)
            for name, wf in self._workflows.items():
                rt.call(module[b"define"], name.encode(), handlers.workflow(wf))
            for name, act in self._activities.items():
                rt.call(module[b"activity"], name.encode(), handlers.activity(act))
            connect_opts = rt.to_lua({"token": self.token} if self.token else {})
            rt.call(module[b"connect"], self.url.encode(), connect_opts)
            queue = self.queue or listen_opts.get("queue") or DEFAULT_QUEUE
            opts: dict[str, Any] = {"queue": queue}
            identity = self.identity or listen_opts.get("identity")
            if identity:
                opts["identity"] = identity
            rt.call(module[b"listen"], rt.to_lua(opts))
        except WorkerStopped:
            logger.info("worker loop %d stopped", index)
        except EngineNeverAnswered as exc:  # the hook logged it
            self._errors.append(EngineUnavailableError(str(exc)))
            self._stop.set()
        except BaseException as exc:  # noqa: BLE001 - handed to run() and the other loops
            logger.error("worker loop %d failed: %s", index, exc)
            self._errors.append(exc)
            self._stop.set()
        finally:
            if rt is not None:
                rt.close()

    def _script_dir(self) -> Path | None:
        for src in self._lua:
            if src.path is not None:
                return src.path.resolve().parent
        return None

    def _load_scripts(self, rt: Runtime, module: Any) -> dict[str, Any]:
        recorded: dict[str, Any] = {}
        real_listen, real_connect = module[b"listen"], module[b"connect"]

        def deferred_listen(opts: Any = None, *_: Any) -> None:
            recorded.update(rt.to_python(opts) or {})

        def deferred_connect(url: Any = None, opts: Any = None, *_: Any) -> None:
            return None

        module[b"listen"] = rt.function(deferred_listen, "workflow.listen")
        module[b"connect"] = rt.function(deferred_connect, "workflow.connect")
        try:
            for src in self._lua:
                if src.path is not None:
                    rt.run_file(src.path)
                else:
                    rt.execute(src.source or "", src.chunk_name)
        finally:
            module[b"listen"], module[b"connect"] = real_listen, real_connect
        return recorded

    def _note_registered(self) -> None:
        with self._lock:
            self._registered_count += 1
            if self._registered_count >= self.concurrency:
                self._registered.set()
