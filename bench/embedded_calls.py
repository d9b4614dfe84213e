"""Where a one-activity workflow's time goes in the embedded engine, call by call and thread by thread.

    python bench/embedded_calls.py --workflows 2000

Two measurements, both on a ``bridge.Engine`` over a SQLite file in a temporary directory:

* **calls**: one thread makes the nine engine calls of a one-activity workflow itself (start,
  workflow-task poll, commands, the poll that answers ``null`` because an activity is ready, the
  activity poll and completion, the next poll, the completing commands, ``/wait``), straight at
  ``Engine.request``, with the bodies workflow.lua sends. No worker, no client, no thread
  hand-off: the engine's own cost per route, in microseconds of wall time per workflow.
* **threads**: W1 of the embedded benchmark (``bench/systems/embedded_bench.py``): an in-process
  worker with the Lua and Python workflows and a client, workflows started and awaited one after
  the other. Each thread's CPU per workflow, and the part of it spent inside ``Engine.request``,
  route by route; on Linux, each thread's voluntary context switches per workflow (a thread
  blocking on a lock, a wait or the GIL).

The difference between the engine's cost in the two is what running the client and the worker
in two threads (on two cores) costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bridge
from bridge.engine.api import hot

sys.path.insert(0, str(Path(__file__).resolve().parent / "systems"))

from bridge_bench import run_one, warm  # noqa: E402
from bridge_worker import build  # noqa: E402

API = "/api/v1"
JSON = {"Content-Type": "application/json"}
WARM_UP = 50

Request = Callable[..., tuple[int, dict[str, str], bytes]]


@contextmanager
def engine_on_temp_file(cpu_handoff: bool = True) -> Iterator[bridge.Engine]:
    with tempfile.TemporaryDirectory() as tmp, \
            bridge.Engine(f"sqlite:///{Path(tmp) / 'calls.db'}", poll_wait_s=1.0,
                          cpu_handoff=cpu_handoff) as engine:
        yield engine


def _post(request: Request, path: str, body: Mapping[str, Any]) -> tuple[int, bytes]:
    status, _, data = request("POST", API + path, json.dumps(body).encode(), JSON)
    return status, data


def one_workflow(request: Request, worker_id: str, n: int, spent: defaultdict[str, float]) -> None:
    """The calls workflow.lua and the client make for one LuaOne workflow, each timed."""
    wid = f"Calls-{n:012x}"
    poll = {"queue": "default", "worker_id": worker_id}

    def call(route: str, method: str, path: str, body: Mapping[str, Any] | None) -> bytes:
        start = time.perf_counter()
        if body is None:
            status, _, data = request(method, API + path, None, {})
        else:
            status, data = _post(request, path, body)
        spent[route] += time.perf_counter() - start
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        return data

    call("start", "POST", "/workflows", {"workflow_type": "LuaOne", "workflow_id": wid,
                                         "task_queue": "default", "input": {"n": n}})
    call("poll (new workflow)", "POST", "/workflow-tasks/poll", poll)
    call("commands (schedule)", "POST", f"/workflow-tasks/{wid}/commands", {
        "worker_id": worker_id, "commands": [{"type": "ScheduleActivity", "seq": 1,
                                              "name": "lua_echo", "task_queue": "default",
                                              "input": {"n": n}}]})
    if call("poll (null)", "POST", "/workflow-tasks/poll", poll) != b"null":
        raise RuntimeError("the poll after scheduling found a workflow task")
    activity = json.loads(call("activity poll", "POST", "/tasks/poll", poll))
    call("activity complete", "POST", f"/tasks/{activity['id']}/complete", {"result": {"n": n}})
    call("poll (activity done)", "POST", "/workflow-tasks/poll", poll)
    call("commands (complete)", "POST", f"/workflow-tasks/{wid}/commands", {
        "worker_id": worker_id, "commands": [{"type": "CompleteWorkflow", "result": {"n": n}}]})
    record = json.loads(call("wait", "GET", f"/workflows/{wid}/wait?timeout=60", None))
    if record["status"] != "COMPLETED":
        raise RuntimeError(f"{wid} ended {record['status']}")


def measure_calls(workflows: int) -> None:
    with engine_on_temp_file() as engine:
        _, data = _post(engine.request, "/workers/register", {
            "identity": "embedded-calls", "queue": "default", "workflows": ["LuaOne"],
            "activities": ["lua_echo"]})
        worker_id = json.loads(data)["worker_id"]
        spent: defaultdict[str, float] = defaultdict(float)
        for n in range(WARM_UP):
            one_workflow(engine.request, worker_id, 10**9 + n, spent)
        spent.clear()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for n in range(workflows):
            one_workflow(engine.request, worker_id, n, spent)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"calls: one thread, {workflows} workflows: {wall / workflows * 1e6:.0f} us wall, "
          f"{cpu / workflows * 1e6:.0f} us CPU a workflow")
    for route, seconds in spent.items():
        print(f"  {route:22s} {seconds / workflows * 1e6:6.0f} us")


def _thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _voluntary_switches(thread: threading.Thread) -> int | None:
    """The thread's voluntary context switches so far (Linux), else None."""
    try:
        with open(f"/proc/self/task/{thread.native_id}/status") as status:
            for line in status:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split(":")[1])
    except OSError:
        pass
    return None


