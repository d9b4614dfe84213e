"""The workflows an engine knows to be running (``Engine.known_running``, bridge.engine.live):
noted inside the transaction that creates one, dropped inside the one that finishes it,
forgotten when the creating one does not commit, and kept only by an engine alone on its store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.core import Engine
from bridge.engine.live import LiveWorkflows
from bridge.engine.op import Op
from bridge.engine.ops.workflows import create_run
from bridge.errors import WorkflowAlreadyExistsError
from tests.engine.core.replay import Ctx, drain
from tests.helpers import poll_task


@pytest.fixture
def alone(tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    """An engine alone on its store: a SQLite file (one engine a file)."""
    eng = Engine.open(f"sqlite:///{tmp_path / 'live.db'}", clock=clock)
    yield eng
    eng.close()


def start(core: Engine, wid: str, wtype: str = "T", input: Any = None) -> None:
    core.start_workflow(workflow_type=wtype, workflow_id=wid, input=input)


def test_only_an_engine_alone_on_its_store_keeps_the_set(core: Engine, backend: str) -> None:
    assert (core.live is not None) == (backend == "sqlite")
    start(core, "w")
    assert core.known_running("w") == (backend == "sqlite")
    assert not core.known_running("unknown")


def test_each_way_of_finishing_drops_the_workflow(alone: Engine) -> None:
    core = alone
    for wid in ("done", "failed", "cancelled", "terminated", "continued"):
        start(core, wid, wtype=wid)

    def child_parent(ctx: Ctx, inp: Any) -> Any:
        return ctx.start_child_workflow("Child", "child", {})

    def fails(ctx: Ctx, inp: Any) -> Any:
        raise ValueError("no")

    start(core, "parent", wtype="Parent")
    seen_running: list[bool] = []

    def child(ctx: Ctx, inp: Any) -> Any:
        seen_running.append(core.known_running("child"))
        return 1

    core.cancel_workflow("cancelled")
    core.terminate_workflow("terminated", "stop")
    continued = core.continue_as_new("continued", None)["workflow_id"]
    assert core.known_running(continued)
    drain(core, {"done": lambda ctx, i: 1, "failed": fails, "Parent": child_parent,
                 "Child": child, "cancelled": lambda ctx, i: 1,
                 "continued": lambda ctx, i: 1})
    assert seen_running == [True]  # a child is running too, until it finishes
    for wid in ("done", "failed", "cancelled", "terminated", "continued", "parent", "child"):
        assert core.get_workflow(wid)["status"] in ("COMPLETED", "FAILED", "CANCELLED"), wid
        assert not core.known_running(wid), wid
    assert core.get_workflow(continued)["status"] == "COMPLETED"
    assert not core.known_running(continued)


def test_a_creation_that_does_not_commit_is_forgotten(alone: Engine) -> None:
    core = alone

    class Abandoned(Exception):
        pass

    def create_then_fail(op: Op) -> None:
        create_run(op, workflow_id="ghost", workflow_type="T", input_text=None,
                   task_queue="default", namespace="main", run_id="run-ghost")
        assert core.known_running("ghost")  # noted inside the transaction ...
        raise Abandoned

    with pytest.raises(Abandoned):
        core._run(create_then_fail)
    assert not core.known_running("ghost")  # ... and forgotten with it
    assert core.list_workflows() == []


def test_a_start_refused_for_a_taken_id_leaves_the_running_workflow_known(alone: Engine) -> None:
    core = alone
    start(core, "w")
    with pytest.raises(WorkflowAlreadyExistsError):
        start(core, "w")
    assert core.known_running("w")
    task = poll_task(core, queue="default", worker_id="k")
    assert task is not None
    core.submit_commands("w", worker_id="k", commands=[{"type": "CompleteWorkflow"}])
    with pytest.raises(WorkflowAlreadyExistsError):
        start(core, "w")  # a finished id is not taken back either
    assert not core.known_running("w")


def test_a_full_set_notes_no_more() -> None:
    live = LiveWorkflows(max_live=2)
    assert live.started("a") and live.started("b")
    assert not live.started("c")
    assert "c" not in live and len(live) == 2
    live.finished("a")
    assert live.started("c")
    live.forget(["b", "c", "never"])
    assert len(live) == 0
