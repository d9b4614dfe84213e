"""A disk that can run full on purpose, for the engine's database.

Preferred: a small ``tmpfs`` mounted for the test (needs root or CAP_SYS_ADMIN); "full" is a
filler file that takes every free byte, and deleting it gives the space back. Where mounting is
not allowed, the fallback is the kernel's per-process file size limit (``RLIMIT_FSIZE``, set on
the running engine with ``prlimit``): every write past a few bytes then fails with ``EFBIG``,
which SQLite reports like a full disk. Both are real write failures seen by the engine's
``sqlite3``; neither is a mock.
"""

from __future__ import annotations

import errno
import os
import resource
import subprocess
from pathlib import Path


class SmallDisk:
    """A folder whose filesystem can be filled and freed; :attr:`method` says how."""

    def __init__(self, path: Path, size_mb: int = 32) -> None:
        self.path = path
        self.size_mb = size_mb
        self.method = "tmpfs"
        self._filler = path / "filler.bin"
        self._pid: int | None = None

    def __enter__(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m", "tmpfs",
                            str(self.path)], capture_output=True, text=True)
        if r.returncode != 0:
            self.method = "rlimit-fsize"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.method == "tmpfs":
            subprocess.run(["umount", "-l", str(self.path)], check=False)

    def fill(self, pid: int) -> None:
        """Take every free byte (tmpfs), or forbid ``pid`` to write past 1 byte (fallback)."""
        if self.method == "rlimit-fsize":
            self._pid = pid
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
            return
        chunk = b"\0" * (1 << 20)
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        break
                    chunk = chunk[: len(chunk) // 2]
        finally:
            os.close(fd)

    def free(self) -> None:
        """Give the space back."""
        if self.method == "rlimit-fsize":
            assert self._pid is not None
            resource.prlimit(self._pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            return
        self._filler.unlink()
