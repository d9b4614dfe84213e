"""The fault tests' workload: mixed Lua/Python workflows on real worker processes, and the checks.

Two queues, two kinds of worker process:

* ``lua``: ``python -m bridge run lua_worker.lua`` (an unchanged-style assay worker script) with
  the Lua workflow ``LuaFlow`` and the Lua activity ``lua_inc``;
* ``py``: ``python -m tests.faults.py_worker`` (a ``bridge.Worker``) with the Python workflow
  ``PyFlow`` and the Python activity ``py_double``.

Each workflow calls one activity of each kind, sleeps durably in between and records a side
effect, so every run crosses both processes kinds several times:

* ``LuaFlow(n)``: ``lua_inc(n)`` -> sleep -> ``py_double`` -> side effect; result ``2(n+1)``;
* ``PyFlow(n)``: ``py_double(n)`` -> sleep -> ``lua_inc`` -> side effect; result ``2n+1``.

Every activity execution appends ``start`` and ``done`` lines (``kind wf step worker time``)
to one append-only log with a single ``write`` on an ``O_APPEND`` file, so the tests count what
really ran, across processes and kill -9.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.e2e.workers import ChildProcess

REPO = Path(__file__).resolve().parents[2]

LUA_WORKER = r"""
local workflow = require("assay.workflow")
local LOG = env.get("EXEC_LOG")
local ME = env.get("WORKER_NAME")
local OPTS = { start_to_close_secs = tonumber(env.get("ACTIVITY_TIMEOUT_S")),
               initial_interval_secs = 0.1, max_attempts = 50 }
local ACTIVITY_MAX_S = tonumber(env.get("ACTIVITY_MAX_S") or "0")

local function record(kind, wf, step)
    local f = io.open(LOG, "a")
    f:write(string.format("%s %s %s %s %.3f\n", kind, wf, step, ME, time()))
    f:close()
end

local function with_queue(q)
    local o = { task_queue = q }
    for k, v in pairs(OPTS) do o[k] = v end
    return o
end

workflow.define("LuaFlow", function(ctx, input)
    local wf = ctx.workflow_id
    local a = ctx:execute_activity("lua_inc", { n = input.n, wf = wf }, with_queue("lua"))
    ctx:sleep(input.sleep)
    local b = ctx:execute_activity("py_double", { n = a, wf = wf }, with_queue("py"))
    local token = ctx:side_effect("token", function()
        record("effect", wf, "token")
        return "t-" .. wf
    end)
    return { result = b, token = token }
end)

workflow.activity("lua_inc", function(ctx, input)
    record("start", input.wf, "lua_inc")
    if ACTIVITY_MAX_S > 0 then sleep(math.random() * ACTIVITY_MAX_S) end
    record("done", input.wf, "lua_inc")
    return input.n + 1
end)

