"""Two real engine processes on one PostgreSQL database, workers on both, one instance killed.

The deployment under test is the one docs/deploy.md describes: several ``assay-bridge serve``
instances on one database behind a load balancer. Here each worker talks to a
:class:`~tests.engine.multi.failover.FrontDoor` that prefers "its" instance and fails over to
the other, as a load balancer with health checks would; so when instance A is killed with
SIGKILL, A's workers carry on through B without being restarted.

What is checked, from an execution log the activities append to and from the database:

* every activity attempt (a claim: activity id and attempt number) ran at most once, and the
  attempt that completed each activity ran exactly once;
* every workflow completed, with exactly one ``WorkflowCompleted`` event;
* every cron tick fired exactly once across both instances (an audit trigger records each
  advance of the schedule: no ``next_run_at`` value is consumed twice, and each advance
  started exactly one workflow);
* instance B went on serving while A was dead, and nothing was lost.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from bridge import Worker
from bridge.testing import EngineServer
from tests.engine.multi.failover import FrontDoor
from tests.helpers import wait_until

WORKFLOWS = 200
ACTIVITIES = 3
KILL_AFTER_ACTIVITIES = 200  # of WORKFLOWS * ACTIVITIES
QUEUE = "multi"
#: Short leases and activity timeouts, so work whose answer died with instance A is
#: re-dispatched within the test's time budget.
DISPATCH_TIMEOUT_S = 5.0
START_TO_CLOSE_S = 5.0
DEADLINE_S = 90.0

AUDIT_SQL = """
CREATE TABLE tick_audit (
    old_next DOUBLE PRECISION, new_next DOUBLE PRECISION, workflow_id TEXT,
    at TIMESTAMPTZ DEFAULT clock_timestamp());
CREATE FUNCTION audit_tick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.next_run_at IS DISTINCT FROM OLD.next_run_at THEN
        INSERT INTO tick_audit (old_next, new_next, workflow_id)
        VALUES (OLD.next_run_at, NEW.next_run_at,
                CASE WHEN NEW.last_workflow_id IS DISTINCT FROM OLD.last_workflow_id
                     THEN NEW.last_workflow_id END);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_tick AFTER UPDATE ON workflow_schedules
    FOR EACH ROW EXECUTE FUNCTION audit_tick();
"""


class ExecutionLog:
    """The activities' append-only log (one JSON line per activity attempt run)."""

    def __init__(self, path: Path, kill_after: int) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._count = 0
        self._kill_after = kill_after
        self.reached_kill_point = threading.Event()

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
            self._count += 1
            if self._count >= self._kill_after:
                self.reached_kill_point.set()

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line]


def make_worker(url: str, log: ExecutionLog, name: str) -> Worker:
    w = Worker(url, queue=QUEUE, concurrency=3, identity=name, log_stderr=False)

    @w.workflow("Chain")
    def chain(ctx: Any, input: Any) -> Any:
        total = 0
        for step in range(ACTIVITIES):
            got = ctx.execute_activity("step", {"n": input["n"], "step": step},
                                       task_queue=QUEUE, start_to_close_secs=START_TO_CLOSE_S)
            total += got["value"]
        return {"n": input["n"], "total": total}

    @w.workflow("Tick")
    def tick(ctx: Any, input: Any) -> Any:
        return "tock"

    @w.activity("step")
    def step(ctx: Any, input: Any) -> Any:
        info = ctx.info
        log.append({"activity_id": info.activity_id, "attempt": info.attempt,
                    "workflow_id": info.workflow_id, "step": input["step"], "worker": name})
        return {"value": input["step"] + 1}

    return w


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(AUDIT_SQL.encode())
    yield postgres_url


def _ticks_created_after(database: str, at: float) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM workflows WHERE workflow_type = 'Tick' "
                           "AND created_at > %s", (at,)).fetchone()
    return int(row[0]) if row else 0


def _post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/api/v1{path}", json=body, timeout=30)


