"""SkippingClock and TimeSkipper's decision, one step at a time, on the engine core over a real
SQLite file (the skipper's thread is not started: each test calls ``skip_once``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.testing import SkippingClock, TimeSkipper
from tests.helpers import poll_task

DAY = 86400.0


@pytest.fixture
def clock() -> SkippingClock:
    return SkippingClock(FakeClock())  # a base that stands still: exact arithmetic


@pytest.fixture
def core(tmp_path: Path, clock: SkippingClock) -> Iterator[Engine]:
    eng = Engine.open(f"sqlite:///{tmp_path / 'engine.db'}", clock=clock)
    yield eng
    eng.close()


def test_the_clock_is_its_base_plus_what_was_skipped() -> None:
    base = FakeClock()
    clock = SkippingClock(base)
    t0 = base.now()
    assert clock.now() == t0
    assert clock.advance(10) == t0 + 10
    assert clock.skip_to(t0 + 5) == 0.0  # already passed: never backwards
    assert clock.skip_to(t0 + 100) == 90
    assert clock.skipped == 100
    base.advance(3)
    assert clock.now() == t0 + 103
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_it_jumps_to_the_next_deadline_only_when_nothing_is_in_hand(
        core: Engine, clock: SkippingClock) -> None:
    wakes: list[float] = []
    skipper = TimeSkipper(core, clock, lambda: wakes.append(clock.now()))
    assert skipper.skip_once() == 0.0  # nothing scheduled
    core.start_workflow(workflow_type="T", workflow_id="w1")
    assert skipper.skip_once() == 0.0  # a workflow task is ready
    assert poll_task(core, queue="default", worker_id="k") is not None
    assert skipper.skip_once() == 0.0  # and now in hand
    t0 = clock.now()
    core.submit_commands("w1", worker_id="k", commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": DAY}])
    assert wakes == []
    assert skipper.skip_once() == DAY
    assert wakes == [t0 + DAY] and skipper.skips == 1
    assert skipper.skip_once() == 0.0  # due now: the runner was told once, not again
    assert wakes == [t0 + DAY]
    core.run_due()  # what the woken runner does
    assert core.list_events("w1")[-1]["timestamp"] == t0 + DAY
    assert skipper.skip_once() == 0.0  # the fired timer made a workflow task


def test_live_workers_are_not_taken_for_dead_after_a_skip(
        core: Engine, clock: SkippingClock) -> None:
    worker_id = core.register_worker(identity="w", queue="default")
    core.start_workflow(workflow_type="T", workflow_id="w1")
    assert poll_task(core, queue="default", worker_id=worker_id) is not None
    core.submit_commands("w1", worker_id=worker_id, commands=[
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": DAY}])
    skipper = TimeSkipper(core, clock, lambda: None)
    assert skipper.skip_once() == DAY
    core.run_due()  # would remove a worker silent for a day
    assert [w["id"] for w in core.list_workers()] == [worker_id]
