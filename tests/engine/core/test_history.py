"""The workflow-task poll as JSON text with incrementally rendered histories (bridge.engine.history)."""

from __future__ import annotations

from typing import Any

from bridge.engine.core import Engine
from bridge.engine.history import HistoryCache
from bridge.engine.records import history_entry, parse_json_text, wire_json


def expected_task_text(core: Engine, workflow_id: str) -> str:
    """What ``JSONResponse`` made of the dict-shaped task before the cache existed."""
    wf = core.get_workflow(workflow_id)
    return wire_json({
        "workflow_id": wf["id"], "namespace": wf["namespace"],
        "workflow_type": wf["workflow_type"], "task_queue": wf["task_queue"],
        "input": parse_json_text(wf["input"]),
        "history": [history_entry(e) for e in core.list_events(workflow_id)],
    })


def claim_text(core: Engine, worker: str = "k") -> str:
    text = core.poll_workflow_task(queue="default", worker_id=worker)
    assert text is not None
    return text


def test_poll_json_is_the_dict_poll_rendered_as_each_step_extends_the_history(core: Engine) -> None:
    core.start_workflow(workflow_type="T", workflow_id="w1", input={"é": [1, 2.5, None]},
                          task_queue="default")
    assert claim_text(core) == expected_task_text(core, "w1")
    for seq in range(1, 4):
        core.submit_commands("w1", worker_id="k", commands=[
            {"type": "ScheduleActivity", "seq": seq, "name": "a", "input": {"n": seq}}])
        act = core.poll_activity_task(queue="default", worker_id="k")
        assert act is not None
        core.complete_activity(act["id"], {"n": seq, "s": "ü\n\"x\""})
        assert claim_text(core) == expected_task_text(core, "w1")
    core.submit_commands("w1", worker_id="k", commands=[])
    core.signal_workflow("w1", "go", None)  # a nil payload is sent as false (compat.md)
    text = claim_text(core)
    assert text == expected_task_text(core, "w1")
    assert '"payload":false' in text


def test_poll_json_is_none_when_idle(core: Engine) -> None:
    assert core.poll_workflow_task(queue="default", worker_id="k") is None


class FakeTx:
    """Just the two reads the cache makes."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.reads: list[str] = []

    def list_events(self, workflow_id: str) -> list[dict[str, Any]]:
        self.reads.append("all")
        return list(self.rows)

    def list_events_after(self, workflow_id: str, seq: int) -> list[dict[str, Any]]:
        self.reads.append(f"after {seq}")
        return [r for r in self.rows if r["seq"] > seq]


def row(seq: int, payload: str | None = '{"n":1}', event_type: str = "E") -> dict[str, Any]:
    return {"seq": seq, "event_type": event_type, "payload": payload, "timestamp": 1.5}


def rendered(rows: list[dict[str, Any]]) -> str:
    return wire_json([history_entry(r) for r in rows])


def test_cache_reads_only_new_events_and_renders_what_the_dicts_give() -> None:
    cache = HistoryCache()
    tx = FakeTx([row(1), row(2, "not json"), row(3, None)])
    assert cache.render(tx, "w") == rendered(tx.rows)
    tx.rows.append(row(4, '{"payload":null}', "SignalReceived"))
    assert cache.render(tx, "w") == rendered(tx.rows)
    assert tx.reads == ["all", "after 3"]
    assert cache.render(tx, "w") == rendered(tx.rows)


def test_cache_renders_afresh_when_the_new_events_do_not_follow_the_kept_ones() -> None:
    cache = HistoryCache()
    tx = FakeTx([row(1), row(2)])
    cache.render(tx, "w")
    tx.rows.append(row(4))  # a gap: seq 3 missing
    assert cache.render(tx, "w") == rendered(tx.rows)
    tx.rows = [row(5)]  # not starting at 1
    assert cache.render(tx, "w") == rendered(tx.rows)
    assert cache.render(tx, "w") == rendered(tx.rows)


def test_cache_is_bounded() -> None:
    cache = HistoryCache(max_workflows=2, max_chars=10_000)
    for wid in ("a", "b", "c"):
        cache.render(FakeTx([row(1)]), wid)
    assert len(cache) == 2
    big = HistoryCache(max_chars=50)
    big.render(FakeTx([row(i) for i in range(1, 20)]), "w")
    assert len(big) == 0
