"""The benchmark's assay-bridge worker: Lua and Python handlers on one ``bridge.Worker``.

    python bench/systems/bridge_worker.py URL [--concurrency N]
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

from bridge import Worker

HERE = Path(__file__).resolve().parent


def build(url: str | None, concurrency: int, engine: Any = None) -> Worker:
    """A worker serving the Lua workflows of bench_workflows.lua and their Python twins
    (on ``url``, or in-process on ``engine``, a ``bridge.Engine``)."""
    worker = Worker(url, engine=engine, concurrency=concurrency, log_stderr=False)
    worker.load_lua(HERE / "bench_workflows.lua")

    @worker.activity("py_echo")
    def py_echo(ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
        return {"n": input["n"]}

    @worker.workflow("PyOne")
    def py_one(ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
        return {"n": ctx.execute_activity("py_echo", {"n": input["n"]})["n"]}

    @worker.workflow("PyLong")
    def py_long(ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
        last = 0
        for i in range(1, input["steps"] + 1):
            last = ctx.execute_activity("py_echo", {"n": i})["n"]
        return {"n": last}

    return worker


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    worker = build(args.url, args.concurrency)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.run()


if __name__ == "__main__":
    main()
