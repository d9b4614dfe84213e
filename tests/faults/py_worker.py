"""A Python worker process for the fault tests: ``python -m tests.faults.py_worker``.

Serves queue ``py``: the Python workflow ``PyFlow`` and the Python activity ``py_double``.
Configured by the environment (ENGINE_URL, EXEC_LOG, WORKER_NAME, ACTIVITY_TIMEOUT_S,
ACTIVITY_MAX_S); every activity execution appends a line to EXEC_LOG (see kit.record).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
from typing import Any

from bridge import Worker
from tests.faults.kit import record

ENGINE_URL = os.environ["ENGINE_URL"]
NAME = os.environ.get("WORKER_NAME", "py")
TIMEOUT_S = float(os.environ.get("ACTIVITY_TIMEOUT_S", "5"))
ACTIVITY_MAX_S = float(os.environ.get("ACTIVITY_MAX_S", "0"))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    w = Worker(ENGINE_URL, queue="py", concurrency=2, log_stderr=False,
               identity=f"faults-{NAME}")
    opts = {"start_to_close_secs": TIMEOUT_S, "initial_interval_secs": 0.1, "max_attempts": 50}

    @w.activity("py_double")
    def py_double(ctx: Any, input: Any) -> Any:
        record("start", input["wf"], "py_double", NAME)
        if ACTIVITY_MAX_S:
            time.sleep(random.uniform(0, ACTIVITY_MAX_S))
        record("done", input["wf"], "py_double", NAME)
        return input["n"] * 2

    @w.workflow("PyFlow")
    def py_flow(ctx: Any, input: Any) -> Any:
        wf = ctx.workflow_id
        a = ctx.execute_activity("py_double", {"n": input["n"], "wf": wf}, task_queue="py", **opts)
        ctx.sleep(input["sleep"])
        b = ctx.execute_activity("lua_inc", {"n": a, "wf": wf}, task_queue="lua", **opts)
        token = ctx.side_effect("token", lambda: _effect(wf))
        return {"result": b, "token": token}

    signal.signal(signal.SIGTERM, lambda *_: w.stop())  # graceful: the task in hand finishes
    w.run()


def _effect(wf: str) -> str:
    record("effect", wf, "token", NAME)
    return f"t-{wf}"


if __name__ == "__main__":
    main()
