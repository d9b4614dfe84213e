"""The engine's database on a full disk for a while, with workflows running.

While the disk is full the engine answers writes with 503, a JSON error and ``Retry-After``,
reads still work, and neither the engine nor the workers die. Once the space is back, every
workflow completes exactly once with the right result and no activity had to run again (a
result refused with 503 is delivered again by the worker, not dropped).
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import requests

from bridge.testing import EngineServer
from tests.faults.disk import SmallDisk
from tests.faults.kit import Fleet, await_and_check, leftovers, start_workflows

ACTIVITY_TIMEOUT_S = 30.0  # far longer than the outage: a re-run would mean a dropped result


def test_full_disk_answers_503_loses_nothing_and_recovers(tmp_path: Path, soak: bool) -> None:
    n_workflows, full_s = (200, 30.0) if soak else (30, 3.0)
    rng = random.Random()
    with SmallDisk(tmp_path / "disk") as disk, EngineServer(
            backend_url=f"sqlite:///{tmp_path / 'disk' / 'engine.db'}",
            poll_wait_s=1.0, dispatch_timeout_s=3.0) as engine:
        db = tmp_path / "disk" / "engine.db"
        fleet = Fleet(tmp_path, engine.url, ACTIVITY_TIMEOUT_S, activity_max_s=0.5)
        for kind in ("lua", "py"):
            fleet.spawn(kind)
        pid = engine.pid
        assert pid is not None
        try:
            started = start_workflows(engine.url, n_workflows, "full", rng)
            time.sleep(0.5)  # let some of them get going
            _checkpoint(db)  # empty the WAL, so the next write needs new space
            disk.fill(pid)
            refusals = _writes_refused_while_full(engine.url, full_s)
            assert engine.running and engine.pid == pid
            disk.free()
            report = await_and_check(engine.url, started, fleet.log_path(),
                                     timeout_s=120 if not soak else 900)
            print(f"\ndisk full ({disk.method}) for {full_s} s: {refusals} writes answered 503; "
                  f"{report.summary()}")
            assert report.problems == [], report.problems[:20]
            assert report.reruns == 0, f"a result refused with 503 was dropped: {report.summary()}"
            assert fleet.dead() == [], [w.stderr()[-2000:] for w in fleet.dead()]
            assert engine.running and engine.pid == pid
            # new work is accepted again
            r = requests.post(f"{engine.api_url}/workflows", json={
                "workflow_type": "PyFlow", "workflow_id": "after", "task_queue": "nobody"})
            assert r.status_code == 201, r.text
            assert leftovers(db) == []
        finally:
            codes = fleet.stop_all()
        assert all(code == 0 for _, code in codes), codes


def _checkpoint(db: Path) -> None:
    conn = sqlite3.connect(db, timeout=10)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _writes_refused_while_full(api: str, full_s: float) -> int:
    """Keep asking for writes (and reads) for ``full_s``; every answer must be clear."""
    refused = 0
    deadline = time.monotonic() + full_s
    i = 0
    with requests.Session() as s:
        while time.monotonic() < deadline:
            i += 1
            r = s.post(f"{api}/api/v1/workflows", timeout=10, json={
                "workflow_type": "PyFlow", "workflow_id": f"refused-{i}", "task_queue": "nobody"})
            assert r.status_code == 503, (r.status_code, r.text)
            assert "error" in r.json() and r.headers["Retry-After"] == "1"
            refused += 1
            listed = s.get(f"{api}/api/v1/workflows", timeout=10)
            assert listed.status_code == 200, listed.text  # reads still work
            time.sleep(0.1)
    return refused