workflow.connect(env.get("ENGINE_URL"))
workflow.listen({ queue = "lua", identity = "faults-" .. ME })
"""


def record(kind: str, wf: str, step: str, worker: str) -> None:
    """Append one execution line (one ``write`` on an ``O_APPEND`` file: atomic across processes)."""
    line = f"{kind} {wf} {step} {worker} {time.time():.3f}\n".encode()
    fd = os.open(os.environ["EXEC_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def expected(workflow_type: str, n: int, wf: str) -> dict[str, Any]:
    """The result a workflow of the workload must end with."""
    result = 2 * (n + 1) if workflow_type == "LuaFlow" else 2 * n + 1
    return {"result": result, "token": f"t-{wf}"}


class WorkerProcess(ChildProcess):
    """One worker process of kind ``lua`` or ``py`` (see the module docstring)."""

    def __init__(self, kind: str, name: str, folder: Path, url: str, *,
                 activity_timeout_s: float, activity_max_s: float = 0.0) -> None:
        self.kind, self.name = kind, name
        self.stderr_path = folder / f"{name}.stderr"
        env = {**os.environ, "ENGINE_URL": url, "EXEC_LOG": str(folder / "exec.log"),
               "WORKER_NAME": name, "ACTIVITY_TIMEOUT_S": str(activity_timeout_s),
               "ACTIVITY_MAX_S": str(activity_max_s), "PYTHONPATH": str(REPO)}
        if kind == "lua":
            script = folder / "lua_worker.lua"
            if not script.exists():
                script.write_text(LUA_WORKER)
            cmd = [sys.executable, "-m", "bridge", "run", str(script)]
        else:
            cmd = [sys.executable, "-m", "tests.faults.py_worker"]
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)


@dataclass
class Fleet:
    """The worker processes of one test; killed ones are kept for the final report."""

    folder: Path
    url: str
    activity_timeout_s: float
    activity_max_s: float = 0.0
    live: list[WorkerProcess] = field(default_factory=list)
    killed: list[WorkerProcess] = field(default_factory=list)
    _count: int = 0

    def spawn(self, kind: str) -> WorkerProcess:
        self._count += 1
        w = WorkerProcess(kind, f"{kind}{self._count}", self.folder, self.url,
                          activity_timeout_s=self.activity_timeout_s,
                          activity_max_s=self.activity_max_s)
        self.live.append(w)
        return w

    def kill(self, w: WorkerProcess) -> None:
        w.kill()
        self.live.remove(w)
        self.killed.append(w)

    def dead(self) -> list[WorkerProcess]:
        """Live workers that died on their own (they never should)."""
        return [w for w in self.live if not w.alive()]

    def stop_all(self) -> list[tuple[str, int]]:
        """SIGTERM every live worker; ``(name, exit code)`` of each."""
        return [(w.name, w.stop()) for w in self.live]

    def log_path(self) -> Path:
        return self.folder / "exec.log"


@dataclass(frozen=True)
class Execution:
    kind: str
    wf: str
    step: str
    worker: str
    at: float


def executions(log: Path) -> list[Execution]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        kind, wf, step, worker, at = line.split(" ")
        out.append(Execution(kind, wf, step, worker, float(at)))
    return out


def start_workflows(url: str, n: int, prefix: str, rng: Any) -> dict[str, tuple[str, int]]:
    """Start ``n`` workflows, alternating Lua and Python; ``{id: (type, n)}``."""
    started: dict[str, tuple[str, int]] = {}
    with requests.Session() as s:
        for i in range(n):
            wf_type = "LuaFlow" if i % 2 == 0 else "PyFlow"
            wid = f"{prefix}-{i}"
            queue = "lua" if wf_type == "LuaFlow" else "py"
            body = {"workflow_type": wf_type, "workflow_id": wid, "task_queue": queue,
                    "input": {"n": i, "sleep": round(rng.uniform(0.05, 0.6), 3)}}
            r = post_until_accepted(s, f"{url}/api/v1/workflows", body)
            assert r.status_code in (201, 409), r.text  # 409: created before a lost answer
            started[wid] = (wf_type, i)
    return started


def post_until_accepted(s: requests.Session, url: str, body: Any,
                        patience_s: float = 60.0) -> requests.Response:
    """POST, retrying connection failures and 503 (the engine may be restarting)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            r = s.post(url, json=body, timeout=10)
            if r.status_code != 503:
                return r
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"engine did not accept {url}")
        time.sleep(0.1)


@dataclass
class Report:
    """What the checks found, for the assertion messages and the printed figures."""

    workflows: int = 0
    completed: int = 0
    problems: list[str] = field(default_factory=list)
    executions: Counter[str] = field(default_factory=Counter)
    reruns: int = 0
    effect_reruns: int = 0

    def summary(self) -> str:
        return (f"{self.completed}/{self.workflows} completed, {sum(self.executions.values())} "
                f"activity executions ({dict(self.executions)}), {self.reruns} re-run, "
                f"{self.effect_reruns} side-effect re-runs, {len(self.problems)} problems")


