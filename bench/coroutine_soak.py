"""The coroutine crash soak, long form: ``python bench/coroutine_soak.py --workflows 5000 --kills 10``.

Lua workers whose workflow bodies and side effects call http, json, yaml, toml, regex, crypto
and base64, with the engine killed (kill -9) and restarted between batches; prints what
completed and whether any worker died (tests/faults/coroutine_soak.py has the workload).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.coroutine_soak import run  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workflows", type=int, default=5000)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = run(Path(folder), workflows=args.workflows, kills=args.kills,
                     workers=args.workers, seed=args.seed, timeout_s=3600)
    print(report.summary())
    for line in report.problems[:20]:
        print("  " + line)
    return 0 if not report.problems and not report.dead_workers else 1


if __name__ == "__main__":
    raise SystemExit(main())
