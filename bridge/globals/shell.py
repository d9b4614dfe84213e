"""``shell.exec(cmd, opts?)``: run ``/bin/sh -c <cmd>`` (lua-globals §3.17).

Synchronous, as in assay (§1.4 lists it among the builtins that block the runtime): spawned
tasks do not run while a command runs. Options (a non-table second argument is ignored):
``cwd``; ``env``, a table of strings added to the inherited environment; ``stdin``, a string
written to the child (otherwise its stdin is ``/dev/null``); ``timeout`` in float seconds.
The result is ``{status, stdout, stderr, timed_out}``: ``status`` is the exit code, or -1
when the process was killed by a signal or timed out; a non-zero exit does not raise. On a
timeout the child is killed and ``stdout`` / ``stderr`` are ``""``. Output is decoded as
UTF-8 with invalid bytes replaced, except with a ``timeout`` set, where invalid output comes
back as ``""`` (assay reads strictly on that path).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table, lua_bytes, to_number, to_str
from bridge.globals.fs import io_error_text

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

SHELL = "/bin/sh"


# Plain classes, not dataclasses: importing dataclasses costs every ``assay-bridge run`` a
# tenth of its start (W7 cold start).
class ShellResult:
    """What one command did (never changed)."""

    __slots__ = ("status", "stdout", "stderr", "timed_out")

    def __init__(self, status: int, stdout: str, stderr: str, timed_out: bool) -> None:
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    def __repr__(self) -> str:
        return (f"ShellResult(status={self.status!r}, stdout={self.stdout!r}, "
                f"stderr={self.stderr!r}, timed_out={self.timed_out!r})")

    def as_dict(self) -> dict[str, Any]:
        """The Lua result table's fields."""
        return {"status": self.status, "stdout": self.stdout, "stderr": self.stderr,
                "timed_out": self.timed_out}


def run_command(cmd: str, *, cwd: str | None = None, env: dict[str, str] | None = None,
                stdin: bytes | None = None, timeout_s: float | None = None) -> ShellResult:
    """Run ``cmd`` with ``/bin/sh -c``; ``LuaCallError`` with assay's texts on failure."""
    import subprocess  # on the first command, not when the global is installed

    child_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.Popen(  # noqa: S603 - running the script's command is the point
            [SHELL, "-c", cmd], cwd=cwd, env=child_env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise LuaCallError(f"shell.exec: failed to spawn command: {io_error_text(exc)}") from None
    try:
        out, err = proc.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        # the pipes are closed unread: a grandchild may still hold them open
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        return ShellResult(-1, "", "", True)
    except OSError as exc:
        proc.kill()
        proc.wait()
        raise LuaCallError(f"shell.exec: failed to write stdin: {io_error_text(exc)}") from None
    status = proc.returncode if proc.returncode >= 0 else -1
    if timeout_s is None:
        return ShellResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), False)
    return ShellResult(status, _strict(out), _strict(err), False)


def _strict(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def install(rt: LuaHost) -> None:
    """Install the ``shell`` global."""

    def exec_(cmd: Any = None, opts: Any = None, *_ignored: Any) -> Any:
        command = to_str(rt, cmd)
        cwd: str | None = None
        env: dict[str, str] | None = None
        stdin: bytes | None = None
        timeout_s: float | None = None
        if is_table(opts):
            if opts[b"cwd"] is not None:
                cwd = to_str(rt, opts[b"cwd"], 2)
            if is_table(opts[b"env"]):
                env = {to_str(rt, k, 2): to_str(rt, v, 2) for k, v in opts[b"env"].items()}
            if opts[b"stdin"] is not None:
                stdin = lua_bytes(rt, opts[b"stdin"], 2)
            if opts[b"timeout"] is not None:
                timeout_s = to_number(opts[b"timeout"], 2)
                if not math.isfinite(timeout_s) or timeout_s < 0:
                    raise LuaCallError("shell.exec: timeout must be a non-negative finite number")
        result = run_command(command, cwd=cwd, env=env, stdin=stdin, timeout_s=timeout_s)
        return rt.to_lua(result.as_dict())

    rt.set_global("shell", {"exec": exec_})
