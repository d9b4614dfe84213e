"""One sandboxed Lua 5.5 state: the host that assay's globals are installed into.

A :class:`LuaHost` owns a lupa state, its :class:`~bridge.runtime.boundary.Boundary` (the
one way Python and Lua meet), its task :class:`~bridge.runtime.scheduler.Scheduler`, the
``require`` searchers, and the typed state of each global. It knows no global:
:class:`bridge.runtime.runtime.Runtime` is a host with assay's globals installed.

A host is used by one thread at a time (lupa serialises calls into one state, so concurrency
means more hosts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from bridge.errors import LuaMemoryLimitError, LuaScriptError
from bridge.runtime import convert, loader
from bridge.runtime.boundary import COMPILE, PCALL, TOSTRING, Anchor, Boundary, LuaCallError
from bridge.runtime.lua import (
    LuaError,
    LuaFunction,
    LuaMemoryError,
    LuaTable,
    new_state,
    split_position,
)
from bridge.runtime.scheduler import SCHEDULER_LUA, Scheduler

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024

T = TypeVar("T")

# Run once per state, after the boundary took what it needs (load, traceback) and before the
# sandbox closes: assay's ``require`` searchers, and what assay's sandbox removes (lua-globals §1.1).
_SETUP = r"""
local find_module, read_file, on_loaded, ppath, pyobject = ...
local load = load
package.path = ppath
package.cpath = ""
package.loadlib = function() error("package.loadlib is disabled in safe mode") end
-- keep preload; the Lua-file searcher is replaced by a text-only one (Lua's own accepts
-- precompiled bytecode, which can break out of any Lua sandbox); drop the C searchers; add assay's
local searchers = package.searchers
while #searchers > 1 do table.remove(searchers) end
local searchpath, sformat = package.searchpath, string.format
searchers[2] = function(name)
    local path, err = searchpath(name, package.path)
    if not path then return err end
    local fn, lerr = load(read_file(path), "@" .. path, "t")
    if not fn then
        error(sformat("error loading module '%s' from file '%s':\n\t%s", name, path, lerr), 0)
    end
    return fn, path
