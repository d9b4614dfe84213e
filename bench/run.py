"""The benchmark: assay-bridge and its peers (DBOS, Temporal) side by side, one run.

    python bench/run.py                       # the full run (several minutes)
    python bench/run.py --quick               # small sizes, a minute or two
    python bench/run.py --peers dbos          # only some peers ("none" for none)
    python bench/run.py --postgres URL        # W6 on this PostgreSQL server (a database is made)
    python bench/run.py --json out.json       # also write the raw figures
    python bench/run.py --repeat 3            # every system 3 times (rounds interleaved): medians

Each system runs in its own child process (bench/systems/<system>_bench.py), one after the
other, never in parallel, and prints its figures as JSON; this script prints the table with
the ratios of assay-bridge to each peer. A peer that cannot be imported or started is listed
with the reason instead of figures. bench/README.md says what differs per workload.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SYSTEMS = HERE / "systems"

FULL = {"w1": 1000, "w2": 20, "idle": 2.0, "w3": 2000, "w4": 1000, "w5_total": 10000, "w7": 15}
QUICK = {"w1": 100, "w2": 3, "idle": 2.0, "w3": 200, "w4": 100, "w5_total": 1000, "w7": 5}
# Smallest sizes, for the CI smoke test (tests/bench/test_bench_smoke.py).
SMOKE = {"w1": 5, "w2": 1, "idle": 0.2, "w3": 10, "w4": 5, "w5_total": 40, "w7": 1}


def run_system(script: str, argv: list[str], timeout_s: float) -> dict[str, Any]:
    """Run one system's benchmark child; its figures, or ``{"error": why}``."""
    cmd = [sys.executable, str(SYSTEMS / script), *argv]
    print(f"# {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, cwd=SYSTEMS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return dict(json.loads(line[len("BENCH-RESULT "):]))
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail[:200]}"}


def peer_missing(module: str) -> str | None:
    """Why a peer cannot run here (its package is not importable), or None."""
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    return f"`import {module}` failed: pip install -e '.[bench]'"


def cold_start(runs: int) -> dict[str, Any]:
    """W7: ``assay-bridge run`` of a one-line script, and a bare ``python -c pass`` for reference."""
    script = HERE / "systems" / "hello_print.lua"
    bridge_cmd = [sys.executable, "-m", "bridge", "run", str(script)]
    exe = Path(sys.executable).parent / "assay-bridge"
    if exe.exists():
        bridge_cmd = [str(exe), "run", str(script)]

    # as after a pip install: the first start writes the .pyc files the others read (with
    # PYTHONDONTWRITEBYTECODE set, every start would compile the package again)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def median_ms(cmd: list[str]) -> float:
        subprocess.run(cmd, capture_output=True, check=True, env=env)  # page cache, .pyc files
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, check=True, env=env)
            samples.append(time.perf_counter() - t0)
            assert out.stdout.strip() in (b"", b"hello"), out.stdout
        return statistics.median(samples) * 1000

    return {
        "assay_bridge_run_ms": median_ms(bridge_cmd),
        "python_pass_ms": median_ms([sys.executable, "-c", "pass"]),
        "python_import_bridge_ms": median_ms([sys.executable, "-c", "import bridge"]),
        "starts": runs,
    }


def make_pg_database(server_url: str) -> tuple[str, str]:
    """A fresh database on the server; returns (its URL, its name)."""
    import psycopg

    name = f"assay_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url.rstrip('/')}/{name}", name


def drop_pg_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the median over the runs that have it (a run with an error is skipped,
    unless every run failed)."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[-1]
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for r in good for k in r):
        values = [r[key] for r in good if key in r]
        if all(isinstance(v, dict) for v in values):
            out[key] = median_of(values)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[key] = statistics.median(values)
        else:
            out[key] = values[-1]
    out["runs"] = len(good)
    return out


# -- the table --------------------------------------------------------------------------------

def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        text = f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    else:
        text = str(v)
    return f"{text} {unit}".strip()


def ratio(ours: Any, theirs: Any) -> str:
    if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)) or not theirs:
        return "-"
    return f"{ours / theirs:.2f}x"


