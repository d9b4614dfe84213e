"""One sandboxed Lua 5.5 runtime with assay's globals.

A :class:`Runtime` is one Lua state with its own HTTP session; it is not shared between
threads (lupa serialises calls into one state, so concurrency means more runtimes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bridge.errors import LuaMemoryLimitError, LuaScriptError
from bridge.globals.args import LuaCallError
from bridge.runtime import convert, loader
from bridge.runtime.lua import (
    LuaError,
    LuaFunction,
    LuaMemoryError,
    LuaTable,
    new_state,
    split_position,
)

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024

# Run once per state, before the sandbox closes: keeps private references to what the
# bridge needs (traceback, load) and removes what assay's sandbox removes (lua-globals §1.1).
_SETUP = r"""
local as_function, find_module, read_file, on_loaded, ppath, pyobject = ...
local traceback, load, pack, unpack = debug.traceback, load, table.pack, table.unpack
local bridge = {}

function bridge.pcall(f, ...)
    local r = pack(xpcall(f, function(e)
        if type(e) == "string" then return { msg = e, tb = traceback("", 2) } end
        return { err = e, tb = traceback("", 2) }
    end, ...))
    return r
end

function bridge.compile(source, chunkname)
    local fn, err = load(source, chunkname, "t")
    return fn, err
end

function bridge.wrap(pyfunc)
    return as_function(pyfunc)
