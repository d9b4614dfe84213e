"""Start a Quote for the items named on the command line and print its result."""

from __future__ import annotations

import json
import os
import sys

from bridge import Client

with Client(os.environ.get("ASSAY_ENGINE_URL", "http://localhost:8080")) as client:
    started = client.start("Quote", input={"skus": sys.argv[1:] or ["apple"]})
    print(json.dumps(client.result(started["workflow_id"], timeout=60), indent=2, sort_keys=True))
