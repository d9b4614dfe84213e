"""A pure-Python worker: workflows and activities written in Python, no Lua file.

Run it with ``assay-bridge worker run examples/python-only/worker.py:worker`` or
``python examples/python-only/worker.py``. The engine is found through ``ASSAY_ENGINE_URL``
(default ``http://127.0.0.1:8105``, the port this example's README starts its engine on).
"""

from __future__ import annotations

import os
from typing import Any

from bridge import ActivityContext, ApplicationError, Worker, WorkflowContext

PRICES = {"apple": 120, "pear": 95, "plum": 40}  # cents

worker = Worker(os.environ.get("ASSAY_ENGINE_URL", "http://127.0.0.1:8105"), queue="default")


@worker.activity("price")
def price(ctx: ActivityContext, input: dict[str, Any]) -> dict[str, Any]:
    """Look a price up (a real one would call a service or a database)."""
    sku = input["sku"]
    if sku not in PRICES:
        raise ApplicationError(f"unknown sku {sku!r}", non_retryable=True)
    return {"sku": sku, "cents": PRICES[sku]}


@worker.workflow("Quote")
def quote(ctx: WorkflowContext, input: dict[str, Any]) -> dict[str, Any]:
    """Price each item with an activity, then total them."""
    lines = [ctx.execute_activity("price", {"sku": sku}, max_attempts=1) for sku in input["skus"]]
    return {"lines": lines, "total_cents": sum(line["cents"] for line in lines)}


if __name__ == "__main__":
    worker.run()