end

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
return bridge
"""


class Runtime:
    """A fresh, sandboxed Lua 5.5 runtime with assay's globals installed.

    Args:
        memory_limit: byte cap on Lua allocations (default 64 MiB, like assay); ``None``
            for no cap.
        search_paths: extra folders searched by ``require`` (``<dir>/?.lua``).
        script_dir: the running script's folder, searched too.
        modules_path: assay's modules folder (``$ASSAY_MODULES_PATH`` / ``~/.assay/modules``).
        log_stderr: write ``log.*`` lines to stderr in assay's format (they always also go
            to the Python logger ``assay``).
        color: colour those lines (assay does unless ``NO_COLOR`` is set).
        env_overrides: values ``env.get`` returns before the process environment.
    """

    def __init__(
        self,
        *,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        search_paths: Sequence[str | Path] = (),
        script_dir: str | Path | None = None,
        modules_path: str | Path | None = None,
        log_stderr: bool = True,
        color: bool = False,
        env_overrides: dict[str, str] | None = None,
    ) -> None:
        self.lua = new_state(max_memory=memory_limit)
        self.created_at = time.monotonic()
        self.log_stderr = log_stderr
        self.color = color
        self.env_overrides = dict(env_overrides or {})
        #: Set to ask the script to stop; an idle ``sleep`` ends at once when it is set.
        self.stop_event = threading.Event()
        #: True while a worker runs an activity: ``sleep`` then runs its full length.
        self.in_task = False
        # State of the globals, set by their install() (bridge.globals.http, .json).
        self.http_session: Any = None
        self.http_direct: Any = None
        self.http_engine_call = False
        self.json_codec: Any = None
        self.json_kept: list[Any] = []
        self._module_hooks: dict[str, list[Callable[[Any], Any]]] = {}
        self._modules_path = modules_path
        as_function = self.lua.eval("python.as_function")
        self._bridge = self.lua.compile(_SETUP.encode(), name=b"=bridge")(
            as_function,
            as_function(self._find_module),
            as_function(_read_file),
            as_function(self._on_loaded),
            loader.package_path(search_paths, script_dir).encode(),
            object(),
        )
        self._pcall = self._bridge[b"pcall"]
        self._wrap = self._bridge[b"wrap"]
        self._compile = self._bridge[b"compile"]
        self._tostring = self.lua.globals()[b"tostring"]
        from bridge.globals import install_all

        install_all(self)

    # -- values ------------------------------------------------------------------------------
    def to_lua(self, value: Any) -> Any:
        """Convert a plain Python value to a Lua value (tables for dicts and lists)."""
        return convert.to_lua(self.lua, value)

    def to_python(self, value: Any) -> Any:
        """Convert a Lua value to plain Python (dict/list/str/int/float/bool/None)."""
        return convert.to_python(value)

    def tostring(self, value: Any) -> str:
        """Lua's own ``tostring`` (Lua 5.5 number formatting), as ``str``."""
        out = self._tostring(value)
        return out.decode("utf-8", "replace") if isinstance(out, bytes) else str(out)

    def function(self, pyfunc: Callable[..., Any]) -> Any:
        """Wrap a Python callable as a real Lua function (``type(f) == "function"``)."""
        return self._wrap(pyfunc)

    def table(self, entries: dict[str, Any]) -> Any:
        """A Lua table from ``name -> value``; Python callables become Lua functions."""
        t = self.lua.table()
        for name, value in entries.items():
            t[name.encode()] = self.function(value) if callable(value) else value
        return t

    def set_global(self, name: str, value: Any) -> None:
        """Set a Lua global; Python callables become Lua functions, dicts become tables."""
        if isinstance(value, (LuaTable, LuaFunction)):
            pass
        elif isinstance(value, dict):
            value = self.table(value)
        elif callable(value):
            value = self.function(value)
        self.lua.globals()[name.encode()] = value

    def get_global(self, name: str) -> Any:
        """Read a Lua global."""
        return self.lua.globals()[name.encode()]

    # -- running code ------------------------------------------------------------------------
    def compile(self, source: str | bytes, chunk_name: str) -> Any:
        """Compile Lua source (text only, never bytecode) into a function."""
        src = source.encode() if isinstance(source, str) else source
        fn, err = self._compile(src, chunk_name.encode())
        if fn is None:
            msg = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
            chunk, line = split_position(msg)
            raise LuaScriptError(msg, chunk=chunk, line=line)
        return fn

    def call(self, fn: Any, *args: Any) -> Any:
        """Call a Lua function in protected mode.

        Lua errors become :class:`LuaScriptError` (message, traceback, chunk, line); a Python
        exception raised by a callback deeper down is re-raised as it was.

        Returns the function's results (a tuple when there are several, ``None`` for none).
        """
        try:
            r = self._pcall(fn, *args)
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
        info = r[2]
        if type(info) is not LuaTable:  # memory errors skip the message handler
            msg = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
            if "not enough memory" in msg:
                raise LuaMemoryLimitError(msg)
            raise LuaScriptError(msg)
        tb = info[b"tb"]
        tb_text = _trim_traceback(tb.decode("utf-8", "replace") if isinstance(tb, bytes) else "")
        err = info[b"err"]
        if isinstance(err, BaseException) and not isinstance(err, LuaCallError):
            raise err
        raw = info[b"msg"] if info[b"msg"] is not None else err
        if isinstance(raw, bytes):
            msg = raw.decode("utf-8", "replace")
        elif isinstance(raw, BaseException):
            msg = str(raw)
        else:
            msg = self.tostring(raw)
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
        data = Path(path).read_bytes()
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

        The hook may return a replacement module value (or ``None`` to keep it).
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
        """Release the runtime's resources (its HTTP session)."""
        session = getattr(self, "http_session", None)
        if session is not None:
            session.close()
        direct = getattr(self, "http_direct", None)
        if direct is not None:
            direct.close()


def _trim_traceback(tb: str) -> str:
    """Drop the bridge's own frames (the protected call) from a Lua traceback."""
    lines = tb.strip("\n").split("\n")
    for i, line in enumerate(lines):
        if "in global 'xpcall'" in line or "in function 'xpcall'" in line:
            return "\n".join(lines[:i])
    return "\n".join(lines)


def _first_lua_frame(tb: str) -> tuple[str | None, int | None]:
    for line in tb.split("\n")[1:]:
        chunk, num = split_position(line.strip() + " ")
        if chunk is not None and not chunk.startswith("["):
            return chunk, num
    return None, None


def _read_file(path: bytes) -> bytes:
    return Path(path.decode()).read_bytes()
