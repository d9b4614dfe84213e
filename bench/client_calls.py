"""Calls per second and client CPU per call of ``bridge.Client`` against a running engine.

    assay-bridge serve --backend sqlite:////tmp/calls.db --port 18777 --no-auth &
    python bench/client_calls.py --url http://127.0.0.1:18777 --calls 2000

One thread, one client, sequential calls: ``health`` (GET, tiny answer), ``get_workflow`` (GET
of one record) and ``start`` (POST with a JSON body). CPU is this process's own
(``time.process_time``), so the engine's share is left out.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bridge import Client


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:18777")
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    with Client(args.url) as c:
        for _ in range(50):  # warm-up: connection, imports
            c.health()
        wid = c.start("Bench")["workflow_id"]
        calls: list[tuple[str, Callable[[], object]]] = [
            ("health", c.health),
            ("get_workflow", lambda: c.get_workflow(wid)),
            ("start", lambda: c.start("Bench", input={"x": 1})),
        ]
        for name, fn in calls:
            t0, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(args.calls):
                fn()
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            print(f"{name:13s} {args.calls / wall:7.0f} calls/s  "
                  f"client CPU {cpu / args.calls * 1e6:6.0f} us/call")


if __name__ == "__main__":
    main()
