"""Helpers shared by the per-system benchmark runners (timing, percentiles, RSS)."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def latency_summary(samples_s: list[float], total_s: float | None = None) -> dict[str, Any]:
    """Total, p50, p99 and mean in milliseconds (total in seconds)."""
    out: dict[str, Any] = {
        "n": len(samples_s),
        "p50_ms": percentile(samples_s, 50) * 1000,
        "p99_ms": percentile(samples_s, 99) * 1000,
        "mean_ms": statistics.fmean(samples_s) * 1000 if samples_s else 0.0,
    }
    if total_s is not None:
        out["total_s"] = total_s
    return out


def step_summary(times_s: list[float], total_s: float) -> dict[str, Any]:
    """Per-step time near the start and near the end of a long workflow.

    ``times_s`` are the completion times of the steps in order; the first and last tenth
    (at least one step) are compared.
    """
    gaps = [b - a for a, b in zip(times_s, times_s[1:])]
    k = max(1, len(gaps) // 10)
    first = statistics.fmean(gaps[:k]) * 1000 if gaps else 0.0
    last = statistics.fmean(gaps[-k:]) * 1000 if gaps else 0.0
    return {
        "steps": len(times_s),
        "total_s": total_s,
        "first_step_ms": first,
        "last_step_ms": last,
        "end_over_start": (last / first) if first else 0.0,
    }


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (from /proc), 0.0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def emit(results: dict[str, Any]) -> None:
    """Print the results as one JSON line on stdout, the orchestrator's input, with the CPUs
    the process was allowed to run on (``run.py --cpus``), where the OS tells."""
    if hasattr(os, "sched_getaffinity"):
        results = {**results, "cpus": sorted(os.sched_getaffinity(0))}
    sys.stdout.write("BENCH-RESULT " + json.dumps(results) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    """Progress on stderr."""
    print(msg, file=sys.stderr, flush=True)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc), 0.0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_calls(url: str) -> float:
    """How many HTTP requests an assay-bridge engine has answered (its ``/metrics``)."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(url + "/metrics", timeout=30).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "assay_bridge_http_request_duration_seconds_count")
