"""A waiter that an in-process call wakes starts on the waking thread's CPU
(``bridge.engine.cpu_handoff``), and is left with the CPU affinity it had."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import bridge
from bridge.engine.cpu_handoff import CpuHandoff
from bridge.engine.embedded import EmbeddedEngine
from tests.helpers import wait_until

JSON = {"Content-Type": "application/json"}
ROUNDS = 12

Factory = Callable[[bool], EmbeddedEngine]

HANDOFF = CpuHandoff.create()
pytestmark = pytest.mark.skipif(
    HANDOFF is None or len(os.sched_getaffinity(0)) < 2,
    reason="the hand-off needs Linux and two CPUs")


@contextmanager
def _pinned(cpus: set[int]) -> Iterator[None]:
    """The calling thread on ``cpus`` for the block, then back on its former set."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _post(engine: EmbeddedEngine, path: str, body: object) -> bytes:
    status, _, data = engine.request("POST", "/api/v1" + path, json.dumps(body).encode(), JSON)
    assert status in (200, 201), data
    return data


def _woken_poll(engine: EmbeddedEngine, worker_id: str, n: int, park_on: int,
                mask: set[int], *, in_process: bool = True) -> tuple[set[int], set[int]]:
    """A poll held in another thread, parked on CPU ``park_on`` with affinity ``mask``, woken
    by this thread's start: the poller's affinity as the start returns (the poller cannot
    have run yet: this thread has kept the GIL since the wake-up), and as its poll returns."""
    after: list[set[int]] = []
    parked = threading.Event()

    def poll() -> None:
        with _pinned({park_on}):
            parked.set()
        os.sched_setaffinity(0, mask)  # widening it leaves the thread where it runs
        _post(engine, "/workflow-tasks/poll", {"queue": "q", "worker_id": worker_id})
        after.append(os.sched_getaffinity(0))
        os.sched_setaffinity(0, mask)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    assert parked.wait(10)
    wait_until(lambda: engine._hub.waiting(("workflow_task", "q")) == 1, 10,
               what="the poll to be held")
    if in_process:
        _post(engine, "/workflows", {"workflow_type": "T", "workflow_id": f"wf-{n}",
                                     "task_queue": "q"})
    else:  # the core itself, as the due-work runner or the loop calls it: no turn held
        engine.core.start_workflow(workflow_type="T", workflow_id=f"wf-{n}", task_queue="q")
    assert thread.native_id is not None
    at_wake = os.sched_getaffinity(thread.native_id)
    thread.join(30)
    assert not thread.is_alive()
    return at_wake, after[0]


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Factory]:
    opened: list[EmbeddedEngine] = []

    def open_engine(cpu_handoff: bool) -> EmbeddedEngine:
        engine = bridge.Engine(f"sqlite:///{tmp_path / f'e{len(opened)}.db'}", poll_wait_s=20,
                               cpu_handoff=cpu_handoff)
        opened.append(engine)
        return engine

    yield open_engine
    for engine in opened:
        engine.close()


def _register(engine: EmbeddedEngine) -> str:
    data = _post(engine, "/workers/register", {"identity": "t", "queue": "q",
                                               "workflows": ["T"], "activities": []})
    return str(json.loads(data)["worker_id"])


#: (case, hand-off on, the poller's mask: all CPUs or only the other, woken by an
#: in-process call) -> the poller's mask as it is woken.
POLL_CASES = [
    ("woken by a start, queued on the starting thread's CPU", True, "all", True, "here"),
    ("switched off, placement left to the OS", False, "all", True, "all"),
    ("woken from outside the turn (the core itself), left to the OS", True, "all", False, "all"),
    ("a poller that may not run on the waker's CPU is left alone", True, "there", True, "there"),
]


@pytest.mark.parametrize(("handoff", "mask", "in_process", "at_wake"),
                         [case[1:] for case in POLL_CASES], ids=[c[0] for c in POLL_CASES])
def test_where_a_woken_poll_is_queued(engine_factory: Factory, handoff: bool, mask: str,
                                      in_process: bool, at_wake: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    here, there = cpus[0], cpus[1]
    masks = {"all": set(cpus), "here": {here}, "there": {there}}
    engine = engine_factory(handoff)
    worker_id = _register(engine)
    with _pinned({here}):
        for n in range(ROUNDS):
            got = _woken_poll(engine, worker_id, n, park_on=there, mask=masks[mask],
                              in_process=in_process)
            assert got == (masks[at_wake], masks[mask]), f"round {n}"


def test_a_wait_woken_by_a_completion_is_queued_on_the_completing_threads_cpu(
        engine_factory: Factory) -> None:
    """The other direction: a worker's completion wakes a client's ``/wait``."""
    cpus = sorted(os.sched_getaffinity(0))
    here, there = cpus[0], cpus[1]
    engine = engine_factory(True)
    worker_id = _register(engine)
    _post(engine, "/workflows", {"workflow_type": "T", "workflow_id": "w", "task_queue": "q"})
    _post(engine, "/workflow-tasks/poll", {"queue": "q", "worker_id": worker_id})
    after: list[set[int]] = []
    parked = threading.Event()

    def wait() -> None:
        with _pinned({there}):
            parked.set()
        os.sched_setaffinity(0, set(cpus))
        status, _, data = engine.request("GET", "/api/v1/workflows/w/wait?timeout=30")
        assert status == 200 and json.loads(data)["status"] == "COMPLETED"
        after.append(os.sched_getaffinity(0))

    thread = threading.Thread(target=wait, daemon=True)
    with _pinned({here}):
        thread.start()
        assert parked.wait(10)
        wait_until(lambda: engine._hub.waiting(("workflow_terminal", "w")) == 1, 10,
                   what="the wait to be held")
        _post(engine, "/workflow-tasks/w/commands", {
            "worker_id": worker_id, "commands": [{"type": "CompleteWorkflow", "result": 1}]})
        assert thread.native_id is not None
        at_wake = os.sched_getaffinity(thread.native_id)
        thread.join(30)
    assert (at_wake, after) == ({here}, [set(cpus)])


def test_place_and_restore() -> None:
    assert HANDOFF is not None
    cpus = sorted(os.sched_getaffinity(0))
    blocked = threading.Event()
    release = threading.Event()
    restored: list[set[int]] = []
    before_box: list[frozenset[int] | None] = []

    def waiter() -> None:
        blocked.set()
        release.wait(30)
        before = before_box[0]
        assert before is not None
        CpuHandoff.restore(before)
        restored.append(os.sched_getaffinity(0))

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    assert blocked.wait(10)
    assert thread.native_id is not None
    with _pinned({cpus[1]}):
        before_box.append(HANDOFF.place(thread.native_id))
        assert os.sched_getaffinity(thread.native_id) == {cpus[1]}
    release.set()
    thread.join(30)
    assert before_box == [frozenset(cpus)]
    assert restored == [set(cpus)]
