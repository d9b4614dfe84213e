"""Wall time, client CPU and PostgreSQL backend CPU per core operation of a one-activity workflow.

Drives ``bridge.engine.core.Engine`` directly in one thread (no HTTP, no worker threads) on a
fresh database made on the server, one connection in the pool, through the calls a worker
makes for a one-activity workflow (start, poll, commands, activity claim and completion,
poll, completion, the last poll, the status read), and prints per workflow: each
operation's wall time, this process's CPU and the backend's CPU (from ``/proc``, so the
server must run on this machine).

    python bench/pg_ops.py postgresql://postgres@127.0.0.1:5432 [--n 400]
"""

from __future__ import annotations

import argparse
import collections
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bridge.engine.core import Engine

QUEUE = "default"


def _backend_cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("server", help="e.g. postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--n", type=int, default=400)
    args = ap.parse_args()
    server = args.server.rstrip("/")
    db = "pg_ops_" + uuid.uuid4().hex[:8]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    wall: collections.Counter[str] = collections.Counter()
    client: collections.Counter[str] = collections.Counter()
    backend: collections.Counter[str] = collections.Counter()
    pids: list[int] = []
    try:
        engine = Engine.open(f"{server}/{db}", pool_size=1)
        worker = engine.register_worker(identity="w", queue=QUEUE)

        def call(label: str, fn: Callable[..., Any], *a: Any, **k: Any) -> Any:
            if not pids:
                return fn(*a, **k)
            b0, t0, c0 = _backend_cpu_s(pids), time.perf_counter(), time.process_time()
            result = fn(*a, **k)
            client[label] += time.process_time() - c0
            wall[label] += time.perf_counter() - t0
            backend[label] += _backend_cpu_s(pids) - b0
            return result

        def poll(label: str) -> Any:
            return call(label, engine.poll_workflow_task_or_activity, queue=QUEUE,
                        worker_id=worker)

        def one(i: int) -> None:
            wid = f"wf-{i}"
            call("start", engine.start_workflow, workflow_type="T", workflow_id=wid,
                 input={"n": i})
            poll("poll (claims)")
            call("submit (schedule)", engine.submit_commands, wid, worker_id=worker, commands=[
                {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": {"n": i}}])
            poll("poll (empty)")
            act = call("poll_activity", engine.poll_activity_task, queue=QUEUE, worker_id=worker)
            call("complete_activity", engine.complete_activity, act["id"], {"r": i})
            poll("poll (claims)")
            call("submit (complete)", engine.submit_commands, wid, worker_id=worker,
                 commands=[{"type": "CompleteWorkflow", "result": {"r": i}}])
            poll("poll (empty)")
            call("get_workflow", engine.get_workflow, wid, waiting_on=False)

        for i in range(20):  # warm-up: statements prepared, caches filled
            one(i)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            pids.extend(r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db,)))
        for i in range(20, 20 + args.n):
            one(i)
        engine.close()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    n = args.n
    print(f"per workflow (ms): {'operation':20s} {'wall':>6s} {'client CPU':>10s} "
          f"{'backend CPU':>11s}")
    for label in wall:
        print(f"                   {label:20s} {1000 * wall[label] / n:6.2f} "
              f"{1000 * client[label] / n:10.2f} {1000 * backend[label] / n:11.2f}")
    print(f"                   {'total':20s} {1000 * sum(wall.values()) / n:6.2f} "
          f"{1000 * sum(client.values()) / n:10.2f} {1000 * sum(backend.values()) / n:11.2f}")


if __name__ == "__main__":
    main()
