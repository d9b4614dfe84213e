"""The benchmark runs end to end with tiny sizes and no peers, so it cannot rot.

The full run is manual: ``python bench/run.py`` (bench/README.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_bench_smoke_run_prints_every_workload(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--peers", "none", "--json", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())["median"]
    ours = figures["assay-bridge"]
    assert "error" not in ours, ours
    for key in ("w1_lua", "w1_py", "w2_lua", "w2_py", "w3_lua", "w3_py", "w4_lua", "w4_py"):
        assert ours[key]["total_s" if key[:2] in ("w1", "w3", "w4") else "p50_ms"] > 0, key
    assert ours["w5_worker_idle_mb"] > 0 and ours["w5_engine_mb"] > 0
    assert figures["w7"]["assay_bridge_run_ms"] > 0
    assert "| W1 total, sequential (Lua) |" in proc.stdout
    assert "W7 cold start" in proc.stdout


def test_embedded_calls_prints_each_route_and_each_thread() -> None:
    script = RUN.parent / "embedded_calls.py"
    proc = subprocess.run([sys.executable, str(script), "--workflows", "5", "--kinds", "lua"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for route in ("start", "poll (new workflow)", "commands (schedule)", "poll (null)",
                  "activity poll", "activity complete", "poll (activity done)",
                  "commands (complete)", "wait"):
        assert f"  {route} " in proc.stdout, route
    assert "threads (LuaOne): " in proc.stdout and "in the engine)" in proc.stdout
    for who, route in (("client", "POST /workflows "), ("client", "GET /workflows/{id}/wait "),
                       ("worker", "POST /workflow-tasks/poll "),
                       ("worker", "POST /workflow-tasks/{id}/commands "),
                       ("worker", "POST /tasks/poll "), ("worker", "POST /tasks/{id}/complete ")):
        assert re.search(rf"^  {who} +{re.escape(route)} *\d\.\d\d calls +\d+ us CPU a workflow$",
                         proc.stdout, re.MULTILINE), (who, route)
    assert re.search(r"^  voluntary context switches a workflow: client \d+\.\d, worker \d+\.\d$",
                     proc.stdout, re.MULTILINE)


def test_bench_runs_every_system_on_the_cpus_asked_for(tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, str(RUN), "--cpus", "x", "--smoke"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--cpus x:" in bad.stderr
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(RUN), "--smoke", "--peers", "none",
                           "--workloads", "w1", "--cpus", "0", "--json", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(every system pinned to CPU 0)" in proc.stdout
    figures = json.loads(out.read_text())["median"]
    for system in ("assay-bridge", "assay-bridge-embedded"):
        assert figures[system]["cpus"] == [0], system
    assert "| W1 total, sequential (Lua) |" in proc.stdout