def await_and_check(url: str, started: dict[str, tuple[str, int]], log: Path,
                    timeout_s: float) -> Report:
    """Wait for every workflow, then check each one's result and history.

    Per workflow: COMPLETED with the expected result; exactly one ``WorkflowCompleted``; each
    activity seq scheduled once and completed once; one ``TimerFired``; one side effect recorded;
    no failure events; every activity ran at least once (from the execution log).
    """
    rep = Report(workflows=len(started))
    deadline = time.monotonic() + timeout_s
    with requests.Session() as s:
        for wid, (wf_type, n) in started.items():
            rec = None
            while time.monotonic() < deadline:
                try:
                    r = s.get(f"{url}/api/v1/workflows/{wid}/wait", timeout=15,
                              params={"timeout": min(10.0, max(0.1, deadline - time.monotonic()))})
                except requests.ConnectionError:
                    time.sleep(0.2)
                    continue
                if r.status_code == 200 and r.json()["status"] not in ("PENDING", "RUNNING"):
                    rec = r.json()
                    break
            if rec is None:
                rep.problems.append(f"{wid}: not finished in time")
                continue
            if rec["status"] != "COMPLETED":
                rep.problems.append(f"{wid}: {rec['status']} {rec.get('error')}")
                continue
            got = json.loads(rec["result"])
            if got != expected(wf_type, n, wid):
                rep.problems.append(f"{wid}: result {got} != {expected(wf_type, n, wid)}")
                continue
            rep.completed += 1
            events = s.get(f"{url}/api/v1/workflows/{wid}/events", timeout=15).json()
            rep.problems += [f"{wid}: {p}" for p in history_problems(events)]
    runs = executions(log)
    starts = Counter((e.wf, e.step) for e in runs if e.kind == "start")
    effects = Counter(e.wf for e in runs if e.kind == "effect")
    for wid, (wf_type, _) in started.items():
        for step in ("lua_inc", "py_double"):
            if starts[(wid, step)] == 0:
                rep.problems.append(f"{wid}: {step} completed but never ran (log)")
        if effects[wid] == 0:
            rep.problems.append(f"{wid}: side effect never ran (log)")
    rep.executions = Counter(step for (_, step) in starts.elements())
    rep.reruns = sum(c - 1 for c in starts.values() if c > 1)
    rep.effect_reruns = sum(c - 1 for c in effects.values() if c > 1)
    return rep


def history_problems(events: Iterable[dict[str, Any]]) -> list[str]:
    """What is wrong in one completed workflow's history of the workload (empty if nothing)."""
    by_type: Counter[str] = Counter()
    scheduled: Counter[int] = Counter()
    completed: Counter[int] = Counter()
    seqs: list[int] = []
    for e in events:
        by_type[e["event_type"]] += 1
        seqs.append(e["seq"])
        p = e.get("payload") or {}
        if isinstance(p, str):  # GET /events carries the payload as JSON text
            p = json.loads(p)
        if e["event_type"] == "ActivityScheduled":
            scheduled[p["activity_seq"]] += 1
        elif e["event_type"] == "ActivityCompleted":
            completed[p["activity_seq"]] += 1
    problems = []
    if len(set(seqs)) != len(seqs):
        problems.append(f"duplicate event seq {seqs}")
    if by_type["WorkflowCompleted"] != 1:
        problems.append(f"{by_type['WorkflowCompleted']} WorkflowCompleted")
    if len(scheduled) != 2 or set(scheduled.values()) != {1}:
        problems.append(f"ActivityScheduled per seq {dict(scheduled)}")
    if completed != scheduled:
        problems.append(f"ActivityCompleted per seq {dict(completed)}")
    for bad in ("ActivityFailed", "WorkflowFailed", "WorkflowCancelled", "WorkflowTerminated"):
        if by_type[bad]:
            problems.append(f"{by_type[bad]} {bad}")
    if by_type["TimerFired"] != 1 or by_type["SideEffectRecorded"] != 1:
        problems.append(f"events {dict(by_type)}")
    return problems


def retries_before_timeout(log: Path, timeout_s: float, slack_s: float = 0.3) -> list[str]:
    """Activity attempts that started again sooner than ``timeout_s`` after the previous start."""
    starts: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for e in executions(log):
        if e.kind == "start":
            starts[(e.wf, e.step)].append(e.at)
    early = []
    for key, times in starts.items():
        times.sort()
        for a, b in zip(times, times[1:]):
            if b - a < timeout_s - slack_s:
                early.append(f"{key}: attempts {b - a:.2f}s apart")
    return early


def leftovers(db_path: Path) -> list[str]:
    """Leases or running activities left in an engine's SQLite file once everything finished."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        out = [f"workflow {r[0]} lease held by {r[1]}" for r in conn.execute(
            "SELECT id, dispatch_claimed_by FROM workflows WHERE dispatch_claimed_by IS NOT NULL")]
        out += [f"activity {r[0]} {r[1]}" for r in conn.execute(
            "SELECT id, status FROM workflow_activities WHERE status NOT IN "
            "('COMPLETED', 'FAILED', 'CANCELLED')")]
        return out
    finally:
        conn.close()


def unfinished(db_path: Path) -> int:
    """How many workflows in an engine's SQLite file are not finished (read-only look)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        n: int = conn.execute("SELECT count(*) FROM workflows WHERE status IN "
                              "('PENDING', 'RUNNING')").fetchone()[0]
        return n
    finally:
        conn.close()
