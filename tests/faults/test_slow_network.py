"""A slow network between workers and engine: every byte through a delaying proxy.

The workflow-task lease is 1 s and some chunks are held 1.5 s, so some workers' commands arrive
after their lease expired and another worker took the task over. The engine must fence those
(409, nothing applied): every history has each command applied once, every workflow completes
once with the right result, and no lease or running activity is left behind.
"""

from __future__ import annotations

import random
from pathlib import Path

from bridge.testing import EngineServer
from tests.faults.kit import Fleet, await_and_check, leftovers, start_workflows
from tests.faults.proxy import DelayProxy


def test_slow_network_applies_no_command_twice_and_leaves_no_lease(tmp_path: Path,
                                                                   soak: bool) -> None:
    n_workflows = 200 if soak else 20
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    with EngineServer(poll_wait_s=1.0, dispatch_timeout_s=1.0,
                      extra_args=["--access-log"]) as engine, \
            DelayProxy(engine.port, delay_s=(0.0, 0.05), spike_s=1.5, spike_p=0.03,
                       seed=seed) as proxy:
        db = Path(engine.backend_url.removeprefix("sqlite:///"))
        fleet = Fleet(tmp_path, proxy.url, activity_timeout_s=5.0)
        for kind in ("lua", "lua", "py"):
            fleet.spawn(kind)
        try:
            started = start_workflows(engine.url, n_workflows, "slow", rng)
            report = await_and_check(engine.url, started, fleet.log_path(),
                                     timeout_s=120 if not soak else 900)
            log = engine.log_text()
            expired = log.count("expired; dispatching again")
            fenced = sum(1 for line in log.splitlines() if "/commands HTTP" in line and " 409" in line)
            print(f"\nslow network (seed {seed}; {proxy.chunks} chunks, {proxy.spikes} held "
                  f"1.5 s; {expired} leases expired, {fenced} late command batches fenced with 409): {report.summary()}")
            assert report.problems == [], report.problems[:20]
            assert fleet.dead() == [], [w.stderr()[-2000:] for w in fleet.dead()]
            assert leftovers(db) == []
        finally:
            codes = fleet.stop_all()
        assert all(code == 0 for _, code in codes), codes
