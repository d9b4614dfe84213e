"""``assay-bridge demo``: the whole stack on the embedded default, end to end.

Starts ``assay-bridge serve`` on a SQLite file, a worker serving a Lua workflow and Python
handlers side by side, runs one workflow to its result and prints it. The Lua workflow calls
a Python activity, sleeps on a durable timer and starts a Python child workflow, which calls a
Lua activity back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.worker import Worker

DEMO_LUA = """
local workflow = require("assay.workflow")

workflow.define("OrderPipeline", function(ctx, input)
    local scored = ctx:execute_activity("score", { text = input.text })   -- Python activity
    ctx:sleep(0.2)                                                        -- durable timer
    local review = ctx:start_child_workflow("Review", {                   -- Python workflow
        workflow_id = ctx.workflow_id .. "-review",
        input = { score = scored.score, text = input.text },
    })
    return { order = input.order, score = scored.score, review = review }
end)

workflow.activity("shout", function(ctx, input)                           -- Lua activity
    return { text = string.upper(input.text) .. "!" }
end)
"""


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="run a mixed Lua/Python workflow on an embedded SQLite engine",
        description=(
            "Start an engine on a SQLite file, a worker with a Lua workflow and Python "
            "handlers, run one workflow to its result and print it."
        ),
    )
    p.add_argument("--db", metavar="PATH",
                   help="SQLite file to use (default: a temporary file, removed afterwards)")
    p.add_argument("--text", default="durable lua workflows from python",
                   help="input text of the demo order")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the result")
    p.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    from bridge.client import Client
    from bridge.testing import EngineServer
    from bridge.worker import Worker

    with tempfile.TemporaryDirectory(prefix="assay-bridge-demo-") as tmp:
        db = Path(args.db).resolve() if args.db else Path(tmp) / "demo.db"
        print(f"engine: starting on sqlite:///{db}", file=sys.stderr)
        worker = None
        try:
            with EngineServer(backend_url=f"sqlite:///{db}") as engine:
                print(f"engine: listening on {engine.url}", file=sys.stderr)
                worker = _demo_worker(engine.url, Worker)
                worker.start()
                if not worker.wait_registered(timeout=30):
                    print("worker: did not register with the engine", file=sys.stderr)
                    return 1
                print("worker: Lua workflow + Python handlers registered", file=sys.stderr)
                with Client(engine.url) as client:
                    workflow_id = f"order-{uuid.uuid4().hex[:8]}"
                    client.start("OrderPipeline", workflow_id,
                                          {"order": 42, "text": args.text})
                    print(f"workflow: started {workflow_id}", file=sys.stderr)
                    result = client.result(workflow_id, timeout=args.timeout)
                    events = [e["event_type"] for e in client.events(workflow_id)]
                # stopping the engine ends the worker's held poll at once
                worker.stop()
        finally:
            if worker is not None:
                worker.stop()
                worker.join(timeout=15)
    print(f"workflow: history {' -> '.join(events)}", file=sys.stderr)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def _demo_worker(url: str, worker_type: type[Worker]) -> Worker:
    w = worker_type(url, queue="default", log_stderr=False)

    @w.activity("score")
    def score(ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
        words = input["text"].split()
        return {"score": round(sum(len(x) for x in words) / max(len(words), 1), 2)}

    @w.workflow("Review")
    def review(ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
        verdict = "accept" if input["score"] >= 4 else "reject"
        shouted = ctx.execute_activity("shout", {"text": f"{verdict}: {input['text']}"})
        return {"verdict": verdict, "message": shouted["text"]}

    w.load_lua(DEMO_LUA)
    return w
