"""kill -9 of worker processes at random moments (in activities, replays, sleeps), new ones started.

Every workflow still completes exactly once with the right result; an activity whose worker
died is run again only after its start-to-close timeout (never sooner: the dead worker's
attempt is not known to be dead before then); the workers not killed never die.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bridge.testing import EngineServer
from tests.faults.kit import (
    Fleet,
    await_and_check,
    executions,
    leftovers,
    retries_before_timeout,
    start_workflows,
)

ACTIVITY_TIMEOUT_S = 3.0
DISPATCH_TIMEOUT_S = 2.0


def test_worker_kill_9_loses_nothing(tmp_path: Path, soak: bool) -> None:
    n_workflows, n_kills = (300, 30) if soak else (60, 4)
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    with EngineServer(poll_wait_s=1.0, dispatch_timeout_s=DISPATCH_TIMEOUT_S) as engine:
        db = Path(engine.backend_url.removeprefix("sqlite:///"))
        fleet = Fleet(tmp_path, engine.url, ACTIVITY_TIMEOUT_S, activity_max_s=0.4)
        for kind in ("lua", "lua", "py", "py"):
            fleet.spawn(kind)
        try:
            started: dict[str, tuple[str, int]] = {}
            batch = n_workflows // n_kills
            mid_activity = 0
            for k in range(n_kills):
                started |= start_workflows(engine.url, batch, f"wk{k}", rng)
                time.sleep(rng.uniform(0.2, 1.2))  # a random moment of the run
                victim = rng.choice(fleet.live)
                fleet.kill(victim)
                fleet.spawn(victim.kind)
                mine = [e for e in executions(fleet.log_path()) if e.worker == victim.name]
                mid_activity += bool(mine) and mine[-1].kind == "start"
            report = await_and_check(engine.url, started, fleet.log_path(),
                                     timeout_s=120 if not soak else 900)
            early = retries_before_timeout(fleet.log_path(), ACTIVITY_TIMEOUT_S)
            print(f"\nworker kill -9 x{n_kills} (seed {seed}; {mid_activity} in the middle of an "
                  f"activity): {report.summary()}")
            assert report.problems == [], report.problems[:20]
            assert early == [], early
            assert fleet.dead() == [], [w.stderr()[-2000:] for w in fleet.dead()]
            assert leftovers(db) == []
        finally:
            codes = fleet.stop_all()
        assert all(code == 0 for _, code in codes), codes
