"""The coroutine crash soak: globals called from workflow code and side effects, engine kill -9.

Lua workers (``python -m bridge run``, ``PYTHONFAULTHANDLER=1``) run ``Soak`` workflows whose
body and side effect call ``http.post`` with table bodies (to a local echo server), ``json``,
``yaml``, ``toml``, ``regex``, ``crypto`` and ``base64``: all of it inside workflow.lua's
coroutines, and again at every replay. Meanwhile the engine is killed with ``kill -9`` and
restarted on the same file and port. Every workflow must complete with the values a main-chunk
script computes, and every worker must stay alive (a segfault is a dead worker).

``tests/faults/test_coroutine_soak.py`` runs the short form; ``bench/coroutine_soak.py`` the long.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from bridge.runtime.runtime import Runtime
from bridge.testing import EngineServer
from tests.e2e.workers import ChildProcess
from tests.faults.kit import post_until_accepted
from tests.helpers import QuietHandler

REPO = Path(__file__).resolve().parents[2]

CALC_LUA = r"""
local ECHO = env.get("ECHO_URL")

local function calc(n, tag)
    local r = http.post(ECHO, { n = n, tags = { tag, "b" }, empty = {} }, { headers = { ["X-N"] = n } })
    local echoed = json.parse(r.body)
    local y = yaml.parse(yaml.encode({ n = n, list = { 1, 2 } }))
    local t = toml.parse(toml.encode({ n = n }))
    return {
        echoed = echoed.n, tags = echoed.tags[1], y = y.n + y.list[2], t = t.n,
        m = regex.match("wf-" .. n, "^wf-\\d+$"), r = regex.replace("a1b2", "\\d", "#"),
        h = crypto.hash(tostring(n), "sha256"):sub(1, 16),
        b = base64.decode(base64.encode("n=" .. n)),
    }
end
"""

SOAK_LUA = CALC_LUA + r"""
local workflow = require("assay.workflow")

workflow.define("Soak", function(ctx, input)
    local body = calc(input.n, "body")
    local side = ctx:side_effect("calc", function() return calc(input.n, "side") end)
    local act = ctx:execute_activity("double", { n = input.n }, { task_queue = "soak" })
    return { body = body, side = side, act = act }
end)

workflow.activity("double", function(ctx, input)
    return json.parse(json.encode({ x = input.n * 2 })).x
end)

workflow.connect(env.get("ENGINE_URL"))
workflow.listen({ queue = "soak", identity = "soak-" .. env.get("WORKER_NAME") })
"""


def main_chunk_values(echo_url: str, ns: range) -> dict[int, Any]:
    """What ``Soak(n)`` returns when its calls run in a script's main chunk, by ``n``."""
    rt = Runtime(log_stderr=False, env_overrides={"ECHO_URL": echo_url})
    try:
        fn = rt.execute(CALC_LUA + "\nreturn function(n) return json.encode("
                        "{body = calc(n, 'body'), side = calc(n, 'side'), act = n * 2}) end",
                        "=main")
        return {n: json.loads(rt.call(fn, n)) for n in ns}
    finally:
        rt.close()


def expected(n: int) -> dict[str, Any]:
    """What ``Soak(n)`` must return, worked out in Python (checks the main-chunk values)."""
    def calc(tag: str) -> dict[str, Any]:
        return {"echoed": n, "tags": tag, "y": n + 2, "t": n, "m": True, "r": "a#b#",
                "h": hashlib.sha256(str(n).encode()).hexdigest()[:16], "b": f"n={n}"}
    return {"body": calc("body"), "side": calc("side"), "act": 2 * n}


class _Echo(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SoakWorker(ChildProcess):
    """``python -m bridge run soak.lua`` with faulthandler on."""

    def __init__(self, name: str, folder: Path, engine_url: str, echo_url: str) -> None:
        self.name = name
        self.stderr_path = folder / f"{name}.stderr"
        script = folder / "soak.lua"
        if not script.exists():
            script.write_text(SOAK_LUA)
        env = {**os.environ, "ENGINE_URL": engine_url, "ECHO_URL": echo_url, "WORKER_NAME": name,
               "PYTHONFAULTHANDLER": "1", "PYTHONPATH": str(REPO)}
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bridge", "run", str(script)],
                                         cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)