def _route(method: str, target: str) -> str:
    found = hot.match(method.upper(), target.partition("?")[0])
    return f"{method} {found[0].path.removeprefix(API) if found else target}"


class Spent:
    """CPU inside ``Engine.request`` by thread (client, worker) and route, and call counts."""

    def __init__(self) -> None:
        self.cpu: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.calls: defaultdict[tuple[str, str], int] = defaultdict(int)

    def thread(self, who: str) -> float:
        return sum(seconds for (name, _), seconds in self.cpu.items() if name == who)

    def clear(self) -> None:
        self.cpu.clear()
        self.calls.clear()


def measure_threads(workflows: int, kind: str, cpu_handoff: bool = True) -> None:
    workflow_type = {"lua": "LuaOne", "py": "PyOne"}[kind]
    spent = Spent()
    with engine_on_temp_file(cpu_handoff) as engine, bridge.Client(engine=engine) as client:
        answer = engine.request
        main = threading.main_thread()

        def timed(method: str, path: str, *args: Any, **kwargs: Any
                  ) -> tuple[int, dict[str, str], bytes]:
            start = time.thread_time()
            try:
                return answer(method, path, *args, **kwargs)
            finally:
                key = ("client" if threading.current_thread() is main else "worker",
                       _route(method, path))
                spent.cpu[key] += time.thread_time() - start
                spent.calls[key] += 1

        engine.request = timed  # type: ignore[method-assign]
        worker = build(None, 1, engine=engine)
        worker.start()
        try:
            if not worker.wait_registered(30):
                raise RuntimeError("the worker did not register")
            warm(client, workflow_type, WARM_UP)
            poll_loop = next(t for t in threading.enumerate() if t.name.startswith("assay-worker"))
            threads = {"client": main, "worker": poll_loop}
            spent.clear()
            switches0 = {who: _voluntary_switches(t) for who, t in threads.items()}
            wall0, client0, worker0 = time.perf_counter(), time.thread_time(), _thread_cpu(poll_loop)
            for n in range(workflows):
                run_one(client, workflow_type, n)
            wall = time.perf_counter() - wall0
            client_cpu, worker_cpu = time.thread_time() - client0, _thread_cpu(poll_loop) - worker0
            switches1 = {who: _voluntary_switches(t) for who, t in threads.items()}
        finally:
            worker.stop()
            worker.join()

    def us(seconds: float) -> str:
        return f"{seconds / workflows * 1e6:.0f} us"

    print(f"threads ({workflow_type}): {us(wall)} wall a workflow; client thread {us(client_cpu)} "
          f"CPU ({us(spent.thread('client'))} in the engine); worker thread {us(worker_cpu)} CPU "
          f"({us(spent.thread('worker'))} in the engine)")
    for (who, route), seconds in sorted(spent.cpu.items()):
        print(f"  {who:6s} {route:36s} {spent.calls[who, route] / workflows:5.2f} calls "
              f"{us(seconds):>9s} CPU a workflow")
    counted: list[tuple[str, int]] = []
    for who, before in switches0.items():
        after = switches1[who]
        if before is not None and after is not None:
            counted.append((who, after - before))
    if len(counted) == len(threads):
        print("  voluntary context switches a workflow: " + ", ".join(
            f"{who} {count / workflows:.1f}" for who, count in counted))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workflows", type=int, default=2000)
    ap.add_argument("--only", choices=("calls", "threads"), default=None)
    ap.add_argument("--kinds", default="lua,py", help="workflows of the threads run: lua, py")
    ap.add_argument("--no-cpu-handoff", action="store_true",
                    help="threads run: leave thread placement to the OS (Engine(cpu_handoff=False))")
    args = ap.parse_args()
    if args.only in (None, "calls"):
        measure_calls(args.workflows)
    if args.only in (None, "threads"):
        for kind in args.kinds.split(","):
            measure_threads(args.workflows, kind, cpu_handoff=not args.no_cpu_handoff)


if __name__ == "__main__":
    main()
