"""README's "In your own app" example runs as written: an engine, worker and client in one
process on a SQLite file, and again on the same file after a restart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _example() -> str:
    found = [b for b in _FENCE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
             if "bridge.Engine(" in b]
    assert len(found) == 1
    return found[0]


def test_the_in_your_own_app_example_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(2):  # the second run reopens app.db
        done = subprocess.run([sys.executable, "-c", _example()], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "{'text': 'hello, app!'}"
    assert (tmp_path / "app.db").is_file()
