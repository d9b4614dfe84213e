"""The boundary's own guarantees (bridge/runtime/boundary.py)."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest

from bridge.globals.args import LuaCallError
from bridge.runtime.lua import LuaFunction, LuaTable
from bridge.runtime.runtime import Runtime


def _lua_objects_reachable(obj: Any, depth: int = 0, seen: set[int] | None = None) -> list[str]:
    """Lua objects held by a function's closure (through cells, functions, plain objects)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen or depth > 4:
        return []
    seen.add(id(obj))
    if isinstance(obj, (LuaTable, LuaFunction)):
        return [repr(obj)]
    found: list[str] = []
    children: list[Any] = []
    if callable(obj) and hasattr(obj, "__closure__"):
        children += [c.cell_contents for c in (obj.__closure__ or ()) if _filled(c)]
        children += list((obj.__defaults__ or ()))
    elif hasattr(obj, "__self__"):
        children.append(obj.__self__)
    elif isinstance(obj, (list, tuple, set)):
        children += list(obj)
    elif isinstance(obj, dict):
        children += list(obj.values())
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("bridge"):
        children += list(vars(obj).values())
    for child in children:
        if isinstance(child, Runtime) or type(child).__name__ in ("Boundary", "LuaHost"):
            continue  # the host's own root view is the one main-state object allowed
        found += _lua_objects_reachable(child, depth + 1, seen)
    return found


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def test_no_exported_function_holds_a_lua_object() -> None:
    rt = Runtime(log_stderr=False)
    try:
        rt.require("assay.workflow")
        held = {name: found for name, fn in rt.boundary.exported
                if (found := _lua_objects_reachable(fn))}
        assert held == {}
        assert len(rt.boundary.exported) > 60
    finally:
        rt.close()


def test_the_check_finds_a_captured_lua_object() -> None:
    rt = Runtime(log_stderr=False)
    try:
        table = rt.execute("return {}")
        rt.set_global("bad", lambda: table[b"x"])
        assert any(name == "bad" and _lua_objects_reachable(fn) for name, fn in rt.boundary.exported)
    finally:
        rt.close()


class _Marker:
    pass


def test_an_error_keeps_nothing_of_its_call_alive() -> None:
    rt = Runtime(log_stderr=False)
    refs: list[weakref.ref[_Marker]] = []

    def failing(arg: Any) -> None:
        marker = _Marker()
        refs.append(weakref.ref(marker))
        raise LuaCallError(f"no {arg!r:.0}{id(marker) and ''}")

    rt.set_global("failing", failing)
    try:
        gc.disable()
        msg = rt.execute("local co = coroutine.create(function() return pcall(failing, {1}) end)"
                         " local _, ok, e = coroutine.resume(co) return tostring(e)")
        assert msg == b"no "
        assert refs[0]() is None  # the frame (and its Lua argument) went with the call
    finally:
        gc.enable()
        rt.close()


def test_an_unexpected_python_error_reads_as_an_internal_error(caplog: pytest.LogCaptureFixture) -> None:
    rt = Runtime(log_stderr=False)
    rt.set_global("broken", lambda: {}["missing"])
    try:
        assert rt.execute("local ok, e = pcall(broken) return tostring(e)") == b"broken: internal error"
        assert "KeyError" in caplog.text  # the traceback, as text, is in the log
    finally:
        rt.close()


def test_a_runtime_in_a_call_refuses_another_thread() -> None:
    rt = Runtime(log_stderr=False)
    seen: list[BaseException] = []

    def from_other_thread() -> None:
        try:
            rt.tostring(1)
        except RuntimeError as exc:
            seen.append(exc)

    def probe() -> None:
        t = threading.Thread(target=from_other_thread)
        t.start()
        t.join()

    rt.set_global("probe", probe)
    try:
        rt.execute("probe()")
        assert len(seen) == 1 and "another thread" in str(seen[0])
    finally:
        rt.close()
