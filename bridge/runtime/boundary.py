"""The one place where Python and Lua meet, and its one rule for coroutines.

lupa ties every Lua object it hands to Python (``_LuaTable``, ``_LuaFunction``) to the
``lua_State`` of the Lua thread it came from, and runs every later operation on that object on
that thread's stack (lupa-notes §1.9):

* touched while another thread (a coroutine) runs, a main-state object reads the wrong stack
  slots: ``t[k]`` answers ``(<Lua thread>, value)``, a call truncates the running frame;
* touched after its coroutine was collected, it reads freed memory (a segfault), and so does
  its own deallocation.

**The rule.** Python touches a Lua object only during the Lua -> Python call that handed it
over or created it, and only objects that came through that call. What must outlive a call
lives in Lua, in the runtime's *anchor table*, and Python keeps only its key (an
:class:`Anchor`). Every Python function exported to Lua is called through a Lua shim that
passes the anchor table as a hidden first argument, so inside the call Python reaches anchored
values through a view that is valid on the calling thread; at the top level (no Lua running)
the view is the main state's own.

Exceptions never cross into lupa: an exported function's error is handed back as a value and
raised by the shim in Lua, with its traceback dropped. (lupa keeps the last exception that
crossed, traceback and frames included, on the runtime; frames hold the call's Lua objects,
which then outlive their coroutine.)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

from bridge.errors import LuaScriptError
from bridge.runtime.lua import LuaError, LuaMemoryError

#: Coroutines kept alive after they called Python, before a cycle collection frees them.
#: A full collection walks every object of the process (~15 ms with the engine and worker
#: loaded), so it should be rare: a workflow task pins one or two coroutines, and the memory
#: bound below usually comes first.
PIN_LIMIT = 2048
#: ...or fewer, once Lua's memory grew this much (KiB) since the last collection: a pinned
#: coroutine keeps what it references (a workflow task's whole history), so counting them
#: alone lets a long workflow's replays fill the memory limit.
PIN_GROWTH_KB = 8 * 1024

# Fixed slots of the anchor table (allocated keys start after them).
EXPORT, PCALL, COMPILE, TOSTRING = 1, 2, 3, 4
_FIRST_FREE = 16

_BOOT = r"""
local as_function, load, traceback, collect, pin_limit, growth_kb = ...
local xpcall, pack, error, type, tostring, next = xpcall, table.pack, error, type, tostring, next
local running, status = coroutine.running, coroutine.status
local anchors = {}

