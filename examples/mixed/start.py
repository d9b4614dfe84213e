"""Start an OrderPipeline on the engine and print its result."""

from __future__ import annotations

import json
import os
import sys
import uuid

from bridge import Client

with Client(os.environ.get("ASSAY_ENGINE_URL", "http://127.0.0.1:8080")) as client:
    workflow_id = f"order-{uuid.uuid4().hex[:8]}"
    client.start_workflow("OrderPipeline", workflow_id,
                          {"order": 42, "text": " ".join(sys.argv[1:]) or "durable lua from python"})
    print(json.dumps(client.result(workflow_id, timeout=60), indent=2, sort_keys=True))
