"""disk.usage / sweep / dir_size (lua-globals §3.19) on real folders."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_usage_matches_statvfs(lua: Callable[..., Any], tmp_path: Path) -> None:
    total, free, used, percent, kind = lua(
        "local u = disk.usage(...) return u.total, u.free, u.used, u.percent, math.type(u.percent)",
        str(tmp_path).encode())
    st = os.statvfs(tmp_path)
    assert total == st.f_blocks * st.f_frsize
    assert used == total - free
    assert kind == "float"
    assert percent == pytest.approx(used / total * 100)
    # free counts every free block, the root-reserved ones too (f_bfree, not f_bavail); other
    # processes may write meanwhile, so the test asks which of the two it is nearer to
    assert abs(free - st.f_bfree * st.f_frsize) <= abs(free - st.f_bavail * st.f_frsize)


def test_usage_error(lua_error: Callable[..., str], tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert lua_error("disk.usage(...)", str(missing).encode()) == \
        f'disk.usage: failed to stat "{missing}": No such file or directory (os error 2)'


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_sweep_removes_entries_older_than_the_age(lua: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "old.log").write_text("x")
    (tmp_path / "new.log").write_text("x")
    old_dir = tmp_path / "olddir"
    old_dir.mkdir()
    (old_dir / "inner").write_text("x")
    _age(tmp_path / "old.log", 3600)
    _age(old_dir, 3600)
    assert lua("return disk.sweep(..., 600)", str(tmp_path).encode()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.log"]


def test_sweep_of_fresh_entries_removes_nothing(lua: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    assert lua("return disk.sweep(..., 600)", str(tmp_path).encode()) == 0
    assert (tmp_path / "a").exists()


def test_sweep_missing_folder_is_fs_list_error(lua_error: Callable[..., str], tmp_path: Path) -> None:
    assert lua_error("disk.sweep(..., 1)", str(tmp_path / "nope").encode()).startswith("fs.list: failed to")


def test_dir_size_sums_files_recursively(lua: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 10)
    sub = tmp_path / "sub" / "deeper"
    sub.mkdir(parents=True)
    (sub / "b").write_bytes(b"y" * 32)
    (tmp_path / "sub" / "c").write_bytes(b"")
    assert lua("return disk.dir_size(...)", str(tmp_path).encode()) == 42


def test_dir_size_of_empty_folder(lua: Callable[..., Any], tmp_path: Path) -> None:
    assert lua("return disk.dir_size(...)", str(tmp_path).encode()) == 0
