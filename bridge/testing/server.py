"""A real engine on a free port, for tests: :class:`EngineServer`.

It starts ``python -m bridge serve --port 0 --port-file ...`` as a child process on a SQLite
file (a temporary directory unless you give a backend URL), waits until the port file appears and
``/api/v1/health`` answers, and stops it again. Nothing is faked: requests go over a real socket
to the same code ``assay-bridge serve`` runs::

    from bridge.testing import EngineServer

    with EngineServer() as engine:
        requests.post(f"{engine.url}/api/v1/workflows", json={...})
        engine.kill()      # SIGKILL, as a crash would
        engine.start()     # the same database, a new port

The child's log goes to :attr:`EngineServer.log_path`; when it fails to start, the error
carries the end of that log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from bridge.errors import BridgeError
from bridge.wire import API_PREFIX

#: How long :meth:`EngineServer.start` waits for the engine to listen.
DEFAULT_STARTUP_TIMEOUT_S = 30.0
#: How long :meth:`EngineServer.stop` waits for a graceful exit before SIGKILL.
DEFAULT_STOP_TIMEOUT_S = 15.0
#: assay's variables that ``serve`` reads; with every ``ASSAY_BRIDGE_*`` one they are not passed
#: on to the child unless given in ``env``.
_SERVE_VARIABLES = frozenset({"DATABASE_URL", "ASSAY_WF_DISPATCH_TIMEOUT_SECS"})
#: The interval at which the port file and health endpoint are checked while starting.
_CHECK_INTERVAL_S = 0.02


class EngineServerError(BridgeError):
    """The engine process did not start, or exited when it should not have.

    Attributes:
        log_tail: the end of the engine's log, to see why.
    """

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(f"{message}\n--- engine log (end) ---\n{log_tail}" if log_tail else message)
        self.log_tail = log_tail


class EngineServer:
    """An ``assay-bridge serve`` child process on a free port.

    Args:
        backend_url: the engine store; default a ``sqlite:///`` file in a temporary directory
            that is removed by :meth:`close`.
        auth_api_key: start with API-key auth on (mint keys with :meth:`create_api_key`).
        poll_wait_s: ``--poll-wait-secs``; None keeps the server default.
        dispatch_timeout_s: ``--dispatch-timeout-secs``; None keeps the server default.
        extra_args: more ``serve`` flags, passed as they are.
        env: extra environment variables for the child. The child gets this process's
            environment without ``DATABASE_URL``, ``ASSAY_WF_DISPATCH_TIMEOUT_SECS`` and
            ``ASSAY_BRIDGE_*`` (so a developer's shell cannot change the server), then ``env``.
        startup_timeout_s: how long :meth:`start` waits for the engine to listen.
        python: the interpreter that runs ``-m bridge``.

    The instance is a context manager: entering starts the server (unless running), leaving
    stops it and removes the temporary directory.
    """

    def __init__(
        self,
        *,
        backend_url: str | None = None,
        auth_api_key: bool = False,
        poll_wait_s: float | None = None,
        dispatch_timeout_s: float | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        python: str = sys.executable,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="assay-bridge-engine-")
        self.directory = Path(self._tmp.name)
        self.backend_url = backend_url or f"sqlite:///{self.directory / 'engine.db'}"
        self.auth_api_key = auth_api_key
        self.poll_wait_s = poll_wait_s
        self.dispatch_timeout_s = dispatch_timeout_s
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self.startup_timeout_s = startup_timeout_s
        self.python = python
        self.log_path = self.directory / "engine.log"
        self._port_file = self.directory / "engine.port"
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the running engine listens on."""
        if self._port is None:
            raise EngineServerError("the engine is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base URL of the running engine, e.g. ``http://127.0.0.1:43127`` (no ``/api/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """``url`` plus ``/api/v1``."""
        return f"{self.url}{API_PREFIX}"

    @property
    def pid(self) -> int | None:
        """The engine's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        """Everything the engine has logged so far (all runs)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The command line that :meth:`start` runs."""
        cmd = [
            self.python, "-m", "bridge", "serve",
            "--host", "127.0.0.1",
            "--port", "0",
            "--port-file", str(self._port_file),
            "--backend", self.backend_url,
        ]  # fmt: skip
        cmd.append("--auth-api-key" if self.auth_api_key else "--no-auth-api-key")
        if self.poll_wait_s is not None:
            cmd += ["--poll-wait-secs", repr(float(self.poll_wait_s))]
        if self.dispatch_timeout_s is not None:
            cmd += ["--dispatch-timeout-secs", repr(float(self.dispatch_timeout_s))]
        cmd += self.extra_args
        return cmd

    def start(self) -> EngineServer:
        """Start the engine and wait until it answers ``/api/v1/health``.

        Raises:
            EngineServerError: it is already running, exited, or did not listen in time.
        """
        if self.running:
            raise EngineServerError("the engine is already running")
        self._port_file.unlink(missing_ok=True)
        self._port = None
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        for name in list(env):
            if name in _SERVE_VARIABLES or name.startswith("ASSAY_BRIDGE_"):
                if name not in self.env:
                    del env[name]  # the constructor decides; a stray variable must not
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env,
            )  # fmt: skip
        try:
            self._port = self._await_listening()
        except BaseException:
            self.kill()
            raise
        return self

    def _await_listening(self) -> int:
        deadline = time.monotonic() + self.startup_timeout_s
        port: int | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise EngineServerError(
                    f"the engine exited with code {code} while starting", self._log_tail()
                )
            if port is None:
                port = self._read_port()
            if port is not None and _healthy(port):
                return port
            time.sleep(_CHECK_INTERVAL_S)
        raise EngineServerError(
            f"the engine did not listen within {self.startup_timeout_s:g} s", self._log_tail()
        )

    def _read_port(self) -> int | None:
        try:
            text = self._port_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def stop(self, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> int | None:
        """Stop gracefully (SIGTERM); SIGKILL if it has not exited after ``timeout_s``.

        Returns:
            The exit code, or None if the engine was not running.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None
        self._port = None
        return process.returncode

    def kill(self) -> None:
        """SIGKILL the engine at once, as a crash would; the database is left as it is."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._process = None
        self._port = None

    def restart(self) -> EngineServer:
        """Stop gracefully and start again on the same database (the port changes)."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the engine and remove the temporary directory."""
        try:
            self.stop()
        finally:
            self._tmp.cleanup()

    def create_api_key(self, label: str | None = None) -> str:
        """Mint an API key on this engine's backend (``serve create-api-key``) and return it."""
        cmd = [self.python, "-m", "bridge", "serve", "create-api-key", "--backend",
               self.backend_url]  # fmt: skip
        if label is not None:
            cmd += ["--label", label]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise EngineServerError(f"create-api-key failed with code {done.returncode}",
                                    done.stderr)  # fmt: skip
        return done.stdout.strip()

    def _log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def __enter__(self) -> EngineServer:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not running"
        return f"<EngineServer {where} backend={self.backend_url}>"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{API_PREFIX}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False
