"""Python half of the mixed example: one worker serving Lua and Python handlers.

    assay-bridge serve --port 8103 --backend sqlite:///examples-mixed.db &   # the engine
    export ASSAY_ENGINE_URL=http://127.0.0.1:8103
    python examples/mixed/worker.py &         # this worker
    python examples/mixed/start.py            # start an Intake and print its result

Intake (Python) -> count_words (Lua activity) and OrderPipeline (Lua child workflow)
OrderPipeline (Lua) -> score (Python activity) and Review (Python child workflow)
Review (Python) -> shout (Lua activity)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bridge import ActivityContext, Worker, WorkflowContext

worker = Worker(os.environ.get("ASSAY_ENGINE_URL", "http://127.0.0.1:8103"), queue="default")


@worker.workflow("Intake")
def intake(ctx: WorkflowContext, input: dict[str, Any]) -> dict[str, Any]:
    """A Python workflow that calls a Lua activity and starts a Lua child workflow."""
    counted = ctx.execute_activity("count_words", {"text": input["text"]})
    if counted["words"] == 0:
        return {"accepted": False, "words": 0}
    order = ctx.start_child_workflow(
        "OrderPipeline", workflow_id=f"{ctx.workflow_id}-order",
        input={"order": input["order"], "text": input["text"]},
    )
    return {"accepted": True, "words": counted["words"], "order": order}


@worker.activity("score")
def score(ctx: ActivityContext, input: dict[str, Any]) -> dict[str, Any]:
    """A Python activity (this is where numpy, pandas or a model would go)."""
    words = input["text"].split()
    return {"score": sum(len(w) for w in words) / max(len(words), 1)}


@worker.workflow("Review")
def review(ctx: WorkflowContext, input: dict[str, Any]) -> dict[str, Any]:
    """A Python workflow that calls a Lua activity."""
    verdict = "accept" if input["score"] >= 4 else "reject"
    shouted = ctx.execute_activity("shout", {"text": f"{verdict} {input['text']}"})
    return {"verdict": verdict, "message": shouted["text"]}


worker.load_lua(Path(__file__).with_name("workflows.lua"))

if __name__ == "__main__":
    worker.run()
