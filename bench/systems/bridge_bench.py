"""assay-bridge's side of the benchmark: an engine (``assay-bridge serve``) and worker processes.

The engine is a real ``serve`` subprocess (``bridge.testing.EngineServer``) on SQLite or
PostgreSQL; workers are ``bench/systems/bridge_worker.py`` subprocesses; this process drives
them through ``bridge.Client`` over loopback HTTP. Prints one ``BENCH-RESULT {json}`` line.

    python bench/systems/bridge_bench.py --workloads w1,w2,w3,w4,w5 [--backend URL] [sizes...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import cpu_s, emit, http_calls, latency_summary, log, rss_mb, step_summary

from bridge import Client
from bridge.testing import EngineServer

HERE = Path(__file__).resolve().parent


class Workers:
    """Worker subprocesses of bridge_worker.py."""

    def __init__(self, url: str, processes: int, concurrency: int, before: int = 0) -> None:
        self.before = before
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(HERE / "bridge_worker.py"), url, "--concurrency", str(concurrency)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for _ in range(processes)
        ]

    def wait_registered(self, c: Client, loops: int, timeout_s: float = 30.0) -> None:
        """Until the engine lists ``loops`` more workers than before they started."""
        deadline = time.monotonic() + timeout_s
        while len(c.workers()) < loops + self.before and time.monotonic() < deadline:
            time.sleep(0.02)

    def rss_mb(self) -> list[float]:
        return [rss_mb(p.pid) for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_one(c: Client, wf_type: str, n: int) -> float:
    t0 = time.perf_counter()
    wid = c.start(wf_type, input={"n": n}, task_queue="default")["workflow_id"]
    result = c.result(wid, timeout=120)
    elapsed = time.perf_counter() - t0
    assert result == {"n": n}, result
    return elapsed


def warm(c: Client, wf_type: str, n: int = 20) -> None:
    for i in range(n):
        run_one(c, wf_type, i)


def w1(c: Client, wf_type: str, n: int, engine: EngineServer | None = None) -> dict[str, Any]:
    """Sequential workflows; with ``engine``, also the engine's CPU per HTTP call it answered
    and the calls per workflow (from its ``/metrics``, read before and after)."""
    warm(c, wf_type)
    samples = []
    if engine is not None:
        cpu0, calls0 = cpu_s(engine.pid or 0), http_calls(engine.url)
    t0 = time.perf_counter()
    for i in range(n):
        samples.append(run_one(c, wf_type, i))
    out = latency_summary(samples, time.perf_counter() - t0)
    if engine is not None:
        cpu, calls = cpu_s(engine.pid or 0) - cpu0, http_calls(engine.url) - calls0 - 1
        out["engine_cpu_ms_per_call"] = cpu * 1000 / calls if calls else 0.0
        out["calls_per_workflow"] = calls / n
    return out


def w2(c: Client, wf_type: str, n: int, idle_s: float) -> dict[str, Any]:
    warm(c, wf_type, 3)
    samples = []
    for i in range(n):
        time.sleep(idle_s)
        samples.append(run_one(c, wf_type, i))
    out = latency_summary(samples)
    out["idle_s"] = idle_s
    return out


def w3(c: Client, wf_type: str, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    ids = [c.start(wf_type, input={"n": i}, task_queue="default")["workflow_id"] for i in range(n)]
    started = time.perf_counter() - t0
    for i, wid in enumerate(ids):
        assert c.result(wid, timeout=600) == {"n": i}
    total = time.perf_counter() - t0
    return {"n": n, "total_s": total, "start_all_s": started, "per_s": n / total}


def w4(c: Client, wf_type: str, steps: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    wid = c.start(wf_type, input={"steps": steps}, task_queue="default")["workflow_id"]
    result = c.result(wid, timeout=600)
    total = time.perf_counter() - t0
    assert result == {"n": steps}, result
    stamps = [e["timestamp"] for e in c.events(wid) if e["event_type"] == "ActivityCompleted"]
    return step_summary([float(s) for s in stamps], total)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5")
    ap.add_argument("--backend", default=None, help="engine store URL (default: SQLite in a temp dir)")
    ap.add_argument("--w1", type=int, default=1000)
    ap.add_argument("--w2", type=int, default=20)
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--w3", type=int, default=2000)
    ap.add_argument("--w3-processes", type=int, default=2)
    ap.add_argument("--w3-concurrency", type=int, default=4)
    ap.add_argument("--w4", type=int, default=1000)
    ap.add_argument("--w5-total", type=int, default=10000)
    ap.add_argument("--kinds", default="lua,py")
    args = ap.parse_args()
    todo = set(args.workloads.split(","))
    kinds = {"lua": "LuaOne", "py": "PyOne"}
    longs = {"lua": "LuaLong", "py": "PyLong"}
    wanted = [k for k in args.kinds.split(",") if k]
    out: dict[str, Any] = {"system": "assay-bridge", "backend": "postgresql" if args.backend else "sqlite"}
    completed = 0
    with EngineServer(backend_url=args.backend) as engine, Client(engine.url) as c:
        if todo & {"w1", "w2", "w4", "w5"}:
            workers = Workers(engine.url, 1, 1, before=len(c.workers()))
            try:
                workers.wait_registered(c, 1)
                if "w5" in todo:
                    warm(c, kinds[wanted[0]], 5)
                    completed += 5
                    time.sleep(0.5)
                    out["w5_worker_idle_mb"] = max(workers.rss_mb())
                for kind in wanted:
                    if "w1" in todo:
                        log(f"bridge w1 {kind}")
                        out[f"w1_{kind}"] = w1(c, kinds[kind], args.w1, engine)
                        completed += args.w1 + 20
                    if "w2" in todo:
                        log(f"bridge w2 {kind}")
                        out[f"w2_{kind}"] = w2(c, kinds[kind], args.w2, args.idle)
                        completed += args.w2 + 3
                    if "w4" in todo:
                        log(f"bridge w4 {kind}")
                        out[f"w4_{kind}"] = w4(c, longs[kind], args.w4)
                        completed += 1
            finally:
                workers.stop()
        if todo & {"w3", "w5"}:
            workers = Workers(engine.url, args.w3_processes, args.w3_concurrency, before=len(c.workers()))
            try:
                workers.wait_registered(c, args.w3_processes * args.w3_concurrency)
                warm(c, kinds[wanted[0]], 5)
                completed += 5
                if "w3" in todo:
                    for kind in wanted:
                        log(f"bridge w3 {kind}")
                        out[f"w3_{kind}"] = w3(c, kinds[kind], args.w3)
                        out[f"w3_{kind}"]["workers"] = f"{args.w3_processes} processes x concurrency {args.w3_concurrency}"
                        completed += args.w3
                if "w5" in todo:
                    out["w5_worker_after_w3_mb"] = max(workers.rss_mb())
                    kind = wanted[0]
                    while completed < args.w5_total:
                        batch = min(2000, args.w5_total - completed)
                        log(f"bridge w5 fill {completed}/{args.w5_total}")
                        w3(c, kinds[kind], batch)
                        completed += batch
                    out["w5_engine_mb"] = rss_mb(engine.pid or 0)
                    out["w5_engine_completed"] = completed
            finally:
                workers.stop()
    emit(out)


if __name__ == "__main__":
    main()
