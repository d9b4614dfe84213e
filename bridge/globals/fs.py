"""assay's ``fs`` table: files and folders (lua-globals §3.9).

Errors read ``fs.<fn>: failed to <verb> "<path>": <io error>``, the path quoted like Rust's
``{:?}`` and the io error like Rust's (``No such file or directory (os error 2)``).
``read`` and ``write`` require UTF-8 text; ``read_bytes`` / ``write_bytes`` are byte-exact.
"""

from __future__ import annotations

import itertools
import os
import stat as _stat
import sys
import time
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table, lua_bytes, rust_debug_str, to_number, to_str

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_tempdir_counter = itertools.count()


def io_error_text(exc: OSError) -> str:
    """Rust's ``io::Error`` Display for an OS error."""
    if exc.errno is None:
        return str(exc)
    return f"{os.strerror(exc.errno)} (os error {exc.errno})"


def _fail(fn: str, verb: str, path: str, exc: OSError) -> LuaCallError:
    return LuaCallError(f"fs.{fn}: failed to {verb} {rust_debug_str(path)}: {io_error_text(exc)}")


def _kind(mode: int) -> str:
    if _stat.S_ISLNK(mode):
        return "symlink"
    if _stat.S_ISDIR(mode):
        return "directory"
    return "file"  # other kinds count as files, as in assay


def _glob_hidden(pattern: str) -> list[str]:
    """Glob where ``*`` also matches dotfiles and ``**`` recurses, like Rust's glob crate."""
    import glob as _glob  # on the first call, not when the global is installed

    if sys.version_info >= (3, 11):
        return _glob.glob(pattern, recursive=True, include_hidden=True)
    return _glob.glob(pattern, recursive=True)  # pragma: no cover - 3.10 skips dotfiles


def _walk(root: str, rel: str, depth: int, max_depth: int | None, out: list[dict[str, str]]) -> None:
    with os.scandir(os.path.join(root, rel) if rel else root) as it:
        for entry in it:
            path = os.path.join(rel, entry.name) if rel else entry.name
            kind = _kind(entry.stat(follow_symlinks=False).st_mode)
            out.append({"path": path, "type": kind})
            if kind == "directory" and (max_depth is None or depth + 1 < max_depth):
                _walk(root, path, depth + 1, max_depth, out)


def install(rt: LuaHost) -> None:
    """Install the ``fs`` global."""

    def path_arg(value: Any, argn: int = 1) -> str:
        return to_str(rt, value, argn)

    def read(path: Any = None, *_ignored: Any) -> bytes:
        p = path_arg(path)
        try:
            with open(p, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise _fail("read", "read", p, exc) from None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise LuaCallError(f"fs.read: failed to read {rust_debug_str(p)}: stream did not contain valid UTF-8") from None
        return data

    def read_bytes(path: Any = None, *_ignored: Any) -> bytes:
        p = path_arg(path)
        try:
            with open(p, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise _fail("read_bytes", "read", p, exc) from None

    def write_data(fn: str, p: str, data: bytes) -> None:
        try:
            parent = os.path.dirname(p)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(p, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise _fail(fn, "write", p, exc) from None

    def write(path: Any = None, content: Any = None, *_ignored: Any) -> None:
        write_data("write", path_arg(path), to_str(rt, content, 2).encode())

    def write_bytes(path: Any = None, data: Any = None, *_ignored: Any) -> None:
        write_data("write_bytes", path_arg(path), lua_bytes(rt, data, 2))

    def remove(path: Any = None, *_ignored: Any) -> None:
        p = path_arg(path)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                import shutil

                shutil.rmtree(p)
            else:
                os.unlink(p)
        except OSError as exc:
            raise _fail("remove", "remove", p, exc) from None

    def list_(path: Any = None, *_ignored: Any) -> Any:
        p = path_arg(path)
        try:
            with os.scandir(p) as it:
                entries = [
                    {"name": e.name, "type": _kind(e.stat(follow_symlinks=False).st_mode)} for e in it
                ]
        except OSError as exc:
            raise _fail("list", "read directory", p, exc) from None
        return rt.to_lua(entries)

    def readdir(path: Any = None, opts: Any = None, *_ignored: Any) -> Any:
        p = path_arg(path)
        max_depth: int | None = None
        if is_table(opts) and opts[b"depth"] is not None:
            max_depth = int(to_number(opts[b"depth"], 2))
        out: list[dict[str, str]] = []
        try:
            _walk(p, "", 0, max_depth, out)
        except OSError as exc:
            raise _fail("readdir", "read directory", exc.filename or p, exc) from None
        return rt.to_lua(out)

    def stat(path: Any = None, *_ignored: Any) -> Any:
        p = path_arg(path)
        try:
            st = os.stat(p)
            is_link = os.path.islink(p)
        except OSError as exc:
            raise _fail("stat", "stat", p, exc) from None
        info: dict[str, Any] = {
            "size": st.st_size,
            "is_file": _stat.S_ISREG(st.st_mode),
            "is_dir": _stat.S_ISDIR(st.st_mode),
            "is_symlink": is_link,
            "modified": st.st_mtime,
        }
        birth = getattr(st, "st_birthtime", None)
        if birth is not None:
            info["created"] = float(birth)
        return rt.to_lua(info)

    def mkdir(path: Any = None, *_ignored: Any) -> None:
        p = path_arg(path)
        try:
            os.makedirs(p, exist_ok=True)
        except OSError as exc:
            raise _fail("mkdir", "create directory", p, exc) from None

    def exists(path: Any = None, *_ignored: Any) -> bool:
        return os.path.exists(path_arg(path))

    def copy(src: Any = None, dst: Any = None, *_ignored: Any) -> int:
        s, d = path_arg(src), path_arg(dst, 2)
        import shutil

        try:
            shutil.copyfile(s, d)
            shutil.copymode(s, d)
            return os.path.getsize(d)
        except OSError as exc:
            raise _fail("copy", "copy", s, exc) from None

    def rename(src: Any = None, dst: Any = None, *_ignored: Any) -> None:
        s, d = path_arg(src), path_arg(dst, 2)
        try:
            os.rename(s, d)
        except OSError as exc:
            raise _fail("rename", "rename", s, exc) from None

    def glob(pattern: Any = None, *_ignored: Any) -> Any:
        pat = path_arg(pattern)
        matches = sorted(_glob_hidden(pat))
        return rt.lua.table_from([m.encode() for m in matches])

    def tempdir(*_ignored: Any) -> bytes:
        import tempfile

        name = f"assay-{time.time_ns():x}-{next(_tempdir_counter)}"
        p = os.path.join(tempfile.gettempdir(), name)
        try:
            os.mkdir(p)
        except OSError as exc:
            raise _fail("tempdir", "create directory", p, exc) from None
        return p.encode()

    def chmod(path: Any = None, mode: Any = None, *_ignored: Any) -> None:
        p = path_arg(path)
        bits = int(to_number(mode, 2))  # a string "755" is decimal 755, as in assay
        try:
            os.chmod(p, bits)
        except OSError as exc:
            raise _fail("chmod", "set permissions on", p, exc) from None

    rt.set_global(
        "fs",
        {
            "read": read, "read_bytes": read_bytes, "write": write, "write_bytes": write_bytes,
            "remove": remove, "list": list_, "stat": stat, "mkdir": mkdir, "exists": exists,
            "copy": copy, "rename": rename, "glob": glob, "tempdir": tempdir, "chmod": chmod,
            "readdir": readdir,
        },
    )
