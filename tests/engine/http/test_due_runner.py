"""The server's due-work runner, in-process, driving a real engine on a temporary SQLite file."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.engine.core import Engine
from bridge.engine.runner import DueRunner
from bridge.errors import StoreError


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.open(f"sqlite:///{tmp_path / 'engine.db'}")
    yield eng
    eng.close()


def test_runner_runs_at_start_then_sleeps_until_poked(core: Engine) -> None:
    calls: list[float | None] = []
    ran = threading.Semaphore(0)

    def run_due() -> float | None:
        calls.append(core.run_due())
        ran.release()
        return calls[-1]

    runner = DueRunner(run_due, max_idle_s=60)
    runner.start()
    try:
        assert ran.acquire(timeout=5)  # the start-up pass
        assert calls == [None]  # an empty engine has no deadline
        assert not ran.acquire(timeout=0.2)  # ...so it sleeps
        runner.poke(0.0)  # a deadline in the past: run now
        assert ran.acquire(timeout=5)
    finally:
        runner.stop()
    assert runner.runs == 2


def test_runner_wakes_at_the_deadline_run_due_returns() -> None:
    ran = threading.Semaphore(0)
    first = True

    def run_due() -> float | None:
        nonlocal first
        ran.release()
        if first:
            first = False
            return time.time() + 0.2
        return None

    runner = DueRunner(run_due, max_idle_s=60)
    runner.start()
    try:
        assert ran.acquire(timeout=5)
        assert ran.acquire(timeout=5)  # woke by itself at the returned deadline
    finally:
        runner.stop()


def test_runner_reports_a_non_retryable_failure_and_stops() -> None:
    failed: list[BaseException] = []
    done = threading.Event()

    def run_due() -> float | None:
        raise StoreError("disk on fire")

    def on_failure(exc: BaseException) -> None:
        failed.append(exc)
        done.set()

    runner = DueRunner(run_due, on_failure=on_failure)
    runner.start()
    assert done.wait(5)
    runner.stop()
    assert isinstance(failed[0], StoreError)


def test_a_poke_after_the_clock_jumped_past_the_awaited_deadline_runs_now() -> None:
    from bridge.engine.clock import FakeClock

    clock = FakeClock()
    ran = threading.Semaphore(0)

    def run_due() -> float | None:
        ran.release()
        return clock.now() + 3600  # the runner now waits (in wall seconds) for an hour

    runner = DueRunner(run_due, max_idle_s=60, clock=clock.now)
    runner.start()
    try:
        assert ran.acquire(timeout=5)
        clock.advance(7200)  # past the awaited deadline, as time skipping does
        runner.poke(clock.now())
        assert ran.acquire(timeout=5)
    finally:
        runner.stop()
