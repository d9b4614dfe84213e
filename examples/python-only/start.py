"""Start a Quote for the items named on the command line and print its result.

    python examples/python-only/start.py apple pear

The engine is found through ``ASSAY_ENGINE_URL`` (default ``http://127.0.0.1:8105``, the port
this example's README starts its engine on).
"""

from __future__ import annotations

import json
import os
import sys

from bridge import Client, EngineUnavailableError

URL = os.environ.get("ASSAY_ENGINE_URL", "http://127.0.0.1:8105")


def main() -> int:
    try:
        # wait_engine: an engine started a moment ago with `&` gets a few seconds to answer
        with Client(URL, wait_engine=10) as client:
            started = client.start("Quote", input={"skus": sys.argv[1:] or ["apple"]})
            result = client.result(started["workflow_id"], timeout=60)
    except EngineUnavailableError:
        print(f"start.py: no engine answers at {URL}; start one with "
              "`assay-bridge serve --port 8105 --backend sqlite:///examples-python-only.db &`",
              file=sys.stderr)
        return 4
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
