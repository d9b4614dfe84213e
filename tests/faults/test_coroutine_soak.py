"""The coroutine crash soak, short form (tests/faults/coroutine_soak.py; ``--soak`` for the long one)."""

from __future__ import annotations

from pathlib import Path

from tests.faults.coroutine_soak import run


def test_globals_in_workflow_coroutines_survive_engine_kills(tmp_path: Path, soak: bool) -> None:
    workflows, kills = (5000, 10) if soak else (1000, 3)
    report = run(tmp_path, workflows=workflows, kills=kills, workers=1,
                 timeout_s=1800 if soak else 240)
    print("\n" + report.summary())
    assert report.problems == [], report.problems[:10]
    assert report.completed == workflows
    assert report.dead_workers == []
    assert all(code == 0 for _, code in report.exit_codes), report.exit_codes
