"""The store contract of ``bridge.engine.store.base``, run against every backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.engine.store.base import CAP_INSTANCE_LOCK, CAP_SEVERAL_INSTANCES, Store, Tx
from bridge.errors import StoreError
from tests.engine import pgdb
from tests.helpers import make_store

T0 = 1_700_000_000.0


def wf_row(wid: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": wid, "namespace": "main", "run_id": f"run-{wid}", "workflow_type": "T",
        "task_queue": "q", "status": "PENDING", "input": None, "created_at": T0,
        "updated_at": T0, "needs_dispatch": 1}
    row.update(over)
    return row


def act_row(wid: str, seq: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"workflow_id": wid, "seq": seq, "name": "a", "task_queue": "q",
                           "status": "PENDING", "scheduled_at": T0}
    row.update(over)
    return row


def add_workflow(store: Store, wid: str, **over: Any) -> None:
    with store.transaction(write=True) as tx:
        assert tx.insert_workflow(wf_row(wid, **over))


def test_open_is_idempotent_and_seeds_main(store: Store) -> None:
    store.open()
    with store.transaction() as tx:
        assert [n["name"] for n in tx.list_namespaces()] == ["main"]


def test_transaction_commits_on_success_and_rolls_back_on_error(store: Store) -> None:
    add_workflow(store, "kept")
    with pytest.raises(RuntimeError):
        with store.transaction(write=True) as tx:
            tx.insert_workflow(wf_row("lost"))
            tx.append_event("kept", "X", None, T0)
            raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.get_workflow("kept") is not None
        assert tx.get_workflow("lost") is None
        assert tx.list_events("kept") == []


def test_a_one_statement_transaction_runs_its_statement_and_refuses_a_second(
        store: Store) -> None:
    add_workflow(store, "single")
    with store.transaction(one_statement=True) as tx:
        row = tx.get_workflow("single")
        assert row is not None and row["id"] == "single"
    with pytest.raises(AssertionError):
        with store.transaction(one_statement=True) as tx:
            tx.get_workflow("single")
            tx.get_workflow("single")
    with store.transaction(write=True, one_statement=True) as tx:
        assert tx.touch_worker("nobody", T0) is False


def test_insert_workflow_refuses_a_duplicate_id(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        assert tx.insert_workflow(wf_row("w", workflow_type="Other")) is False
        got = tx.get_workflow("w")
        assert got is not None and got["workflow_type"] == "T"


def test_update_with_unknown_column_raises(store: Store) -> None:
    add_workflow(store, "w")
    with pytest.raises(ValueError):
        with store.transaction(write=True) as tx:
            tx.update_workflow("w", {"nope": 1})


def test_event_seqs_are_dense_per_workflow(store: Store) -> None:
    add_workflow(store, "a")
    add_workflow(store, "b")
    with store.transaction(write=True) as tx:
        seqs = [tx.append_event("a", "E", None, T0)["seq"] for _ in range(3)]
        assert tx.append_event("b", "E", '{"x":1}', T0)["seq"] == 1
    assert seqs == [1, 2, 3]
    with store.transaction() as tx:
        events = tx.list_events("b")
    assert events[0]["payload"] == '{"x":1}' and events[0]["workflow_id"] == "b"


def test_event_seqs_stay_unique_under_concurrent_writers(store: Store,
                                                         reopen: Callable[[], Store]) -> None:
    add_workflow(store, "w")
    other = reopen()

    def append(s: Store) -> None:
        for _ in range(20):
            with s.transaction(write=True) as tx:
                tx.append_event("w", "E", None, T0)

    threads = [threading.Thread(target=append, args=(s,)) for s in (store, other, store)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.transaction() as tx:
        seqs = [e["seq"] for e in tx.list_events("w")]
    assert seqs == list(range(1, 61))


def test_claim_workflow_task_takes_oldest_dispatchable(store: Store) -> None:
    add_workflow(store, "new", updated_at=T0 + 5)
    add_workflow(store, "old", updated_at=T0 + 1)
    add_workflow(store, "idle", updated_at=T0, needs_dispatch=0)
    add_workflow(store, "done", updated_at=T0, status="COMPLETED")
    add_workflow(store, "elsewhere", updated_at=T0, task_queue="other")
    with store.transaction(write=True) as tx:
        got = tx.claim_workflow_task(queue="q", worker_id="w1", now=T0 + 10)
        assert got is not None and got["id"] == "old"
        assert got["dispatch_claimed_by"] == "w1" and got["needs_dispatch"] == 0
        assert got["dispatch_last_heartbeat"] == T0 + 10
        second = tx.claim_workflow_task(queue="q", worker_id="w1", now=T0 + 10)
        assert second is not None and second["id"] == "new"
        assert tx.claim_workflow_task(queue="q", worker_id="w2", now=T0 + 10) is None


def test_a_starting_claim_turns_pending_into_running_in_the_claim(store: Store) -> None:
    add_workflow(store, "fresh", updated_at=T0)
    add_workflow(store, "going", updated_at=T0 + 1, status="RUNNING")
    with store.transaction(write=True) as tx:
        got = tx.claim_workflow_task(queue="q", worker_id="w1", now=T0 + 10, start=True)
        assert got is not None and got["id"] == "fresh"
        assert got["status"] == "RUNNING" and got["updated_at"] == T0 + 10
        assert got["dispatch_claimed_by"] == "w1"
        again = tx.claim_workflow_task(queue="q", worker_id="w1", now=T0 + 20, start=True)
        assert again is not None and again["id"] == "going"
        assert again["status"] == "RUNNING" and again["updated_at"] == T0 + 1
    with store.transaction() as tx:
        kept = tx.get_workflow("fresh")
        assert kept is not None and kept["status"] == "RUNNING" and kept["updated_at"] == T0 + 10


def test_a_leased_workflow_is_not_claimed_again_even_when_woken(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        assert tx.claim_workflow_task(queue="q", worker_id="a", now=T0) is not None
        tx.update_workflow("w", {"needs_dispatch": 1})
        assert tx.claim_workflow_task(queue="q", worker_id="b", now=T0) is None
        tx.update_workflow("w", {"dispatch_claimed_by": None})
        got = tx.claim_workflow_task(queue="q", worker_id="b", now=T0)
        assert got is not None and got["dispatch_claimed_by"] == "b"


def _claim_concurrently(stores: list[Store], claim: Callable[[Tx, str], Any]) -> list[Any]:
    results: list[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(stores))

    def run(s: Store, name: str) -> None:
        barrier.wait()
        while True:
            with s.transaction(write=True) as tx:
                got = claim(tx, name)
            if got is None:
                return
            with lock:
                results.append(got)

    threads = [threading.Thread(target=run, args=(s, f"w{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_workflow_claims_are_exclusive_across_connections(store: Store,
                                                         reopen: Callable[[], Store]) -> None:
    for i in range(30):
        add_workflow(store, f"wf{i}", updated_at=T0 + i)
    got = _claim_concurrently(
        [store, reopen(), reopen()],
        lambda tx, name: tx.claim_workflow_task(queue="q", worker_id=name, now=T0))
    ids = [r["id"] for r in got]
    assert sorted(ids) == sorted(f"wf{i}" for i in range(30))


def test_activity_claims_are_exclusive_across_connections(store: Store,
                                                         reopen: Callable[[], Store]) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        for seq in range(1, 31):
            assert tx.insert_activity(act_row("w", seq)) is not None
    got = _claim_concurrently(
        [store, reopen(), reopen()],
        lambda tx, name: tx.claim_activity_task(queue="q", worker_id=name, now=T0))
    assert sorted(r["seq"] for r in got) == list(range(1, 31))


def test_expired_leases_and_oldest_lease(store: Store) -> None:
    add_workflow(store, "a")
    add_workflow(store, "b", updated_at=T0 + 1)
    with store.transaction(write=True) as tx:
        tx.claim_workflow_task(queue="q", worker_id="x", now=T0)
        tx.claim_workflow_task(queue="q", worker_id="x", now=T0 + 20)
        assert tx.oldest_lease_at() == T0
        assert [r["id"] for r in tx.expired_leases(T0 + 10, 10)] == ["a"]
        assert tx.expired_leases(T0, 10) == []


def test_insert_activity_is_idempotent_per_seq(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        first = tx.insert_activity(act_row("w", 1))
        assert isinstance(first, int)
        assert tx.insert_activity(act_row("w", 1, name="other")) is None
        got = tx.get_activity(first)
        assert got is not None and got["name"] == "a" and got["attempt"] == 1
        assert got["max_attempts"] == 3 and got["start_to_close_secs"] == 300.0


def test_finish_activity_changes_only_an_unfinished_one(store: Store) -> None:
    add_workflow(store, "w1")
    with store.transaction(write=True) as tx:
        aid = tx.insert_activity(act_row("w1", 1))
        assert aid is not None
        done = tx.finish_activity(aid, {"status": "COMPLETED", "result": "1",
                                        "completed_at": T0 + 1})
        assert done is not None
        assert (done["id"], done["status"], done["result"]) == (aid, "COMPLETED", "1")
        assert tx.finish_activity(aid, {"status": "FAILED", "error": "late"}) is None
        assert tx.finish_activity(aid + 100, {"status": "COMPLETED"}) is None
        with pytest.raises(ValueError):
            tx.finish_activity(aid, {"nope": 1})
    with store.transaction() as tx:
        row = tx.get_activity(aid)
        assert row is not None and (row["status"], row["error"]) == ("COMPLETED", None)


def test_wake_workflow_marks_only_a_live_one(store: Store) -> None:
    add_workflow(store, "live", needs_dispatch=0, status="RUNNING")
    add_workflow(store, "done", needs_dispatch=0, status="COMPLETED")
    with store.transaction(write=True) as tx:
        woken = tx.wake_workflow("live")
        assert woken is not None
        assert (woken["id"], woken["needs_dispatch"], woken["status"]) == ("live", 1, "RUNNING")
        assert tx.wake_workflow("done") is None
        assert tx.wake_workflow("missing") is None
    with store.transaction() as tx:
        assert [tx.get_workflow(w)["needs_dispatch"] for w in ("live", "done")] == [1, 0]  # type: ignore[index]


def test_activity_claim_respects_backoff_and_sets_timeout(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        later = tx.insert_activity(act_row("w", 1, scheduled_at=T0 + 5))
        hb = tx.insert_activity(act_row("w", 2, heartbeat_timeout_secs=10.0))
        assert tx.has_ready_activity("q", T0)
        got = tx.claim_activity_task(queue="q", worker_id="k", now=T0)
        assert got is not None and got["id"] == hb
        assert got["status"] == "RUNNING" and got["timeout_at"] == T0 + 10
        assert tx.claim_activity_task(queue="q", worker_id="k", now=T0) is None
        assert not tx.has_ready_activity("q", T0)
        assert [r["id"] for r in tx.activities_becoming_ready(T0, T0 + 5)] == [later]
        assert tx.next_activity_deadline(T0) == T0 + 5
        got2 = tx.claim_activity_task(queue="q", worker_id="k", now=T0 + 5)
        assert got2 is not None and got2["id"] == later
        assert got2["timeout_at"] == T0 + 5 + 300
        assert [r["id"] for r in tx.timed_out_activities(T0 + 10, 10)] == [hb]


def test_ready_tasks_says_what_the_claims_would_find_and_claims_nothing(store: Store) -> None:
    add_workflow(store, "leased")
    add_workflow(store, "done", status="COMPLETED")
    add_workflow(store, "other", task_queue="elsewhere")
    with store.transaction(write=True) as tx:
        assert tx.claim_workflow_task(queue="q", worker_id="w", now=T0) is not None  # "leased"
        assert tx.ready_tasks("q", T0) == (False, False)
        tx.insert_activity(act_row("leased", 1, name="later", scheduled_at=T0 + 5))
        assert tx.ready_tasks("q", T0) == (False, False)
        assert tx.ready_tasks("q", T0 + 5) == (False, True)
        assert tx.ready_tasks("q", T0 + 5, names=["other"]) == (False, False)
        assert tx.insert_workflow(wf_row("ready", workflow_type="B"))
    with store.transaction(one_statement=True) as tx:
        assert tx.ready_tasks("q", T0) == (True, False)
    with store.transaction(one_statement=True) as tx:
        assert tx.ready_tasks("q", T0, types=["A"]) == (False, False)
    with store.transaction(one_statement=True) as tx:
        assert tx.ready_tasks("q", T0 + 5, types=["B"], names=["later"]) == (True, True)
    with store.transaction(write=True) as tx:  # nothing was claimed by asking
        got = tx.claim_workflow_task(queue="q", worker_id="w", now=T0)
        assert got is not None and got["id"] == "ready"
        assert tx.claim_activity_task(queue="q", worker_id="k", now=T0 + 5) is not None
        assert tx.ready_tasks("q", T0 + 5) == (False, False)


def test_activities_of_dead_workers(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        tx.insert_worker({"id": "dead", "namespace": "main", "identity": "i", "task_queue": "q",
                          "last_heartbeat": T0, "registered_at": T0})
        tx.insert_worker({"id": "live", "namespace": "main", "identity": "i",
                          "task_queue": "q", "last_heartbeat": T0 + 100, "registered_at": T0})
        a = tx.insert_activity(act_row("w", 1))
        b = tx.insert_activity(act_row("w", 2))
        tx.claim_activity_task(queue="q", worker_id="dead", now=T0)
        tx.claim_activity_task(queue="q", worker_id="live", now=T0)
        assert [r["id"] for r in tx.activities_of_dead_workers(T0 + 50, 10)] == [a]
        assert b is not None
        assert tx.dead_workers(T0 + 50) == ["dead"]
        tx.delete_workers(["dead"])
        assert [w["id"] for w in tx.list_workers("main")] == ["live"]
        assert tx.oldest_worker_heartbeat() == T0 + 100


def test_timers_are_idempotent_and_fire_once(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        assert tx.insert_timer("w", 1, T0 + 5) is not None
        assert tx.insert_timer("w", 1, T0 + 99) is None
        tx.insert_timer("w", 2, T0 + 10)
        assert tx.next_timer_at() == T0 + 5
        assert tx.take_due_timers(T0 + 4, 10) == []
        due = tx.take_due_timers(T0 + 5, 10)
        assert [(t["seq"], t["fire_at"]) for t in due] == [(1, T0 + 5)]
        assert tx.take_due_timers(T0 + 5, 10) == []
        assert tx.cancel_timers("w") == 1
        assert tx.next_timer_at() is None


def test_signal_waits_and_side_effects_are_recorded_once(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        assert tx.count_signals("w", "go") == 0
        tx.insert_signal("w", "go", None, T0)
        assert tx.count_signals("w", "go") == 1
        assert tx.insert_signal_wait("w", "go", 1)
        assert not tx.insert_signal_wait("w", "go", 1)
        assert tx.insert_side_effect("w", 1)
        assert not tx.insert_side_effect("w", 1)


def test_schedules(store: Store) -> None:
    row = {"namespace": "main", "name": "s", "workflow_type": "T", "cron_expr": "* * * * *",
           "task_queue": "q", "overlap_policy": "skip", "paused": 0, "next_run_at": T0 + 60,
           "created_at": T0}
    with store.transaction(write=True) as tx:
        assert tx.insert_schedule(row)
        assert not tx.insert_schedule(row)
        assert tx.next_schedule_at() == T0 + 60
        assert tx.due_schedules(T0, 10) == []
        assert [s["name"] for s in tx.due_schedules(T0 + 60, 10)] == ["s"]
        tx.update_schedule("main", "s", {"paused": 1})
        assert tx.due_schedules(T0 + 60, 10) == []
        assert tx.next_schedule_at() is None
        assert [s["name"] for s in tx.list_schedules("main")] == ["s"]
        assert tx.delete_schedule("main", "s")
        assert not tx.delete_schedule("main", "s")


def test_namespaces_stats_and_queues(store: Store) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        assert tx.insert_namespace("ops", T0)
        assert not tx.insert_namespace("ops", T0)
        assert [n["name"] for n in tx.list_namespaces()] == ["main", "ops"]
        tx.insert_activity(act_row("w", 1))
        stats = tx.namespace_stats("main")
        assert stats["total_workflows"] == 1 and stats["pending"] == 1
        assert tx.namespace_stats("nothing")["total_workflows"] == 0
        assert tx.queue_stats("main", T0) == [
            {"queue": "q", "pending_activities": 1, "running_activities": 0, "workers": 0}]
        tx.insert_worker({"id": "k", "namespace": "main", "identity": "i", "task_queue": "q",
                          "last_heartbeat": T0, "registered_at": T0})
        tx.insert_worker({"id": "old", "namespace": "main", "identity": "i", "task_queue": "z",
                          "last_heartbeat": T0 - 1, "registered_at": T0})
        assert [(r["queue"], r["workers"]) for r in tx.queue_stats("main", T0)] == [("q", 1)]
        assert [(r["queue"], r["workers"]) for r in tx.queue_stats("main", T0 - 1)] == [
            ("q", 1), ("z", 1)]
        assert tx.delete_namespace("ops")
        assert not tx.delete_namespace("ops")


def test_api_keys(store: Store) -> None:
    with store.transaction(write=True) as tx:
        tx.insert_api_key("h1", "assay_12345678...", "ci", T0)
        assert tx.api_key_hashes("assay_12345678...") == ["h1"]
        assert tx.api_key_hashes("other") == []
        assert tx.list_api_keys() == [
            {"prefix": "assay_12345678...", "label": "ci", "created_at": T0}]


def test_instance_lock(store: Store, reopen: Callable[[], Store]) -> None:
    if CAP_INSTANCE_LOCK not in store.capabilities:
        pytest.skip("backend declares no instance lock")
    other = reopen()
    assert store.acquire_instance_lock("a", now=T0, stale_after_s=60)
    assert not other.acquire_instance_lock("b", now=T0 + 1, stale_after_s=60)
    assert store.refresh_instance_lock("a", now=T0 + 30)
    assert other.acquire_instance_lock("b", now=T0 + 100, stale_after_s=60)
    assert not store.refresh_instance_lock("a", now=T0 + 101)
    other.release_instance_lock("b")
    assert store.acquire_instance_lock("a", now=T0 + 102, stale_after_s=60)


def test_closed_store_refuses_transactions(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        with store.transaction():
            pass


def test_due_timers_are_taken_once_under_concurrent_callers(store: Store,
                                                            reopen: Callable[[], Store]) -> None:
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        for seq in range(1, 41):
            tx.insert_timer("w", seq, T0 + seq)
    got = _claim_concurrently(
        [store, reopen(), reopen()],
        lambda tx, name: tx.take_due_timers(T0 + 100, 3) or None)
    seqs = [t["seq"] for batch in got for t in batch]
    assert sorted(seqs) == list(range(1, 41))


def test_background_rows_are_handed_to_one_open_transaction(store: Store,
                                                            reopen: Callable[[], Store]) -> None:
    """While one transaction holds due rows, a concurrent one gets none of them."""
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        tx.insert_schedule({"namespace": "main", "name": "s", "workflow_type": "T",
                            "cron_expr": "* * * * *", "task_queue": "q", "paused": 0,
                            "next_run_at": T0, "created_at": T0})
        tx.claim_workflow_task(queue="q", worker_id="x", now=T0)
        tx.insert_activity(act_row("w", 1))
        tx.claim_activity_task(queue="q", worker_id="k", now=T0)
    other = reopen()
    held = threading.Event()
    release = threading.Event()
    seen: dict[str, int] = {}

    def hold() -> None:
        with store.transaction(write=True) as tx:
            seen["schedules"] = len(tx.due_schedules(T0 + 1, 10))
            seen["leases"] = len(tx.expired_leases(T0 + 1, 10))
            seen["timeouts"] = len(tx.timed_out_activities(T0 + 1000, 10))
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        if CAP_SEVERAL_INSTANCES in store.capabilities:
            with other.transaction(write=True) as tx:
                assert tx.due_schedules(T0 + 1, 10) == []
                assert tx.expired_leases(T0 + 1, 10) == []
                assert tx.timed_out_activities(T0 + 1000, 10) == []
    finally:
        release.set()
        holder.join()
    assert seen == {"schedules": 1, "leases": 1, "timeouts": 1}


def test_published_notices_reach_other_stores_only_on_commit(
        store: Store, reopen: Callable[[], Store]) -> None:
    if CAP_SEVERAL_INSTANCES not in store.capabilities:
        pytest.skip("backend serves one instance: nothing to publish to")
    listener = reopen()
    heard: list[tuple[str, dict[str, Any]]] = []
    arrived = threading.Event()

    def hear(kind: str, data: dict[str, Any]) -> None:
        heard.append((kind, data))
        if data.get("queue") == "last":
            arrived.set()

    listener.listen(hear)
    store.listen(lambda kind, data: heard.append(("own", data)))
    # The listener connects in the background; publish until it hears, then the real check.
    probe = threading.Event()
    while not probe.is_set():
        with store.transaction(write=True) as tx:
            tx.publish([("workflow_task", {"queue": "probe"})])
        probe.wait(0.05)
        if any(d.get("queue") == "probe" for _, d in heard):
            probe.set()
    heard.clear()
    with pytest.raises(RuntimeError):
        with store.transaction(write=True) as tx:
            tx.publish([("workflow_task", {"queue": "rolled-back"})])
            raise RuntimeError("boom")
    with store.transaction(write=True) as tx:
        tx.publish([("activity_task", {"queue": "a"}), ("workflow_task", {"queue": "last"})])
    assert arrived.wait(10)
    assert heard == [("activity_task", {"queue": "a"}), ("workflow_task", {"queue": "last"})]


def test_stores_opening_an_empty_database_at_once_migrate_it_once(
        backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        name = pgdb.create_database(template="template0")
        url = pgdb.url_for(name)
    else:
        name, url = "", f"sqlite:///{tmp_path / 'fresh.db'}"
    errors: list[BaseException] = []
    opened: list[Store] = []
    barrier = threading.Barrier(3)

    def open_one() -> None:
        try:
            barrier.wait()
            opened.append(make_store(url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with opened[0].transaction() as tx:
            assert [n["name"] for n in tx.list_namespaces()] == ["main"]
    finally:
        for s in opened:
            s.close()
        if name:
            pgdb.drop_database(name)


def test_claims_keep_to_the_names_a_worker_serves(store: Store) -> None:
    add_workflow(store, "a", workflow_type="A")
    add_workflow(store, "b", workflow_type="B")
    with store.transaction(write=True) as tx:
        assert tx.claim_workflow_task(queue="q", worker_id="x", now=T0, types=[]) is None
        got = tx.claim_workflow_task(queue="q", worker_id="x", now=T0, types=["B", "C"])
        assert got is not None and got["id"] == "b"
        assert tx.claim_workflow_task(queue="q", worker_id="x", now=T0, types=["B"]) is None
        tx.insert_activity(act_row("a", 1, name="one"))
        tx.insert_activity(act_row("a", 2, name="two"))
        assert not tx.has_ready_activity("q", T0, ["three"])
        assert tx.has_ready_activity("q", T0, ["two"])
        assert tx.claim_activity_task(queue="q", worker_id="k", now=T0, names=[]) is None
        act = tx.claim_activity_task(queue="q", worker_id="k", now=T0, names=["two"])
        assert act is not None and act["name"] == "two"
        assert tx.claim_activity_task(queue="q", worker_id="k", now=T0, names=["two"]) is None
        act = tx.claim_activity_task(queue="q", worker_id="k", now=T0)
        assert act is not None and act["name"] == "one"


def test_worker_reads_and_live_listing(store: Store) -> None:
    with store.transaction(write=True) as tx:
        tx.insert_worker({"id": "new", "namespace": "main", "identity": "i", "task_queue": "q",
                          "workflows": '["A"]', "last_heartbeat": T0, "registered_at": T0})
        tx.insert_worker({"id": "old", "namespace": "ops", "identity": "i", "task_queue": "q",
                          "last_heartbeat": T0 - 100, "registered_at": T0 - 100})
        row = tx.get_worker("new")
        assert row is not None and row["workflows"] == '["A"]'
        assert tx.get_worker("nobody") is None
        assert [w["id"] for w in tx.list_workers(None)] == ["old", "new"]
        assert [w["id"] for w in tx.list_workers(None, seen_since=T0 - 50)] == ["new"]
        assert [w["id"] for w in tx.list_workers("ops", seen_since=T0 - 100)] == ["old"]


def test_what_workflows_wait_on(store: Store) -> None:
    add_workflow(store, "w", workflow_type="W")
    add_workflow(store, "done", workflow_type="W", status="COMPLETED")
    with store.transaction(write=True) as tx:
        tx.insert_activity(act_row("w", 1, name="ready"))
        tx.insert_activity(act_row("w", 2, name="later", scheduled_at=T0 + 60))
        tx.insert_activity(act_row("done", 1, name="orphan"))
        waits = sorted((r["workflow_id"], r["kind"], r["name"], r["task_queue"])
                       for r in tx.dispatch_waits("main", T0))
        assert waits == [("w", "activity", "ready", "q"), ("w", "workflow_task", "W", "q")]
        assert tx.dispatch_waits("ops", T0) == []
        tx.insert_timer("w", 3, T0 + 9)
        tx.insert_timer("w", 4, T0 + 5)
        assert [(t["seq"], t["fire_at"]) for t in tx.list_open_timers("w")] == [
            (4, T0 + 5), (3, T0 + 9)]
        tx.insert_signal_wait("w", "go", 0)
        tx.insert_signal_wait("w", "go", 2)
        assert [(r["name"], r["signal_count"]) for r in tx.list_signal_waits("w")] == [("go", 2)]


def test_work_in_hand_is_a_ready_or_held_task_of_a_live_workflow(store: Store) -> None:
    add_workflow(store, "done", status="COMPLETED", needs_dispatch=1)
    with store.transaction(write=True) as tx:
        tx.insert_activity(act_row("done", 1, task_queue="other"))  # a finished workflow's leftovers are not work
        assert not tx.has_work_in_hand(T0)
    add_workflow(store, "w")
    with store.transaction(write=True) as tx:
        assert tx.has_work_in_hand(T0)  # a dispatchable workflow task
        claimed = tx.claim_workflow_task(queue="q", worker_id="w1", now=T0)
        assert claimed is not None
        assert tx.has_work_in_hand(T0)  # a leased one
        tx.update_workflow("w", {"dispatch_claimed_by": None})
        assert not tx.has_work_in_hand(T0)
        tx.insert_timer("w", 1, T0 + 60)
        tx.insert_activity(act_row("w", 2, scheduled_at=T0 + 30))
        assert not tx.has_work_in_hand(T0)  # waiting on time only
        assert tx.has_work_in_hand(T0 + 30)  # the backoff has ended: the activity is ready
        got = tx.claim_activity_task(queue="q", worker_id="w1", now=T0 + 30)
        assert got is not None
        assert tx.has_work_in_hand(T0)  # running
        tx.update_activity(got["id"], {"status": "COMPLETED"})
        assert not tx.has_work_in_hand(T0 + 30)
