"""fs.* (lua-globals §3.9)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.runtime.runtime import Runtime


def test_write_creates_parents_and_read_returns_text(lua: Callable[..., Any], tmp_path: Path) -> None:
    p = tmp_path / "a" / "b.txt"
    lua("fs.write(..., 'héllo')", str(p).encode())
    assert p.read_text() == "héllo"
    assert lua("return fs.read(...)", str(p).encode()) == "héllo"


def test_bytes_round_trip(rt: Runtime, tmp_path: Path) -> None:
    p = str(tmp_path / "bin").encode()
    rt.execute('fs.write_bytes(..., "\\255\\0x")', "=t", p)
    assert rt.execute("return fs.read_bytes(...)", "=t", p) == b"\xff\x00x"


def test_read_rejects_non_utf8(lua_error: Callable[..., str], tmp_path: Path) -> None:
    p = tmp_path / "bin"
    p.write_bytes(b"\xff")
    assert lua_error("fs.read(...)", str(p).encode()) == f'fs.read: failed to read "{p}": stream did not contain valid UTF-8'


def test_missing_file_message(lua_error: Callable[..., str], tmp_path: Path) -> None:
    p = tmp_path / "nope"
    assert lua_error("fs.read(...)", str(p).encode()) == (
        f'fs.read: failed to read "{p}": No such file or directory (os error 2)'
    )


def test_list_stat_exists_copy_rename_remove(lua: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f.txt").write_text("12345")
    src = """
    local dir = ...
    local kinds = {}
    for _, e in ipairs(fs.list(dir)) do kinds[e.name] = e.type end
    local st = fs.stat(dir .. "/f.txt")
    local copied = fs.copy(dir .. "/f.txt", dir .. "/g.txt")
    fs.rename(dir .. "/g.txt", dir .. "/h.txt")
    fs.remove(dir .. "/d")
    return kinds["d"], kinds["f.txt"], st.size, math.type(st.size), st.is_file, st.is_dir, st.is_symlink,
        math.type(st.modified), copied, fs.exists(dir .. "/h.txt"), fs.exists(dir .. "/g.txt"), fs.exists(dir .. "/d")
    """
    assert lua(src, str(tmp_path).encode()) == (
        "directory", "file", 5, "integer", True, False, False, "float", 5, True, False, False
    )


def test_readdir_depth_and_glob(lua: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.lua").write_text("")
    (tmp_path / ".hidden.lua").write_text("")
    src = """
    local dir = ...
    local all, top = fs.readdir(dir), fs.readdir(dir, {depth = 1})
    local paths = {}
    for _, e in ipairs(all) do paths[#paths + 1] = e.path end
    table.sort(paths)
    local g = fs.glob(dir .. "/**/*.lua")
    return table.concat(paths, ","), #top, #g, g[1]
    """
    got = lua(src, str(tmp_path).encode())
    assert got == (".hidden.lua,a,a/b,a/b/c.lua", 2, 2, f"{tmp_path}/.hidden.lua")


def test_mkdir_tempdir_chmod(lua: Callable[..., Any], tmp_path: Path) -> None:
    d = tmp_path / "x" / "y"
    src = "local d = ... fs.mkdir(d) fs.mkdir(d) fs.write(d .. '/f', 'x') fs.chmod(d .. '/f', 384) return fs.tempdir()"
    tmp = lua(src, str(d).encode())
    assert d.is_dir() and (d / "f").stat().st_mode & 0o777 == 0o600
    assert Path(tmp).is_dir() and Path(tmp).name.startswith("assay-")
    Path(tmp).rmdir()
