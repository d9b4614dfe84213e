"""assay-bridge with the engine inside the process (``bridge.Engine``): W1 and W3.

One process: the engine on a SQLite file in a temporary directory, an in-process worker
(``Worker(engine=...)``, the Lua and Python workflows of bridge_worker.py) and an in-process
client, so no call crosses a socket. The same workloads as bridge_bench.py, for the
"embedded vs served" rows. Prints one ``BENCH-RESULT {json}`` line.

    python bench/systems/embedded_bench.py --workloads w1,w3 [--w1 N] [--w3 N] [--w3-concurrency C]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bridge_bench import w1, w3, warm
from bridge_worker import build
from common import emit, log

import bridge


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="w1,w3")
    ap.add_argument("--w1", type=int, default=1000)
    ap.add_argument("--w3", type=int, default=2000)
    ap.add_argument("--w3-concurrency", type=int, default=1)
    ap.add_argument("--kinds", default="lua,py")
    args, _ = ap.parse_known_args()
    todo = set(args.workloads.split(","))
    kinds = {"lua": "LuaOne", "py": "PyOne"}
    wanted = [k for k in args.kinds.split(",") if k]
    out: dict[str, Any] = {"system": "assay-bridge-embedded", "backend": "sqlite"}
    with tempfile.TemporaryDirectory() as tmp, \
            bridge.Engine(f"sqlite:///{Path(tmp) / 'bench.db'}", poll_wait_s=1.0) as engine, \
            bridge.Client(engine=engine) as c:
        for workload, concurrency in (("w1", 1), ("w3", args.w3_concurrency)):
            if workload not in todo:
                continue
            worker = build(None, concurrency, engine=engine)
            worker.start()
            try:
                assert worker.wait_registered(30)
                warm(c, kinds[wanted[0]], 5)
                for kind in wanted:
                    log(f"embedded {workload} {kind}")
                    if workload == "w1":
                        out[f"w1_{kind}"] = w1(c, kinds[kind], args.w1)
                    else:
                        out[f"w3_{kind}"] = w3(c, kinds[kind], args.w3)
                        out[f"w3_{kind}"]["workers"] = f"1 process x concurrency {concurrency}"
            finally:
                worker.stop()
                worker.join()
    emit(out)


if __name__ == "__main__":
    main()