-- Every coroutine that called Python stays alive until Python's cycle collector has run
-- since it stopped running: objects Python made in that call may sit in cyclic garbage
-- (an exception's frames), and freeing them after their thread would read freed memory.
local pins, npins = {}, 0
local gccount = collectgarbage
local collected_at = gccount("count")
local function pin()
    local co, main = running()
    if main or pins[co] then return end
    pins[co] = true
    npins = npins + 1
    if npins >= pin_limit or gccount("count") - collected_at > growth_kb then
        collect()
        npins = 0
        for c in next, pins do
            local s = status(c)
            if s == "dead" or s == "suspended" then pins[c] = nil else npins = npins + 1 end
        end
        gccount("collect")
        collected_at = gccount("count")
    end
end

local function finish(ok, ...)
    if ok then return ... end
    error((...), 0)
end

anchors[1] = function(pyfn)
    local f = as_function(pyfn)
    return function(...)
        pin()
        return finish(f(anchors, ...))
    end
end

local function handler(e)
    if type(e) == "string" then return { msg = e, tb = traceback("", 2) } end
    return { err = e, tb = traceback("", 2) }
end
anchors[2] = function(f, ...) return pack(xpcall(f, handler, ...)) end
anchors[3] = function(source, chunkname)
    local fn, err = load(source, chunkname, "t")
    return fn, err
end
anchors[4] = tostring
return anchors
"""


class LuaCallError(Exception):
    """An error a Python function raises into Lua; ``str()`` is the text Lua code sees."""


class Anchor:
    """A Lua value kept for Python on the main state, reached through the calling thread.

    Calling an anchor calls the anchored Lua function; :meth:`get` returns the value itself,
    valid until the current Lua -> Python call returns.
    """

    __slots__ = ("_boundary", "key")

    def __init__(self, boundary: Boundary, key: int) -> None:
        self._boundary = boundary
        self.key = key

    def get(self) -> Any:
        """The anchored value, as seen from the thread Python was called on."""
        return self._boundary.view()[self.key]

    def __call__(self, *args: Any) -> Any:
        return self._boundary.view()[self.key](*args)

    def release(self) -> None:
        """Let Lua collect the value (the anchor must not be used afterwards)."""
        self._boundary.release(self)


class Boundary:
    """The anchor table, the stack of per-call views, and the export of Python functions.

    One per Lua state; see the module docstring for the rule it enforces.
    """

    def __init__(self, lua: Any) -> None:
        self.lua = lua
        as_function = lua.eval("python.as_function")
        # built before the sandbox removes ``load`` and ``debug`` from the globals
        self._root = lua.compile(_BOOT.encode(), name=b"=bridge")(
            as_function, lua.eval("load"), lua.eval("debug.traceback"), as_function(_collect),
            PIN_LIMIT, PIN_GROWTH_KB,
        )
        self._views: list[Any] = []
        #: ``(name, function)`` of every export, for checks that nothing holds a Lua object.
        self.exported: list[tuple[str, Callable[..., Any]]] = []
        self._thread: int | None = None
        self._next_key = _FIRST_FREE
        self._free: list[int] = []

    # -- views ----------------------------------------------------------------------------
    def view(self) -> Any:
        """The anchor table as valid on the thread that called Python (the main state's own
        at the top level)."""
        views = self._views
        if views:
            if threading.get_ident() != self._thread:
                raise RuntimeError("a Lua runtime is in use by another thread")
            return views[-1]
        return self._root

    # -- anchors --------------------------------------------------------------------------
    def anchor(self, value: Any) -> Anchor:
        """Keep ``value`` (any Lua value) in Lua; the returned :class:`Anchor` reaches it."""
        key = self._free.pop() if self._free else self._take_key()
        self.view()[key] = value
        return Anchor(self, key)

    def _take_key(self) -> int:
        key = self._next_key
        self._next_key += 1
        return key

    def release(self, anchor: Anchor) -> None:
        """Drop an anchored value."""
        self.view()[anchor.key] = None
        self._free.append(anchor.key)

    # -- Python into Lua ------------------------------------------------------------------
    def export(self, fn: Callable[..., Any], name: str, *, user_code: bool = False) -> Any:
        """``fn`` as a Lua function.

        ``fn`` returns one value, or a tuple of several. An error it raises reaches Lua as an
        error value whose ``tostring`` is its message: a :class:`LuaCallError` as it is; any
        other ``Exception`` as ``"<name>: internal error"`` (logged with its traceback), or,
        with ``user_code``, as the exception itself (a user's handler); a ``BaseException``
        that is not an ``Exception`` (a stop, an interrupt) travels as itself so the Python
        caller of the Lua code re-raises it. Tracebacks never travel.
        """
        views = self._views

        def call(anchors: Any, *args: Any) -> Any:
            if not views:
                self._thread = threading.get_ident()
            views.append(anchors)
            del anchors
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - every error is handed to Lua as a value
                return False, _error_value(exc, name, user_code)
            finally:
                views.pop()
                del args  # this frame may outlive the call (an inner frame's f_back)
            if type(result) is tuple:
                return (True, *result)
            return True, result

        self.exported.append((name, fn))
        return self.view()[EXPORT](call)

    def helper(self, slot: int) -> Any:
        """One of the boundary's own Lua helpers (``PCALL``, ``COMPILE``, ``TOSTRING``)."""
        return self.view()[slot]


def _collect() -> int:
    return gc.collect()


def _error_value(exc: BaseException, name: str, user_code: bool) -> BaseException:
    if isinstance(exc, LuaCallError):
        pass
    elif isinstance(exc, LuaMemoryError):
        exc = LuaCallError("not enough memory")
    elif isinstance(exc, LuaScriptError):  # a protected call below this one: its Lua error
        exc = LuaCallError(exc.message)
    elif isinstance(exc, LuaError):
        # a Lua error raised below this call (a Lua callback the function called): its text
        exc = LuaCallError(str(exc).split("\nstack traceback:", 1)[0])
    elif isinstance(exc, Exception) and not user_code:
        # the traceback as text: a log record keeping the exception would keep its frames.
        # logging and traceback are imported here, on a failure, not with the runtime.
        import logging
        import traceback

        logging.getLogger(__name__).error("%s: internal error\n%s", name, "".join(traceback.format_exception(exc)))
        exc = LuaCallError(f"{name}: internal error")
    return strip(exc)


def strip(exc: BaseException) -> BaseException:
    """``exc`` without its traceback and chained exceptions (their frames hold Lua objects)."""
    exc.__traceback__ = None
    exc.__context__ = None
    exc.__cause__ = None
    return exc
