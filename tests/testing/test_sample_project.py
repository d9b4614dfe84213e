"""examples/testing, run as its user would: ``python -m pytest examples/testing`` in a copy of
the sample, with the fixture from the installed package's plugin (no conftest, no ``-p``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.testing.pytest_run import run_pytest

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testing"


def test_the_sample_projects_tests_pass(tmp_path: Path) -> None:
    assert not (SAMPLE / "conftest.py").exists()
    shutil.copytree(SAMPLE, tmp_path / "examples" / "testing",
                    ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    done = run_pytest(tmp_path, "-rA", "examples/testing")
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    for name in ("test_onboarding_sends_tips_a_day_after_the_welcome",
                 "test_an_invoice_is_charged_when_its_terms_are_up",
                 "test_time_moves_only_when_the_test_says_so",
                 "test_the_lua_code_still_replays_its_recorded_history",
                 "test_the_python_code_still_replays_its_recorded_history"):
        assert f"PASSED examples/testing/test_workflows.py::{name}" in done.stdout, name
