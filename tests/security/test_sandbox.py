"""The Lua sandbox gives a script no path into the Python interpreter (docs/security.md).

Every test is an attempt to break out, run on a real runtime (lupa's Lua 5.5).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lupa.lua55  # only to make bytecode with an unsandboxed state; the bridge never does
import pytest

from bridge.errors import LuaMemoryLimitError, LuaScriptError
from bridge.runtime.runtime import Runtime


@pytest.fixture
def rt() -> Iterator[Runtime]:
    r = Runtime(log_stderr=False)
    yield r
    r.close()


@pytest.mark.parametrize("name", ["python", "load", "loadstring", "loadfile", "dofile", "debug"])
def test_escape_hatches_are_absent(rt: Runtime, name: str) -> None:
    assert rt.execute(f"return {name} == nil and package.loaded.{name} == nil")


def test_string_dump_and_c_loading_are_absent(rt: Runtime) -> None:
    assert rt.execute("return string.dump == nil and package.cpath == ''")
    with pytest.raises(LuaScriptError, match="disabled"):
        rt.execute("package.loadlib('/lib/x86_64-linux-gnu/libc.so.6', 'system')")


@pytest.mark.parametrize("module", ["python", "lupa", "debug", "socket", "ffi", "os.path"])
def test_require_finds_no_python_or_c_module(rt: Runtime, module: str) -> None:
    with pytest.raises(LuaScriptError, match="not found"):
        rt.execute(f"return require('{module}')")


def test_a_c_module_on_cpath_is_not_loaded_even_if_cpath_is_set(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError, match="not found"):
        rt.execute("package.cpath = '/usr/lib/x86_64-linux-gnu/lib?.so;/usr/lib/?.so'; "
                   "return require('c')")


def test_require_refuses_precompiled_bytecode(tmp_path: Path) -> None:
    dumped = lupa.lua55.LuaRuntime(encoding=None).eval("string.dump(function() return 42 end)")
    (tmp_path / "evil.lua").write_bytes(dumped)
    rt = Runtime(log_stderr=False, search_paths=[tmp_path])
    with pytest.raises(LuaScriptError, match="binary chunk"):
        rt.require("evil")
    # nor when the script points package.path at it itself
    with pytest.raises(LuaScriptError, match="binary chunk"):
        rt.execute(f"package.path = '{tmp_path}/?.lua'; return require('evil')")


def test_compile_refuses_bytecode(rt: Runtime) -> None:
    dumped = lupa.lua55.LuaRuntime(encoding=None).eval("string.dump(function() return 42 end)")
    with pytest.raises(LuaScriptError, match="binary chunk"):
        rt.execute(dumped)


@pytest.mark.parametrize("expr", [
    "e.__class__",
    "e.__class__.__mro__",
    "e.args",
    "e.with_traceback",
    "http.get.__globals__",
    "http.get.__call__",
    "json.encode.__self__",
])
def test_python_objects_reachable_from_lua_expose_no_attributes(rt: Runtime, expr: str) -> None:
    """A Python exception caught by pcall, and the Python callables behind the globals, are
    userdata in Lua; reading any attribute of them is refused (else ``__class__.__mro__``
    leads to ``object.__subclasses__()`` and ``os.system``)."""
    out = rt.execute(f"""
        local _, e = pcall(http.get, 5)
        local ok, err = pcall(function() return {expr} end)
        return ok, tostring(err)
    """)
    assert out[0] is False, out
    assert b"cannot access attributes" in out[1] or b"attempt to index a function" in out[1]


def test_writing_python_attributes_is_refused(rt: Runtime) -> None:
    out = rt.execute("""
        local _, e = pcall(http.get, 5)
        return pcall(function() e.args = 1 end)
    """)
    assert out[0] is False


def test_metatables_of_python_objects_are_hidden(rt: Runtime) -> None:
    assert rt.execute("""
        local _, e = pcall(http.get, 5)
        return getmetatable(e) == false and not pcall(setmetatable, e, {})
    """)


def test_collectgarbage_cannot_free_the_bridge_or_lift_the_memory_cap(rt: Runtime) -> None:
    rt.execute("for _, opt in ipairs({'collect', 'stop', 'restart', 'incremental', 'generational'})"
               " do collectgarbage(opt) end")
    assert rt.execute("return json.encode({a = 1})") == b'{"a":1}'
    with pytest.raises(LuaMemoryLimitError):
        rt.execute("collectgarbage('stop'); local t = {} "
                   "for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end")
    assert rt.execute("return 1 + 1") == 2  # the runtime is still usable


def test_tostring_of_python_values_leaks_nothing_callable(rt: Runtime) -> None:
    # what pcall hands back is a message, and re-raising it reaches Python as the error it was
    with pytest.raises(Exception, match="first argument must be a URL string"):
        rt.execute("local _, e = pcall(http.get, 5); error(e)")