@dataclass
class SoakReport:
    """What one soak run did and found."""

    workflows: int
    kills: int
    workers: int
    seconds: float = 0.0
    completed: int = 0
    problems: list[str] = field(default_factory=list)
    dead_workers: list[str] = field(default_factory=list)
    exit_codes: list[tuple[str, int]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.completed}/{self.workflows} Soak workflows completed with the main-chunk "
                f"values in {self.seconds:.1f} s, engine kill -9 x{self.kills}, "
                f"{self.workers} worker(s), {len(self.dead_workers)} died, "
                f"{len(self.problems)} problems, exit codes {self.exit_codes}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(folder: Path, *, workflows: int, kills: int, workers: int = 1,
        seed: int | None = None, timeout_s: float = 300.0) -> SoakReport:
    """Run the soak; the report says what was wrong, if anything."""
    rng = random.Random(seed)
    report = SoakReport(workflows, kills, workers)
    echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    echo.daemon_threads = True
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    echo_url = f"http://127.0.0.1:{echo.server_address[1]}/echo"
    port = _free_port()
    t0 = time.monotonic()
    try:
        want = main_chunk_values(echo_url, range(workflows))
        report.problems += [f"main chunk {n}: {want[n]}" for n in range(min(3, workflows))
                            if want[n] != expected(n)]
        with EngineServer(poll_wait_s=0.2, extra_args=["--port", str(port)]) as engine:
            fleet = [SoakWorker(f"w{i}", folder, engine.url, echo_url) for i in range(workers)]
            try:
                ids = _start_with_kills(engine, workflows, kills, rng)
                _await_results(engine.url, ids, want, report, timeout_s)
                report.dead_workers = [w.name for w in fleet if not w.alive()]
                report.problems += [f"{w.name} died: {w.stderr()[-3000:]}" for w in fleet
                                    if not w.alive()]
            finally:
                report.exit_codes = [(w.name, w.stop()) for w in fleet]
            for w in fleet:
                if "Fatal Python error" in w.stderr():
                    report.problems.append(f"{w.name}: {w.stderr()[-3000:]}")
    finally:
        echo.shutdown()
        echo.server_close()
    report.seconds = time.monotonic() - t0
    return report


def _start_with_kills(engine: EngineServer, n: int, kills: int, rng: random.Random) -> list[str]:
    ids: list[str] = []
    batch = max(1, n // (kills + 1))
    with requests.Session() as s:
        for k in range(kills + 1):
            count = batch if k < kills else n - len(ids)
            for _ in range(count):
                wid = f"soak-{len(ids)}"
                body = {"workflow_type": "Soak", "workflow_id": wid, "task_queue": "soak",
                        "input": {"n": len(ids)}}
                r = post_until_accepted(s, f"{engine.url}/api/v1/workflows", body)
                assert r.status_code in (201, 409), r.text  # 409: created before a lost answer
                ids.append(wid)
            if k < kills:
                time.sleep(rng.uniform(0.2, 1.0))  # while that batch runs
                engine.kill()
                time.sleep(rng.uniform(0.0, 0.5))
                engine.start()
    return ids


def _await_results(url: str, ids: list[str], want: dict[int, Any], report: SoakReport,
                   timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with requests.Session() as s:
        for wid in ids:
            rec = None
            while time.monotonic() < deadline and rec is None:
                try:
                    r = s.get(f"{url}/api/v1/workflows/{wid}/wait", params={"timeout": 10}, timeout=15)
                except requests.ConnectionError:
                    time.sleep(0.2)
                    continue
                if r.status_code == 200 and r.json()["status"] not in ("PENDING", "RUNNING"):
                    rec = r.json()
            if rec is None:
                report.problems.append(f"{wid}: not finished in time")
            elif rec["status"] != "COMPLETED":
                report.problems.append(f"{wid}: {rec['status']} {rec.get('error')}")
            elif (got := json.loads(rec["result"])) != want[int(wid.split("-")[1])]:
                report.problems.append(f"{wid}: {got}")
            else:
                report.completed += 1


__all__ = ["SoakReport", "expected", "main_chunk_values", "run"]