end
searchers[#searchers + 1] = function(name)
    local found = find_module(name)
    if type(found) == "string" then return "\n\t" .. found end
    local path, chunk = found[1], found[2]
    local fn, err = load(read_file(path), chunk, "t")
    if not fn then error(err, 0) end
    return function(...)
        local mod = fn(...)
        return on_loaded(name, mod)
    end, path
end

-- the metatable of every Python object (lupa's POBJECT): hidden and frozen
getmetatable(pyobject).__metatable = false
package.loaded.python = nil
_G.python = nil
_G.debug = nil
package.loaded.debug = nil
_G.loadfile = nil
_G.dofile = nil
_G.load = nil
string.dump = nil
"""


#: ``logging.INFO``: the host does not import :mod:`logging` (``assay-bridge run``'s start).
LOG_INFO = 20


# Plain classes rather than dataclasses: importing dataclasses imports inspect, ast and dis,
# a tenth of ``assay-bridge run``'s start (W7 cold start).
class Control:
    """What a worker (or ``assay-bridge run``) tells the scripts it runs.

    Attributes:
        stop: set to ask the script to stop; an idle ``sleep`` ends at once when it is set.
        in_task: True while a worker runs an activity: ``sleep`` then runs its full length.
    """

    __slots__ = ("stop", "in_task")

    def __init__(self, stop: threading.Event | None = None, in_task: bool = False) -> None:
        self.stop = threading.Event() if stop is None else stop
        self.in_task = in_task

    def __repr__(self) -> str:
        return f"Control(stop={self.stop!r}, in_task={self.in_task!r})"


class Options:
    """How the globals present themselves (set when the host is made).

    Attributes:
        log_stderr: write ``log.*`` lines to stderr in assay's format (they always also go
            to the Python logger ``assay``).
        color: colour those lines (assay does unless ``NO_COLOR`` is set).
        log_level: the lowest level written to stderr (a :mod:`logging` level).
        env_overrides: values ``env.get`` returns before the process environment.
    """

    __slots__ = ("log_stderr", "color", "log_level", "env_overrides")

    def __init__(self, log_stderr: bool = True, color: bool = False, log_level: int = LOG_INFO,
                 env_overrides: dict[str, str] | None = None) -> None:
        self.log_stderr = log_stderr
        self.color = color
        self.log_level = log_level
        self.env_overrides = {} if env_overrides is None else env_overrides

    def __repr__(self) -> str:
        return (f"Options(log_stderr={self.log_stderr!r}, color={self.color!r}, "
                f"log_level={self.log_level!r}, env_overrides={self.env_overrides!r})")


class LuaHost:
    """A fresh, sandboxed Lua 5.5 state, with no globals of assay's yet.

    Args:
        memory_limit: byte cap on Lua allocations (default 64 MiB, like assay); ``None``
            for no cap.
        search_paths: extra folders searched by ``require`` (``<dir>/?.lua``).
        script_dir: the running script's folder, searched too.
        modules_path: assay's modules folder (``$ASSAY_MODULES_PATH`` / ``~/.assay/modules``).
        control: the stop and in-activity signals (a fresh :class:`Control` by default).
        options: how the globals present themselves (:class:`Options`).
    """

    def __init__(
        self,
        *,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        search_paths: Sequence[str | Path] = (),
        script_dir: str | Path | None = None,
        modules_path: str | Path | None = None,
        control: Control | None = None,
        options: Options | None = None,
    ) -> None:
        self.lua = new_state(max_memory=memory_limit)
        self.created_at = time.monotonic()
        self.control = control or Control()
        self.options = options or Options()
        self.boundary = Boundary(self.lua)
        self._states: dict[type, Any] = {}
        self._closers: list[Callable[[], None]] = []
        self._module_hooks: dict[str, list[Callable[[Any], Any]]] = {}
        self._modules_path = modules_path
        self.lua.compile(_SETUP.encode(), name=b"=bridge")(
            self.function(self._find_module, "require"),
            self.function(_read_file, "require"),
            self.function(self._on_loaded, "require"),
            loader.package_path(search_paths, script_dir).encode(),
            object(),
        )
        self.scheduler = Scheduler(self.boundary,
                                   self.call(self.compile(SCHEDULER_LUA, "=bridge.scheduler")))

    # -- the globals' state -----------------------------------------------------------------
    def provide(self, state: T, close: Callable[[], None] | None = None) -> T:
        """Keep a global's state object, found again by its type with :meth:`state`.

        ``close`` is called by :meth:`close`.
        """
        self._states[type(state)] = state
        if close is not None:
            self._closers.append(close)
        return state

    def state(self, kind: type[T]) -> T:
        """The state object of type ``kind`` a global provided (``KeyError`` if none)."""
        found: T = self._states[kind]
        return found

    # -- values ------------------------------------------------------------------------------
    def to_lua(self, value: Any) -> Any:
        """Convert a plain Python value to a Lua value (tables for dicts and lists)."""
        return convert.to_lua(self.lua, value)

    def to_python(self, value: Any) -> Any:
        """Convert a Lua value to plain Python (dict/list/str/int/float/bool/None)."""
        return convert.to_python(value)

    def tostring(self, value: Any) -> str:
        """Lua's own ``tostring`` (Lua 5.5 number formatting), as ``str``."""
        out = self.boundary.helper(TOSTRING)(value)
        return out.decode("utf-8", "replace") if isinstance(out, bytes) else str(out)

    def function(self, pyfunc: Callable[..., Any], name: str | None = None, *,
                 user_code: bool = False) -> Any:
        """Export a Python callable as a Lua function (``type(f) == "function"``).

        Errors it raises reach Lua as error values (see :meth:`Boundary.export`); ``name``
        is what an unexpected failure is reported as.
        """
        label = name or str(getattr(pyfunc, "__name__", "bridge"))
        return self.boundary.export(pyfunc, label, user_code=user_code)

    def anchor(self, value: Any) -> Anchor:
        """Keep a Lua value beyond the current call (see :mod:`bridge.runtime.boundary`)."""
        return self.boundary.anchor(value)

    def table(self, entries: dict[str, Any], prefix: str = "") -> Any:
        """A Lua table from ``name -> value``; Python callables become Lua functions named
        ``<prefix><name>``."""
        t = self.lua.table()
        for name, value in entries.items():
            t[name.encode()] = self.function(value, prefix + name) if callable(value) else value
        return t

    def set_global(self, name: str, value: Any) -> None:
        """Set a Lua global; Python callables become Lua functions, dicts become tables whose
        functions are named ``<global>.<key>`` in error messages."""
        if isinstance(value, (LuaTable, LuaFunction)):
            pass
        elif isinstance(value, dict):
            value = self.table(value, name + ".")
        elif callable(value):
            value = self.function(value, name)
        self.lua.globals()[name.encode()] = value

    def get_global(self, name: str) -> Any:
        """Read a Lua global."""
        return self.lua.globals()[name.encode()]

    # -- running code ------------------------------------------------------------------------
    def compile(self, source: str | bytes, chunk_name: str) -> Any:
        """Compile Lua source (text only, never bytecode) into a function."""
        src = source.encode() if isinstance(source, str) else source
        fn, err = self.boundary.helper(COMPILE)(src, chunk_name.encode())
        if fn is None:
            msg = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
            chunk, line = split_position(msg)
            raise LuaScriptError(msg, chunk=chunk, line=line)
        return fn

    def call(self, fn: Any, *args: Any, reraise: tuple[type[BaseException], ...] = ()) -> Any:
        """Call a Lua function in protected mode.

        Lua errors become :class:`LuaScriptError` (message, traceback, chunk, line); a Python
        exception raised by a callback deeper down that is not a :class:`LuaCallError` (a
        stop, an interrupt, a user handler's error), or is one of ``reraise``, is re-raised
        as it was.

        Returns the function's results (a tuple when there are several, ``None`` for none).
        """
        try:
            r = self.boundary.helper(PCALL)(fn, *args)
        except LuaMemoryError as exc:
            raise LuaMemoryLimitError("not enough memory (Lua memory limit reached)") from exc
        except LuaError as exc:  # error inside the error handler itself
            raise LuaScriptError(str(exc)) from exc
        n = r[b"n"]
        if r[1]:
            if n <= 1:
                return None
            if n == 2:
                return r[2]
            return tuple(r[i] for i in range(2, n + 1))
        info: Any = r[2]
        del r
        # Only Python values leave this point: a raised exception's traceback keeps this
        # frame, and a Lua object in it would outlive the thread it belongs to.
        if type(info) is not LuaTable:  # memory errors skip the message handler
            msg = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
            del info
            if "not enough memory" in msg:
                raise LuaMemoryLimitError(msg)
            raise LuaScriptError(msg)
        tb = info[b"tb"]
        err = info[b"err"]
        raw = info[b"msg"] if info[b"msg"] is not None else err
        del info
        tb_text = _trim_traceback(tb.decode("utf-8", "replace") if isinstance(tb, bytes) else "")
        if isinstance(err, BaseException) and (not isinstance(err, LuaCallError)
                                                or isinstance(err, reraise)):
            raise err
        if isinstance(raw, bytes):
            msg = raw.decode("utf-8", "replace")
        elif isinstance(raw, BaseException):
            msg = str(raw)
        else:
            msg = self.tostring(raw)
        del raw, err
        chunk, line = split_position(msg)
        if chunk is None:
            chunk, line = _first_lua_frame(tb_text)
        if "not enough memory" in msg:
            raise LuaMemoryLimitError(msg, lua_traceback=tb_text, chunk=chunk, line=line)
        raise LuaScriptError(msg, lua_traceback=tb_text, chunk=chunk, line=line)

    def execute(self, source: str | bytes, chunk_name: str = "=<eval>", *args: Any) -> Any:
        """Compile and run Lua source; returns what the chunk returns."""
        return self.call(self.compile(source, chunk_name), *args)

    def run_file(self, path: str | Path, *args: Any) -> Any:
        """Run a Lua script file like ``assay run``: shebang line removed, chunk ``@<path>``."""
        with open(path, "rb") as fh:
            data = fh.read()
        if data.startswith(b"#!"):
            nl = data.find(b"\n")
            data = b"" if nl < 0 else data[nl + 1 :]
        return self.execute(data, f"@{path}", *args)

    def require(self, name: str) -> Any:
        """Lua's ``require(name)``; returns the module value."""
        result = self.call(self.get_global("require"), name.encode())
        return result[0] if isinstance(result, tuple) else result

    def on_module_loaded(self, name: str, hook: Callable[[Any], Any]) -> None:
        """Call ``hook(module_table)`` when ``require`` first loads ``name`` from a file.

        The hook runs inside ``require`` (in Lua); it may return a replacement module value
        (or ``None`` to keep it).
        """
        self._module_hooks.setdefault(name, []).append(hook)

    # -- internals ---------------------------------------------------------------------------
    def _find_module(self, name: bytes) -> Any:
        found = loader.find_assay_module(name.decode("utf-8", "replace"), self._modules_path)
        if isinstance(found, str):
            return found.encode()
        return self.lua.table_from([found[0].encode(), found[1].encode()])

    def _on_loaded(self, name: bytes, module: Any) -> Any:
        for hook in self._module_hooks.get(name.decode(), []):
            replaced = hook(module)
            if replaced is not None:
                module = replaced
        return module

    def close(self) -> None:
        """End the script's tasks and timers and release the globals' resources."""
        self.scheduler.close()
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def _trim_traceback(tb: str) -> str:
    """Drop the bridge's own frames (the boundary's shim, the protected call) from a Lua
    traceback."""
    lines = [ln for ln in tb.strip("\n").split("\n") if not _is_bridge_frame(ln)]
    # an error raised by a global: the shim's ``error`` call and its tail call come first
    if len(lines) > 2 and lines[1].strip() == "[C]: in upvalue 'error'" \
            and lines[2].strip() == "(...tail calls...)":
        del lines[1:3]
    for i, line in enumerate(lines):
        if line.strip().startswith("[C]: in ") and line.strip().endswith("'xpcall'"):
            return "\n".join(lines[:i])
    return "\n".join(lines)


def _is_bridge_frame(line: str) -> bool:
    text = line.strip()
    return text.startswith("bridge:") or text.startswith("bridge.")


def _first_lua_frame(tb: str) -> tuple[str | None, int | None]:
    for line in tb.split("\n")[1:]:
        chunk, num = split_position(line.strip() + " ")
        if chunk is not None and not chunk.startswith("[") and not chunk.startswith("bridge"):
            return chunk, num
    return None, None


def _read_file(path: bytes) -> bytes:
    with open(path.decode(), "rb") as fh:
        return fh.read()
