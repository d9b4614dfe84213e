"""The turn the embedded engine's in-process callers take (bridge.engine.turn)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import bridge
from bridge import Client, Worker
from bridge.engine.turn import Turn
from tests.helpers import wait_until

LONG = 60.0  # a quantum or grace no test may wait out


def _in_thread(target: Any) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_free_turn_is_taken_at_once_and_kept_across_calls() -> None:
    turn = Turn(quantum_s=LONG, grace_s=LONG)
    turn.enter()
    turn.leave()
    turn.enter()
    turn.leave()
    assert turn.handoffs == 1
    assert turn.waiting == 0


def test_a_waiter_gets_the_turn_as_soon_as_the_holder_blocks() -> None:
    turn = Turn(quantum_s=LONG, grace_s=LONG)
    turn.enter()
    entered = threading.Event()

    def other() -> None:
        turn.enter()
        entered.set()
        turn.block()

    thread = _in_thread(other)
    wait_until(lambda: turn.waiting == 1, 10, what="the other thread to wait for the turn")
    assert not entered.is_set()
    turn.enter()  # the holder's own calls go on
    assert not entered.is_set()
    turn.block()
    assert entered.wait(10)
    thread.join(10)
    assert turn.handoffs == 2


def test_a_holder_away_longer_than_the_grace_loses_the_turn() -> None:
    grace = 0.05
    turn = Turn(quantum_s=LONG, grace_s=grace)
    turn.enter()
    left_at = time.monotonic()
    turn.leave()
    entered_at: list[float] = []

    def other() -> None:
        turn.enter()
        entered_at.append(time.monotonic())

    _in_thread(other).join(10)
    assert entered_at and entered_at[0] - left_at >= grace


def test_after_a_quantum_a_waiter_takes_the_turn_and_the_former_holder_queues() -> None:
    quantum = 0.2
    turn = Turn(quantum_s=quantum, grace_s=LONG)
    turn.enter()  # and never leaves: a holder busy inside one call
    took_at = time.monotonic()
    entered = threading.Event()
    order: list[str] = []

    def other() -> None:
        turn.enter()
        order.append(f"other after {time.monotonic() - took_at:.3f} s")
        entered.set()
        wait_until(lambda: turn.waiting == 1, 10, what="the former holder to queue")
        order.append("other leaves")
        turn.block()

    thread = _in_thread(other)
    assert entered.wait(10)
    turn.enter()  # its next call waits for the thread that took the turn
    order.append("holder")
    thread.join(10)
    assert [entry.split(" after ")[0] for entry in order] == ["other", "other leaves", "holder"]
    assert float(order[0].split(" after ")[1][:-2]) >= quantum


def test_a_waiter_looks_at_a_busy_holder_once_after_the_grace_then_at_the_quantum() -> None:
    # Every look takes the GIL from the holder for a moment: a holder busy in its calls is not
    # polled every grace, only once, and then the waiter sleeps until the quantum ends.
    quantum, grace = 0.4, 0.01
    turn = Turn(quantum_s=quantum, grace_s=grace)
    turn.enter()  # and never leaves: a holder busy inside one call
    took_at = time.monotonic()
    entered_at: list[float] = []

    def other() -> None:
        turn.enter()
        entered_at.append(time.monotonic())
        turn.block()

    _in_thread(other).join(10)
    assert entered_at and entered_at[0] - took_at >= quantum
    assert turn.looks <= 3  # one after the grace, one at the quantum's end, a spurious one


def test_a_holder_away_when_the_waiter_looks_loses_the_turn_after_the_grace() -> None:
    grace = 0.5  # the holder surely leaves before the waiter's first look
    turn = Turn(quantum_s=LONG, grace_s=grace)
    turn.enter()  # in a call as the other thread starts waiting
    entered_at: list[float] = []

    def other() -> None:
        turn.enter()
        entered_at.append(time.monotonic())

    thread = _in_thread(other)
    wait_until(lambda: turn.waiting == 1, 10, what="the other thread to wait for the turn")
    left_at = time.monotonic()
    turn.leave()  # away before the waiter's first look, which comes one grace after it began
    thread.join(10)
    assert entered_at and entered_at[0] - left_at >= grace
    assert entered_at[0] - left_at < LONG / 2


def _engine_with_worker(tmp_path: Path, quantum_s: float, grace_s: float) -> Any:
    engine = bridge.Engine(f"sqlite:///{tmp_path / 'turn.db'}", poll_wait_s=1.0)
    engine._turn.quantum_s = quantum_s
    engine._turn.grace_s = grace_s
    worker = Worker(engine=engine, log_stderr=False)

    @worker.activity("echo")
    def echo(ctx: Any, input: Any) -> Any:
        return input

    worker.load_lua("""
local workflow = require("assay.workflow")
workflow.define("Echo", function(ctx, input)
    return ctx:execute_activity("echo", input)
end)
""")
    worker.start()
    assert worker.wait_registered(30)
    return engine, worker


def test_threads_blocked_in_held_polls_and_waits_leave_the_turn_to_the_others(
        tmp_path: Path) -> None:
    # With a turn never taken away (quantum and grace of a minute), the client and the
    # worker get it only because each gives it up while it waits in the engine.
    engine, worker = _engine_with_worker(tmp_path, LONG, LONG)
    try:
        with Client(engine=engine) as client:
            for n in range(3):
                started = client.start("Echo", input={"n": n})
                assert client.result(started["workflow_id"], timeout=20) == {"n": n}
        assert engine._turn.handoffs >= 6
    finally:
        engine._turn.grace_s = 0.01  # the test's thread keeps the turn, away: let the worker stop
        worker.stop()
        worker.join(30)
        engine.close()


def test_a_thread_that_went_on_with_other_work_delays_the_others_by_the_grace_at_most(
        tmp_path: Path) -> None:
    engine, worker = _engine_with_worker(tmp_path, LONG, 0.05)
    release = threading.Event()
    started: list[str] = []
    try:
        with Client(engine=engine) as client:
            def fire_and_forget() -> None:
                started.append(client.start("Echo", input={"n": 7})["workflow_id"])
                release.wait(60)  # holds the turn, away from the engine

            thread = _in_thread(fire_and_forget)
            wait_until(lambda: started, 20, what="the workflow to start")
            assert client.result(started[0], timeout=20) == {"n": 7}
            release.set()
            thread.join(10)
    finally:
        release.set()
        worker.stop()
        worker.join(30)
        engine.close()
