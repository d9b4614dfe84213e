"""JSON <-> Lua table conversion cost for a realistic 1000-event workflow task.

Measures ``json.parse`` (JSON text -> Lua table) and ``json.encode`` (Lua table -> JSON
text) as Lua scripts call them, with the stdlib ``json.loads`` / ``json.dumps`` of the same
text as a reference. Prints the median milliseconds per operation.

    /work/venv/bin/python bench/bench_json.py [--events 1000] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bridge.runtime.runtime import Runtime


def workflow_task(events: int) -> dict[str, Any]:
    """A workflow task like the engine's ``POST /workflow-tasks/poll`` answer."""
    history: list[dict[str, Any]] = [
        {
            "seq": 1,
            "event_type": "WorkflowStarted",
            "payload": {"input": {"order_id": "ord-7781", "items": [1, 2, 3], "priority": 0.75}},
            "timestamp": 1713260000.123456,
        }
    ]
    seq, activity = 1, 0
    while len(history) < events:
        activity += 1
        seq += 1
        history.append({
            "seq": seq,
            "event_type": "ActivityScheduled",
            "payload": {
                "activity_seq": activity,
                "name": "charge_card",
                "queue": "default",
                "input": {"amount": 1999, "currency": "EUR", "customer": f"cus-{activity:05d}"},
                "max_attempts": 3,
            },
            "timestamp": 1713260000.5 + seq,
        })
        seq += 1
        kind = activity % 10
        if kind == 9:
            event = {"event_type": "TimerFired", "payload": {"timer_seq": activity}}
        elif kind == 7:
            event = {
                "event_type": "ActivityFailed",
                "payload": {"activity_seq": activity, "error": "worker.lua:42: card declined\nstack traceback: ..."},
            }
        else:
            event = {
                "event_type": "ActivityCompleted",
                "payload": {
                    "activity_seq": activity,
                    "result": {
                        "ok": True,
                        "charge_id": f"ch_{activity:08x}",
                        "fee": 0.29,
                        "tags": ["card", "eu", "retry-0"],
                        "meta": {"latency_ms": 120 + activity % 50, "region": "eu-west-1", "note": None},
                    },
                },
            }
        event["seq"] = seq
        event["timestamp"] = 1713260000.5 + seq
        history.append(event)
    return {
        "workflow_id": "wf-order-7781",
        "namespace": "main",
        "workflow_type": "OrderWorkflow",
        "task_queue": "default",
        "input": {"order_id": "ord-7781"},
        "history": history[:events],
    }


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()

    task = workflow_task(args.events)
    text = json.dumps(task, separators=(",", ":"))
    rt = Runtime(memory_limit=None, log_stderr=False)
    parse = rt.execute("return json.parse", "=bench")
    encode = rt.execute("return json.encode", "=bench")
    table = parse(text.encode())
    assert len(table[b"history"]) == args.events
    # the Lua encoding is sorted and compact; check it round-trips to the same data
    assert json.loads(encode(table)) == json.loads(json.dumps(task).replace(', "note": null', ""))

    # A worker sees the same history again with one more step: the kept template is copied
    # and only the new events are parsed (bridge/globals/json.py).
    grown = [json.dumps(workflow_task(args.events + 2 * i), separators=(",", ":")).encode()
             for i in range(args.runs + 2)]
    step = iter(grown)

    rows = [
        ("json.parse  (JSON text -> Lua table)", median_ms(lambda: parse(text.encode()), args.runs)),
        ("json.parse, same history + 1 step", median_ms(lambda: parse(next(step)), args.runs)),
        ("json.encode (Lua table -> JSON text)", median_ms(lambda: encode(table), args.runs)),
        ("stdlib json.loads (reference)", median_ms(lambda: json.loads(text), args.runs)),
        ("stdlib json.dumps (reference)", median_ms(lambda: json.dumps(task), args.runs)),
    ]
    print(f"{args.events} history events, {len(text)} bytes of JSON, median of {args.runs} runs")
    for label, ms in rows:
        print(f"  {label:<40} {ms:8.2f} ms/op")


if __name__ == "__main__":
    main()
