"""DBOS's side of the benchmark: DBOS Transact in this process on a SQLite (or PostgreSQL) system database.

DBOS runs workflows in-process: no server, no HTTP between the code and its store. Prints
one ``BENCH-RESULT {json}`` line.

    python bench/systems/dbos_bench.py --workloads w1,w2,w3,w4,w5 [--db URL] [sizes...]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from typing import Any

from common import emit, latency_summary, log, rss_mb, step_summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5")
    ap.add_argument("--db", default=None, help="system database URL (default: SQLite in a temp dir)")
    ap.add_argument("--w1", type=int, default=1000)
    ap.add_argument("--w2", type=int, default=20)
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--w3", type=int, default=2000)
    ap.add_argument("--w3-concurrency", type=int, default=16)
    ap.add_argument("--w4", type=int, default=1000)
    args = ap.parse_args()
    todo = set(args.workloads.split(","))

    from dbos import DBOS

    tmp = tempfile.TemporaryDirectory(prefix="bench-dbos-")
    url = args.db or f"sqlite:///{os.path.join(tmp.name, 'dbos.sqlite')}"
    DBOS(config={"name": "bench", "system_database_url": url, "log_level": "WARNING",
                 "console_log_level": "WARNING"})

    @DBOS.step()
    def echo(n: int) -> dict[str, Any]:
        return {"n": n}

    @DBOS.workflow()
    def one(n: int) -> dict[str, Any]:
        return {"n": echo(n)["n"]}

    @DBOS.step()
    def stamp(i: int) -> float:
        return time.time()

    @DBOS.workflow()
    def long(steps: int) -> list[float]:
        return [stamp(i) for i in range(steps)]

    DBOS.launch()
    queue = DBOS.register_queue("bench", worker_concurrency=args.w3_concurrency, polling_interval_sec=0.01)
    logging.getLogger("dbos").setLevel(logging.WARNING)
    out: dict[str, Any] = {"system": "dbos", "backend": "postgresql" if args.db else "sqlite"}
    out["w5_worker_idle_mb"] = rss_mb(os.getpid())

    def run_one(n: int) -> float:
        t0 = time.perf_counter()
        result = DBOS.start_workflow(one, n).get_result()
        elapsed = time.perf_counter() - t0
        assert result == {"n": n}, result
        return elapsed

    try:
        for i in range(20):
            run_one(i)
        if "w1" in todo:
            log("dbos w1")
            samples = []
            t0 = time.perf_counter()
            for i in range(args.w1):
                samples.append(run_one(i))
            out["w1_py"] = latency_summary(samples, time.perf_counter() - t0)
        if "w2" in todo:
            log("dbos w2")
            samples = []
            for i in range(args.w2):
                time.sleep(args.idle)
                t0 = time.perf_counter()
                assert DBOS.start_workflow(one, i).get_result() == {"n": i}
                samples.append(time.perf_counter() - t0)
            out["w2_py"] = latency_summary(samples) | {"idle_s": args.idle}
        if "w4" in todo:
            log("dbos w4")
            t0 = time.perf_counter()
            stamps = DBOS.start_workflow(long, args.w4).get_result()
            out["w4_py"] = step_summary(stamps, time.perf_counter() - t0)
        if "w3" in todo:
            log("dbos w3")
            t0 = time.perf_counter()
            handles = [queue.enqueue(one, i) for i in range(args.w3)]
            started = time.perf_counter() - t0
            for i, h in enumerate(handles):
                assert h.get_result() == {"n": i}
            total = time.perf_counter() - t0
            out["w3_py"] = {"n": args.w3, "total_s": total, "start_all_s": started, "per_s": args.w3 / total,
                            "workers": f"1 process, queue worker_concurrency {args.w3_concurrency}"}
            out["w5_worker_after_w3_mb"] = rss_mb(os.getpid())
    finally:
        DBOS.destroy()
        tmp.cleanup()
    emit(out)


if __name__ == "__main__":
    main()