ROWS: list[tuple[str, tuple[str, ...], str, str]] = [
    # label, path in a system's results, unit, "lower" or "higher" is better
    ("W1 total, sequential (Lua)", ("w1_lua", "total_s"), "s", "lower"),
    ("W1 total, sequential (Python)", ("w1_py", "total_s"), "s", "lower"),
    ("W1 p50 (Python)", ("w1_py", "p50_ms"), "ms", "lower"),
    ("W1 engine HTTP calls per workflow (Python)", ("w1_py", "calls_per_workflow"), "", "lower"),
    ("W1 p99 (Python)", ("w1_py", "p99_ms"), "ms", "lower"),
    ("W2 idle pickup p50 (Python)", ("w2_py", "p50_ms"), "ms", "lower"),
    ("W2 idle pickup p99 (Python)", ("w2_py", "p99_ms"), "ms", "lower"),
    ("W2 idle pickup p50 (Lua)", ("w2_lua", "p50_ms"), "ms", "lower"),
    ("W3 throughput (Lua)", ("w3_lua", "per_s"), "wf/s", "higher"),
    ("W3 throughput (Python)", ("w3_py", "per_s"), "wf/s", "higher"),
    ("W4 long workflow total (Lua)", ("w4_lua", "total_s"), "s", "lower"),
    ("W4 long workflow total (Python)", ("w4_py", "total_s"), "s", "lower"),
    ("W4 step time end/start (Lua)", ("w4_lua", "end_over_start"), "", "lower"),
    ("W4 step time end/start (Python)", ("w4_py", "end_over_start"), "", "lower"),
    ("W5 worker RSS idle", ("w5_worker_idle_mb",), "MB", "lower"),
    ("W5 worker RSS after W3", ("w5_worker_after_w3_mb",), "MB", "lower"),
    ("W5 engine RSS after all runs", ("w5_engine_mb",), "MB", "lower"),
]


