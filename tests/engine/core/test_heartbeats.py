"""Worker heartbeats closer together than HEARTBEAT_COALESCE_S are written once."""

from __future__ import annotations

from bridge.engine.clock import FakeClock
from bridge.engine.core import HEARTBEAT_COALESCE_S, Engine

T0 = 1_700_000_000.0


def last_beat(core: Engine) -> float:
    [rec] = core.list_workers()
    return float(rec["last_heartbeat"])


def test_beats_within_the_window_are_written_once(core: Engine, clock: FakeClock) -> None:
    wid = core.register_worker(identity="me", queue="q")
    clock.advance(5)
    core.worker_heartbeat(wid)
    assert last_beat(core) == T0 + 5
    clock.advance(HEARTBEAT_COALESCE_S / 2)
    core.worker_heartbeat(wid)
    assert last_beat(core) == T0 + 5
    clock.advance(HEARTBEAT_COALESCE_S)
    core.worker_heartbeat(wid)
    assert last_beat(core) == T0 + 5 + 1.5 * HEARTBEAT_COALESCE_S
