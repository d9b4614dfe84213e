"""Sustained load on a real engine (manual, not CI): concurrent starts, signals and cancels.

    python bench/soak.py --minutes 3 --clients 4

Starts ``assay-bridge serve`` on a temporary SQLite file and a Python worker (``bridge.Worker``,
4 poll loops) serving a workflow that runs an activity, then waits for a signal. Client threads
start workflows, signal most of them and cancel some, for the given time. Every 10 s it prints
the engine's RSS; at the end the latency percentiles of each call, the errors, and whether every
signalled workflow completed and every cancelled one was cancelled.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

from bridge import Worker
from bridge.testing import EngineServer


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()

    lat: defaultdict[str, list[float]] = defaultdict(list)
    errors: defaultdict[str, int] = defaultdict(int)
    signalled: list[str] = []
    cancelled: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    with EngineServer(poll_wait_s=5.0) as engine:
        w = Worker(engine.url, queue="soak", concurrency=4, log_stderr=False)

        @w.activity("work")
        def work(ctx: Any, input: Any) -> Any:
            return {"n": input["n"] * 2}

        @w.workflow("Soak")
        def soak(ctx: Any, input: Any) -> Any:
            r = ctx.execute_activity("work", input, task_queue="soak")
            go = ctx.wait_for_signal("go")
            return {"r": r, "go": go}

        w.start()
        assert w.wait_registered(timeout=30)

        def call(s: requests.Session, kind: str, method: str, url: str, **kw: Any) -> bool:
            t0 = time.perf_counter()
            try:
                r = s.request(method, url, timeout=30, **kw)
                ok = r.status_code < 300
            except requests.RequestException:
                ok = False
            with lock:
                lat[kind].append(time.perf_counter() - t0)
                if not ok:
                    errors[kind] += 1
            return ok

        def client(seed: int) -> None:
            rng = random.Random(seed)
            with requests.Session() as s:
                while not stop.is_set():
                    wid = f"soak-{uuid.uuid4().hex[:12]}"
                    if not call(s, "start", "POST", f"{engine.api_url}/workflows", json={
                            "workflow_type": "Soak", "workflow_id": wid, "task_queue": "soak",
                            "input": {"n": rng.randrange(1000)}}):
                        continue
                    if rng.random() < 0.2:
                        if call(s, "cancel", "POST", f"{engine.api_url}/workflows/{wid}/cancel"):
                            with lock:
                                cancelled.append(wid)
                    elif call(s, "signal", "POST", f"{engine.api_url}/workflows/{wid}/signal/go",
                              json={"payload": {"ok": True}}):
                        with lock:
                            signalled.append(wid)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        t_start = time.monotonic()
        for t in threads:
            t.start()
        assert engine.pid is not None
        samples = []
        end = t_start + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(10.0, max(0.0, end - time.monotonic())))
            samples.append((round(time.monotonic() - t_start), rss_mb(engine.pid)))
            print(f"t={samples[-1][0]:>4}s engine RSS {samples[-1][1]:.1f} MB, "
                  f"{len(lat['start'])} started", flush=True)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t_start

        # every signalled workflow must complete, every cancelled one be cancelled
        unfinished = bad = 0
        with requests.Session() as s:
            for wid, want in [(x, "COMPLETED") for x in signalled] + \
                             [(x, "CANCELLED") for x in cancelled]:
                r = s.get(f"{engine.api_url}/workflows/{wid}/wait", params={"timeout": 60},
                          timeout=90).json()
                if r["status"] in ("PENDING", "RUNNING"):
                    unfinished += 1
                elif r["status"] != want:
                    bad += 1
        w.stop()
        w.join(timeout=30)

    print(f"\n{args.minutes} min, {args.clients} client threads, {elapsed:.0f} s: "
          f"{len(lat['start'])} started ({len(lat['start']) / elapsed:.1f}/s), "
          f"{len(signalled)} signalled, {len(cancelled)} cancelled")
    print("engine RSS MB: " + ", ".join(f"{t}s {m:.1f}" for t, m in samples))
    for kind, xs in sorted(lat.items()):
        q = statistics.quantiles(sorted(xs), n=100)
        print(f"{kind:>7}: n={len(xs)} p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, "
              f"p99 {q[98] * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms, errors {errors[kind]}")
    print(f"outcome: {unfinished} not finished, {bad} with the wrong status, "
          f"worker errors {w.errors}")


if __name__ == "__main__":
    main()
