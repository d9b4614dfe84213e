"""The README's walkthrough and every example's README pasted whole into a shell, as a new user
would: each starts its own engine with ``&``, on its own port and database file, with its own
ids, so they run one after the other and side by side on one machine."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.examples.readme import ROOT, blocks, run_pasted, section_blocks

EXAMPLES = ["hello", "approval", "nightly", "python-only", "mixed"]


README_SECTIONS = ["### Run a Lua worker", "### Mix in Python"]


def _check(name: str, cwd: Path) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    sh = (section_blocks(ROOT / "README.md", README_SECTIONS) if name == "README"
          else blocks(ROOT / "examples" / name / "README.md"))
    done = run_pasted(sh, cwd)
    assert done.returncode == 0, f"{name}: exit {done.returncode}\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-5000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-5000:]


@pytest.fixture
def example_ports() -> Iterator[None]:
    """The examples listen on the ports their READMEs name, so the tests that paste them take
    turns, in other pytest-xdist workers too."""
    with open(Path(tempfile.gettempdir()) / "assay-bridge-example-ports.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.mark.usefixtures("example_ports")
def test_examples_pasted_one_after_the_other(tmp_path: Path) -> None:
    for name in ["README", *EXAMPLES]:
        _check(name, tmp_path)  # one folder: their database files sit side by side


@pytest.mark.usefixtures("example_ports")
def test_examples_pasted_side_by_side(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(_check, name, tmp_path / name) for name in ("README", "hello", "nightly")]:
            future.result()
