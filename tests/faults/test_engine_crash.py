"""kill -9 of the engine at random moments while mixed Lua/Python workflows run.

The engine restarts on the same SQLite file and port each time; the worker processes are never
touched and must ride out every crash. Afterwards every workflow has completed exactly once with
the right result, no activity result was lost (each activity ran once: a worker that never dies
delivers every finished result) and every worker is still alive.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bridge.testing import EngineServer
from tests.faults.kit import Fleet, await_and_check, leftovers, start_workflows, unfinished
from tests.helpers import free_port

ACTIVITY_TIMEOUT_S = 10.0  # a claim whose answer died with the engine is retried after this



def test_engine_kill_9_loses_nothing(tmp_path: Path, soak: bool) -> None:
    n_workflows, n_kills = (400, 10) if soak else (100, 3)
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    port = free_port()
    with EngineServer(poll_wait_s=1.0, dispatch_timeout_s=3.0,
                      extra_args=["--port", str(port)]) as engine:
        db = Path(engine.backend_url.removeprefix("sqlite:///"))
        fleet = Fleet(tmp_path, engine.url, ACTIVITY_TIMEOUT_S)
        for kind in ("lua", "lua", "py", "py"):
            fleet.spawn(kind)
        try:
            started: dict[str, tuple[str, int]] = {}
            batch = n_workflows // (n_kills + 1)
            in_flight = []
            for k in range(n_kills + 1):  # a batch, then a kill while it runs
                started |= start_workflows(engine.url, batch, f"ek{k}", rng)
                if k == n_kills:
                    break
                time.sleep(rng.uniform(0.05, 0.8))  # a random moment of the run
                engine.kill()
                in_flight.append(unfinished(db))
                time.sleep(rng.uniform(0.0, 0.5))  # down for a while
                engine.start()
                assert engine.port == port
            report = await_and_check(engine.url, started, fleet.log_path(),
                                     timeout_s=120 if not soak else 900)
            print(f"\nengine kill -9 x{n_kills} (seed {seed}; workflows unfinished at each kill: "
                  f"{in_flight}): {report.summary()}")
            assert report.problems == [], report.problems[:20]
            assert report.reruns == 0, f"activity results lost and re-run: {report.summary()}"
            assert fleet.dead() == [], [w.stderr()[-2000:] for w in fleet.dead()]
            assert leftovers(db) == []
        finally:
            codes = fleet.stop_all()
        assert all(code == 0 for _, code in codes), codes
