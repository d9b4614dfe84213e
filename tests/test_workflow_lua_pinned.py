"""The shipped workflow.lua is assay's original, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bridge.runtime import loader

SHA256 = "143f3c6c540adf3b305d94036db2bf31deada19dfc601b333374103592ba4e9e"


def test_repository_copy_is_unchanged() -> None:
    data = (Path(__file__).parent.parent / "lua" / "assay" / "workflow.lua").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256


def test_the_runtime_loads_the_unchanged_copy() -> None:
    data = (loader.stdlib_dir() / "assay" / "workflow.lua").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256
