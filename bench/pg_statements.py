"""Statements, transactions and CPU per one-activity workflow of the engine on PostgreSQL.

Runs ``bridge.Engine`` (in-process) on a fresh database made on the server, an in-process
worker with the benchmark's handlers and a ``Client(engine=...)``, then counts every statement
psycopg sends, per core operation, over N workflows (after 5 warm-ups). Prints per workflow:
wall time, CPU of this process by thread and of the PostgreSQL backends, statements and
transactions, then each operation's statements.

    python bench/pg_statements.py postgresql://postgres@127.0.0.1:5432 [--n 100]
        [--kind PyOne|LuaOne] [--concurrent --concurrency 4]

``--concurrent`` starts every workflow first and then awaits them (the W3 shape).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent / "systems"))
from bridge_worker import build  # noqa: E402

import bridge  # noqa: E402
from bridge.engine import core as core_mod  # noqa: E402

_local = threading.local()
_on = [False]
_stmts: collections.Counter[str] = collections.Counter()
_txs: collections.Counter[str] = collections.Counter()
_sqls: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


def _instrument() -> None:
    run, execute = core_mod.Engine._run, psycopg.Connection.execute

    def counted_run(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        _local.op = getattr(fn, "__name__", "?")
        if _on[0]:
            _txs[_local.op] += 1
        return run(self, fn, *args, **kwargs)

    def counted_execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if _on[0]:
            op = getattr(_local, "op", "?")
            _stmts[op] += 1
            text = query.decode() if isinstance(query, bytes) else str(query)
            _sqls[op][text[:110]] += 1
        return execute(self, query, params, **kwargs)

    core_mod.Engine._run = counted_run  # type: ignore[method-assign]
    psycopg.Connection.execute = counted_execute  # type: ignore[method-assign]


def _backend_cpu(server: str, db: str) -> float:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db,)).fetchall()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not on this machine, or gone
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _thread_cpu() -> dict[str, float]:
    names = {t.native_id: re.sub(r"[-_ ]?\d+$", "", t.name) for t in threading.enumerate()}
    out: dict[str, float] = collections.defaultdict(float)
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[names.get(int(tid), "other")] += (int(fields[11]) + int(fields[12])) / os.sysconf(
            "SC_CLK_TCK")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("server", help="e.g. postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--kind", default="PyOne")
    ap.add_argument("--concurrent", action="store_true")
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    server = args.server.rstrip("/")
    db = "pg_statements_" + uuid.uuid4().hex[:8]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    _instrument()
    n = args.n
    try:
        with bridge.Engine(f"{server}/{db}", poll_wait_s=1.0) as engine, \
                bridge.Client(engine=engine) as client:
            worker = build(None, args.concurrency, engine=engine)
            worker.start()
            assert worker.wait_registered(30)
            for i in range(5):
                client.result(client.start(args.kind, input={"n": i})["workflow_id"], timeout=60)
            threads0, pg0, cpu0 = _thread_cpu(), _backend_cpu(server, db), os.times()
            _on[0] = True
            t0 = time.perf_counter()
            if args.concurrent:
                ids = [client.start(args.kind, input={"n": i})["workflow_id"] for i in range(n)]
                for wid in ids:
                    client.result(wid, timeout=300)
            else:
                for i in range(n):
                    client.result(client.start(args.kind, input={"n": i})["workflow_id"],
                                  timeout=60)
            wall = time.perf_counter() - t0
            _on[0] = False
            cpu1, pg1, threads1 = os.times(), _backend_cpu(server, db), _thread_cpu()
            worker.stop()
            worker.join()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    own = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    print(f"per workflow: wall {1000 * wall / n:.2f} ms; CPU: this process {1000 * own / n:.2f} ms,"
          f" PostgreSQL backends {1000 * (pg1 - pg0) / n:.2f} ms")
    by_thread = {k: round(1000 * (v - threads0.get(k, 0.0)) / n, 2) for k, v in threads1.items()}
    print("  CPU by thread (ms):", dict(sorted(by_thread.items(), key=lambda kv: -kv[1])))
    print(f"  statements {sum(_stmts.values()) / n:.2f}, transactions {sum(_txs.values()) / n:.2f}")
    for op in sorted(_stmts, key=lambda o: -_stmts[o]):
        print(f"  {op}: {_stmts[op] / n:.2f} statements, {_txs[op] / n:.2f} transactions")
        for text, count in _sqls[op].most_common():
            print(f"      {count / n:5.2f}  {text}")


if __name__ == "__main__":
    main()
