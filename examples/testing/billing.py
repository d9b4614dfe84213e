"""Billing, in Python: an invoice is charged when its payment terms are up.

``worker`` is the application's worker; in production ``worker.run()`` serves it (its URL
comes from ``ASSAY_ENGINE_URL``), in tests ``workflow_env.worker(handlers=worker)`` serves the
same handlers on the test's own engine.
"""

from __future__ import annotations

import os
from typing import Any

from bridge import ActivityContext, Worker, WorkflowContext

worker = Worker(os.environ.get("ASSAY_ENGINE_URL", "http://127.0.0.1:8080"))


@worker.activity("charge")
def charge(ctx: ActivityContext, input: dict[str, Any]) -> dict[str, Any]:
    """Charge the customer (a real one would call the payment provider)."""
    return {"ref": f"ch-{input['customer']}-{input['cents']}"}


@worker.workflow("Invoice")
def invoice(ctx: WorkflowContext, input: dict[str, Any]) -> dict[str, Any]:
    """Wait out the payment terms, then charge."""
    ctx.sleep(input["terms_days"] * 86400)
    receipt = ctx.execute_activity("charge", {"customer": input["customer"],
                                              "cents": input["cents"]})
    return {"customer": input["customer"], "paid": receipt["ref"]}


if __name__ == "__main__":
    worker.run()
