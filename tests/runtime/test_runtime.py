"""The sandboxed runtime: sandbox, memory cap, binary strings, require, error translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import LuaMemoryLimitError, LuaScriptError
from bridge.runtime.runtime import Runtime


@pytest.fixture
def rt() -> Runtime:
    return Runtime(log_stderr=False)


@pytest.mark.parametrize("name", ["python", "load", "loadfile", "dofile", "debug"])
def test_sandbox_removes_globals(rt: Runtime, name: str) -> None:
    assert rt.execute(f"return type({name})") == b"nil"


def test_string_dump_is_removed_and_std_libraries_remain(rt: Runtime) -> None:
    got = rt.execute("return string.dump, type(io), type(coroutine), type(utf8), type(math), type(package)")
    assert got == (None, b"table", b"table", b"table", b"table", b"table")


def test_memory_cap_raises_clear_error() -> None:
    rt = Runtime(memory_limit=8 * 1024 * 1024, log_stderr=False)
    with pytest.raises(LuaMemoryLimitError, match="not enough memory"):
        rt.execute('local t = {} for i = 1, 1e8 do t[i] = ("x"):rep(64) .. i end')
    assert rt.execute("return 1 + 1") == 2  # the state stays usable


def test_binary_strings_round_trip(rt: Runtime) -> None:
    data = bytes(range(256))
    assert rt.execute("local s = ... return s, #s", "=t", data) == (data, 256)


def test_lua_error_carries_chunk_line_and_traceback(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError) as info:
        rt.execute("local x = 1\nerror('boom')", "@job.lua")
    err = info.value
    assert (err.chunk, err.line) == ("job.lua", 2)
    assert "job.lua:2: boom" in str(err)
    assert "stack traceback:" in (err.lua_traceback or "")


def test_builtin_error_position_comes_from_traceback(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError) as info:
        rt.execute("\n\njson.parse('x')", "@w.lua")
    assert "json.parse: expected value" in str(info.value)
    assert (info.value.chunk, info.value.line) == ("w.lua", 3)


def test_syntax_error_is_lua_script_error(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError) as info:
        rt.execute("local = 1", "@bad.lua")
    assert info.value.chunk == "bad.lua" and info.value.line == 1


def test_run_file_removes_shebang_line(tmp_path: Path, rt: Runtime) -> None:
    script = tmp_path / "s.lua"
    script.write_text("#!/usr/bin/env assay\nerror('x')\n")
    with pytest.raises(LuaScriptError) as info:
        rt.run_file(script)
    assert info.value.line == 1


def test_require_packaged_workflow(rt: Runtime) -> None:
    assert rt.execute('local w = require("assay.workflow") return type(w.connect), type(w.define)') == (
        b"function", b"function"
    )


def test_require_from_script_dir_and_search_paths(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helper.lua").write_text("return {v = 'from search path'}")
    (tmp_path / "local_mod.lua").write_text("return {v = 'from script dir'}")
    rt = Runtime(search_paths=[tmp_path / "lib"], script_dir=tmp_path, log_stderr=False)
    assert rt.execute('return require("helper").v, require("local_mod").v') == (b"from search path", b"from script dir")


def test_require_assay_module_from_modules_path(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "init.lua").write_text("return {v = 42}")
    rt = Runtime(modules_path=tmp_path, log_stderr=False)
    assert rt.execute('return require("assay.mine").v') == 42


def test_missing_module_lists_searchers(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError, match="module 'assay.nope' not found") as info:
        rt.execute('require("assay.nope")')
    assert "no embedded stdlib file: nope.lua" in str(info.value)


def test_conversions(rt: Runtime) -> None:
    t = rt.to_lua({"a": [1, 2.5, "x"], "b": {}})
    assert rt.to_python(t) == {"a": [1, 2.5, "x"], "b": []}
