"""Start an Intake (Python workflow -> Lua activity + Lua child workflow -> Python activity +
Python child workflow -> Lua activity) and print its result.

    python examples/mixed/start.py "some words to score"
"""

from __future__ import annotations

import json
import os
import sys

from bridge import Client

text = " ".join(sys.argv[1:]) or "durable lua from python"
with Client(os.environ.get("ASSAY_ENGINE_URL", "http://localhost:8080")) as client:
    started = client.start("Intake", input={"order": 42, "text": text})
    print(json.dumps(client.result(started["workflow_id"], timeout=60), indent=2, sort_keys=True))