def table(results: dict[str, dict[str, Any]], peers: list[str]) -> str:
    """A markdown table: one row per figure, assay-bridge then each peer and the ratio."""
    ours = results["assay-bridge"]
    head = ["workload", "assay-bridge"]
    for p in peers:
        head += [p, f"bridge/{p}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, path, unit, _better in ROWS:
        ov = _get(ours, *path)
        if ov is None and all(_get(results.get(p, {}), *path) is None for p in peers):
            continue
        cells = [label, fmt(ov, unit)]
        for p in peers:
            pv = _get(results.get(p, {}), *path)
            if pv is None and path[0].endswith("_lua"):
                # peers have no Lua: our Lua figure is compared with their Python one
                pv = _get(results.get(p, {}), path[0].replace("_lua", "_py"), *path[1:])
            cells += [fmt(pv, unit), ratio(ov, pv)]
        lines.append("| " + " | ".join(cells) + " |")
    embedded = results.get("assay-bridge-embedded")
    if embedded is not None:
        lines.append("")
        dbos = results.get("dbos", {})
        lines.append("| In-process engine (`bridge.Engine`, one process, no socket) | embedded "
                     "| served over HTTP | embedded/served | dbos | embedded/dbos |")
        lines.append("|---|---|---|---|---|---|")
        if "error" in embedded:
            lines.append(f"| not run | {embedded['error']} | | | | |")
        for label, path, unit, _ in [r for r in ROWS if r[1][0] in ("w1_lua", "w1_py", "w3_lua", "w3_py")
                                     and r[1][1] in ("total_s", "per_s")]:
            a, b = _get(embedded, *path), _get(ours, *path)
            d = _get(dbos, path[0].replace("_lua", "_py"), *path[1:])
            if a is not None:
                lines.append(f"| {label} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b)} "
                             f"| {fmt(d, unit)} | {ratio(a, d)} |")
    pg = results.get("assay-bridge-postgresql")
    if pg is not None:
        lines.append("")
        lines.append("| W6: assay-bridge on PostgreSQL vs SQLite | PostgreSQL | SQLite | PG/SQLite |")
        lines.append("|---|---|---|---|")
        if "error" in pg:
            lines.append(f"| not run | {pg['error']} | | |")
        for label, path, unit, _ in ROWS[:4] + ROWS[7:9]:
            a, b = _get(pg, *path), _get(ours, *path)
            if a is not None:
                lines.append(f"| {label} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b)} |")
        dpg = results.get("dbos-postgresql")
        if dpg is not None and "error" not in dpg and "error" not in pg:
            lines.append("")
            lines.append("| W6: both on the same PostgreSQL | assay-bridge | DBOS | bridge/DBOS |")
            lines.append("|---|---|---|---|")
            for label, path, unit, _ in ROWS[:4] + ROWS[7:9]:
                a = _get(pg, *path)
                b = _get(dpg, *path)
                if b is None and path[0].endswith("_lua"):
                    b = _get(dpg, path[0].replace("_lua", "_py"), *path[1:])
                if a is not None:
                    lines.append(f"| {label} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b)} |")
        if dpg is not None:
            lines.append("")
            lines.append(f"| W6 peer: DBOS on PostgreSQL | {'; '.join(f'{l}: {fmt(_get(dpg, *p), u)}' for l, p, u, _ in (ROWS[1], ROWS[8]) if _get(dpg, *p) is not None) or dpg.get('error', '-')} |")
            lines.append("|---|---|")
    floor = results.get("floor")
    if floor:
        lines.append("")
        lines.append("| Engine CPU per HTTP call (W1) | ms | over the floor |")
        lines.append("|---|---|---|")
        if "error" in floor:
            lines.append(f"| floor not measured | {floor['error']} | |")
        base = floor.get("cpu_ms_per_call")
        lines.append(f"| floor: a no-op starlette route on the same server stack | {fmt(base)} | 1.00x |")
        for kind, label in (("lua", "Lua"), ("py", "Python")):
            v = _get(ours, f"w1_{kind}", "engine_cpu_ms_per_call")
            if v is not None:
                lines.append(f"| the engine during W1 ({label}) | {fmt(v)} | {ratio(v, base)} |")
    w7 = results.get("w7")
    if w7:
        lines.append("")
        lines.append("| W7 cold start (median of %d starts) | ms |" % w7["starts"])
        lines.append("|---|---|")
        lines.append(f"| `assay-bridge run` of a one-line script | {fmt(w7['assay_bridge_run_ms'])} |")
        lines.append(f"| `python -c 'import bridge'` | {fmt(w7['python_import_bridge_ms'])} |")
        lines.append(f"| `python -c pass` (reference) | {fmt(w7['python_pass_ms'])} |")
    errors = [(name, r["error"]) for name, r in results.items() if isinstance(r, dict) and "error" in r]
    if errors:
        lines.append("")
        for name, why in errors:
            lines.append(f"- **{name} not measured**: {why}")
    return "\n".join(lines)


TABLE_START = "<!-- bench-table: start (bench/run.py --readme writes this part) -->"
TABLE_END = "<!-- bench-table: end -->"


def write_readme(path: Path, command: str, heading: str, body: str) -> None:
    """Replace the part of ``path`` between the table markers with this run's table."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: the table markers are missing")
    part = (f"{TABLE_START}\n\nCommand:\n\n```sh\n{command}\n```\n\n```text\n{heading}\n```\n\n"
            f"{body}\n\n")
    path.write_text(text[:start] + part + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, for the CI smoke test")
    ap.add_argument("--peers", default="dbos,temporal", help="comma-separated: dbos, temporal, or none")
    ap.add_argument("--postgres", default=None, metavar="SERVER_URL",
                    help="run W6 on this PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5,w7", help="subset of w1..w7 (w6 needs --postgres)")
    ap.add_argument("--w3-processes", type=int, default=2)
    ap.add_argument("--w3-concurrency", type=int, default=4)
    ap.add_argument("--embedded-w3-concurrency", type=int, default=1,
                    help="poll loops of the embedded W3 worker (one process, one GIL: 1 is fastest "
                         "for handlers that only compute)")
    ap.add_argument("--w6-only", action="store_true",
                    help="with --postgres: only the PostgreSQL runs (ours and the peers')")
    ap.add_argument("--json", default=None, help="also write the raw figures to this file")
    ap.add_argument("--readme", action="store_true",
                    help="also put the table in bench/README.md (between its table markers)")
    ap.add_argument("--repeat", type=int, default=1, help="run every system this many times; report medians")
    ap.add_argument("--cpus", default=None, metavar="LIST",
                    help="run every system on these CPUs only, e.g. 0 (comma-separated; Linux; "
                         "the processes of each system inherit it)")
    args = ap.parse_args(argv)
    if args.cpus:
        try:
            os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
        except (ValueError, OSError) as exc:
            ap.error(f"--cpus {args.cpus}: {exc}")
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    peers = [p for p in args.peers.split(",") if p and p != "none"]
    todo = set(args.workloads.split(","))
    child_loads = ",".join(sorted(todo & {"w1", "w2", "w3", "w4", "w5"}))
    common = ["--w1", str(sizes["w1"]), "--w2", str(sizes["w2"]), "--idle", str(sizes["idle"]),
              "--w3", str(sizes["w3"]), "--w4", str(sizes["w4"])]
    timeout_s = 3600.0
    started = time.time()
    rounds: list[dict[str, dict[str, Any]]] = []
    for _ in range(max(1, args.repeat)):
        rounds.append(one_round(args, sizes, peers, todo, child_loads, common, timeout_s))
    results = {name: median_of([r[name] for r in rounds if name in r])
               for name in dict.fromkeys(n for r in rounds for n in r)}
    elapsed = time.time() - started
    heading = (f"assay-bridge benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
               f"{platform.machine()}, {os.cpu_count()} CPUs"
               + (f" (every system pinned to CPU {args.cpus})" if args.cpus else "")
               + f", Python {platform.python_version()}, "
               f"{elapsed:.0f} s; sizes: {json.dumps(sizes)}"
               + (f"; medians of {args.repeat} runs" if args.repeat > 1 else ""))
    body = table(results, [p for p in peers if p in results])
    print()
    print(heading)
    print()
    print(body)
    if args.readme:
        command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_readme(HERE / "README.md", command, heading, body)
    if args.json:
        Path(args.json).write_text(json.dumps({"median": results, "rounds": rounds}, indent=2))
    failed = [n for n, r in results.items() if n == "assay-bridge" and "error" in r]
    return 1 if failed else 0


def one_round(args: argparse.Namespace, sizes: dict[str, Any], peers: list[str], todo: set[str],
              child_loads: str, common: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Every system once, one after the other."""
    results: dict[str, dict[str, Any]] = {}
    w6_only = args.w6_only and bool(args.postgres)
    if child_loads and not w6_only:
        results["assay-bridge"] = run_system(
            "bridge_bench.py",
            ["--workloads", child_loads, *common, "--w5-total", str(sizes["w5_total"]),
             "--w3-processes", str(args.w3_processes), "--w3-concurrency", str(args.w3_concurrency)],
            timeout_s)
    else:
        results["assay-bridge"] = {}
    embedded_loads = ",".join(sorted(todo & {"w1", "w3"}))
    if embedded_loads and not w6_only:
        results["assay-bridge-embedded"] = run_system(
            "embedded_bench.py",
            ["--workloads", embedded_loads, "--w1", str(sizes["w1"]), "--w3", str(sizes["w3"]),
             "--w3-concurrency", str(args.embedded_w3_concurrency)],
            timeout_s)
    if args.postgres and child_loads:
        try:
            url, name = make_pg_database(args.postgres)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results["assay-bridge-postgresql"] = {"error": f"cannot create a database: {exc}"}
        else:
            try:
                results["assay-bridge-postgresql"] = run_system(
                    "bridge_bench.py",
                    ["--workloads", "w1,w3", *common, "--backend", url,
                     "--w3-processes", str(args.w3_processes), "--w3-concurrency", str(args.w3_concurrency)],
                    timeout_s)
            finally:
                drop_pg_database(args.postgres, name)
    for peer in peers:
        module, script = {"dbos": ("dbos", "dbos_bench.py"), "temporal": ("temporalio", "temporal_bench.py")}[peer]
        why = peer_missing(module)
        if why:
            results[peer] = {"error": why}
            continue
        if child_loads and not w6_only:
            results[peer] = run_system(script, ["--workloads", child_loads, *common], timeout_s)
        if peer == "dbos" and args.postgres and child_loads and "error" not in results.get(peer, {}):
            url, name = make_pg_database(args.postgres)
            try:
                results["dbos-postgresql"] = run_system(
                    script, ["--workloads", "w1,w3", *common, "--db", url.replace("postgresql://", "postgresql+psycopg://")],
                    timeout_s)
            finally:
                drop_pg_database(args.postgres, name)
    if "w1" in todo:
        results["floor"] = run_system("floor_bench.py", ["--calls", str(20 * sizes["w1"])],
                                      timeout_s)
    if "w7" in todo:
        results["w7"] = cold_start(sizes["w7"])
    return results


if __name__ == "__main__":
    raise SystemExit(main())
