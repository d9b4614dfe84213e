"""Every example's README pasted whole into a shell, as a new user would: each starts its own
engine with ``&``, on its own port and database file, with its own ids, so they run one after
the other and side by side on one machine."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.examples.readme import ROOT, run_pasted

EXAMPLES = ["hello", "approval", "nightly", "python-only", "mixed"]


def _check(name: str, cwd: Path) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    done = run_pasted(ROOT / "examples" / name / "README.md", cwd)
    assert done.returncode == 0, f"{name}: exit {done.returncode}\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-5000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-5000:]


def test_examples_pasted_one_after_the_other(tmp_path: Path) -> None:
    for name in EXAMPLES:
        _check(name, tmp_path)  # one folder: their database files sit side by side


def test_examples_pasted_side_by_side(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(_check, name, tmp_path / name) for name in ("hello", "nightly")]:
            future.result()