def test_two_instances_process_everything_exactly_once_and_survive_a_kill(
        database: str, tmp_path: Path) -> None:
    log = ExecutionLog(tmp_path / "executions.jsonl", KILL_AFTER_ACTIVITIES)
    options: dict[str, Any] = {"backend_url": database, "poll_wait_s": 2.0,
                               "dispatch_timeout_s": DISPATCH_TIMEOUT_S}
    a = EngineServer(**options).start()
    b = EngineServer(**options).start()
    door_a = FrontDoor([a.port, b.port])  # prefers A, fails over to B
    door_b = FrontDoor([b.port, a.port])
    workers = [make_worker(door_a.url, log, "worker-a"), make_worker(door_b.url, log, "worker-b")]
    started_at = time.monotonic()
    try:
        for w in workers:
            w.start()
        for w in workers:
            assert w.wait_registered(30)
        resp = _post(door_a.url, "/schedules", {
            "name": "tick", "workflow_type": "Tick", "cron_expr": "* * * * * *",
            "task_queue": QUEUE})
        assert resp.status_code == 201, resp.text
        ids = [f"chain-{n:03d}" for n in range(WORKFLOWS)]
        for n, wid in enumerate(ids):
            door = door_a if n % 2 == 0 else door_b
            resp = _post(door.url, "/workflows", {"workflow_type": "Chain", "workflow_id": wid,
                                                  "input": {"n": n}, "task_queue": QUEUE})
            assert resp.status_code == 201, resp.text

        assert log.reached_kill_point.wait(DEADLINE_S), "the workers made no progress"
        a.kill()
        killed_at = time.time()
        ran_before_kill = len(log.entries())

        deadline = time.monotonic() + DEADLINE_S
        for wid in ids:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{wid} did not finish in time"
            resp = requests.get(f"{b.api_url}/workflows/{wid}/wait",
                                params={"timeout": min(remaining, 60)}, timeout=remaining + 10)
            assert resp.status_code == 200, resp.text
            record = resp.json()
            assert record["status"] == "COMPLETED", record
            assert json.loads(record["result"]) == {"n": int(wid[-3:]),
                                                    "total": ACTIVITIES * (ACTIVITIES + 1) // 2}
        finished_at = time.time()
        # the workflows may all finish within a second or two of the kill: wait for B's first
        # tick before the schedule goes, so the check below reads what B did, not a race
        wait_until(lambda: _ticks_created_after(database, killed_at), timeout_s=DEADLINE_S,
                   what="a cron tick fired by instance B after A died")
        resp = requests.delete(f"{b.api_url}/schedules/tick", timeout=10)
        assert resp.status_code == 200, resp.text
        elapsed = time.monotonic() - started_at
        assert not any(w.errors for w in workers), [w.errors for w in workers]
    finally:
        for w in workers:
            w.stop()
        for w in workers:
            w.join(15)
        door_a.close()
        door_b.close()
        a.close()
        b.close()

    entries = log.entries()
    with psycopg.connect(database) as conn:
        activities = conn.execute(
            "SELECT id, workflow_id, seq, status, attempt FROM workflow_activities").fetchall()
        completed_events = Counter(r[0] for r in conn.execute(
            "SELECT workflow_id FROM workflow_events WHERE event_type = 'WorkflowCompleted'"))
        audit = conn.execute(
            "SELECT old_next, new_next, workflow_id FROM tick_audit ORDER BY at").fetchall()
        ticks = conn.execute(
            "SELECT id, status, created_at FROM workflows WHERE workflow_type = 'Tick'"
        ).fetchall()

    # Every activity attempt ran at most once; the completing attempt exactly once.
    per_claim = Counter((e["activity_id"], e["attempt"]) for e in entries)
    assert [claim for claim, n in per_claim.items() if n > 1] == []
    assert len(activities) == WORKFLOWS * ACTIVITIES
    assert all(status == "COMPLETED" for _, _, _, status, _ in activities)
    for act_id, _, _, _, attempt in activities:
        assert per_claim[(act_id, attempt)] == 1, f"activity {act_id} attempt {attempt}"
    retried = sum(1 for *_, attempt in activities if attempt > 1)

    # Every workflow completed exactly once.
    for wid in ids:
        assert completed_events[wid] == 1, wid

    # Every cron tick fired exactly once across both instances.
    consumed = Counter(old for old, _, _ in audit)
    assert [v for v, n in consumed.items() if n > 1] == []
    fired = [wid for _, _, wid in audit if wid is not None]
    assert sorted(fired) == sorted(t[0] for t in ticks)
    assert len(set(fired)) == len(fired)
    assert all(t[1] == "COMPLETED" for t in ticks), ticks
    ticks_after_kill = [t for t in ticks if t[2] > killed_at]
    assert ticks_after_kill, "instance B stopped firing the schedule after A died"
    assert len(ticks) >= 0.5 * (finished_at - min(t[2] for t in ticks))

    print(f"\ntwo instances: {WORKFLOWS} workflows x {ACTIVITIES} activities in {elapsed:.1f} s;"
          f" {len(entries)} activity runs ({ran_before_kill} before the kill),"
          f" {retried} activities retried after the kill, {len(ticks)} cron ticks"
          f" ({len(ticks_after_kill)} after the kill)")
