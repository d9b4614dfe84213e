"""``assay-bridge workflow start|describe|result|signal|cancel|terminate|list|events|children``.

The arguments are those assay documents for its own (unimplemented in v0.11.2) ``assay
workflow`` CLI, plus ``result``, ``events`` and ``children``. Exit codes: :mod:`bridge.cli.remote`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bridge.cli import replay
from bridge.cli.output import (
    Column,
    col,
    print_fields,
    print_json,
    print_message,
    print_table,
    spinner,
)
from bridge.cli.remote import (
    EXIT_OK,
    engine_command,
    engine_options,
    group_help,
    json_arg,
)
from bridge.client import TERMINAL_STATUSES, Client, decode_json_text, decode_record
from bridge.errors import WorkflowFailedError
from bridge.wire import DEFAULT_QUEUE

LIST_COLUMNS: list[Column] = [
    col("ID", "id"), col("TYPE", "workflow_type"), col("STATUS", "status"),
    col("QUEUE", "task_queue"), col("CREATED", "created_at", "time"),
    col("COMPLETED", "completed_at", "time"),
]

DESCRIBE_FIELDS: list[Column] = [
    col("id", "id"), col("type", "workflow_type"), col("status", "status"),
    col("run_id", "run_id"), col("namespace", "namespace"), col("queue", "task_queue"),
    col("parent", "parent_id"), col("created", "created_at", "time"),
    col("updated", "updated_at", "time"), col("completed", "completed_at", "time"),
    col("input", "input", "json"), col("result", "result", "json"), col("error", "error"),
]

START_FIELDS: list[Column] = [col("workflow_id", "workflow_id"), col("run_id", "run_id"),
                              col("status", "status")]

EVENT_COLUMNS: list[Column] = [
    col("SEQ", "seq"), col("EVENT", "event_type"), col("TIME", "timestamp", "time"),
    col("PAYLOAD", "payload", "json"),
]


def register(sub: Any) -> None:
    """Add ``workflow`` and its subcommands."""
    group = sub.add_parser("workflow", help="start, inspect and steer workflows on an engine",
                           description="Start, inspect and steer workflows on an engine "
                                       "(ASSAY_ENGINE_URL, default http://localhost:8080).")
    group.set_defaults(func=group_help(group))
    cmds = group.add_subparsers(dest="workflow_command", metavar="COMMAND")
    common = [engine_options()]

    p = cmds.add_parser("start", parents=common, help="start a workflow",
                        description="Start a workflow and print its id, run id and status.")
    p.add_argument("--type", required=True, dest="workflow_type", metavar="TYPE",
                   help="workflow type (the name given to workflow.define / @worker.workflow)")
    p.add_argument("--id", dest="workflow_id", metavar="ID",
                   help="workflow id (default: <TYPE>-<random hex>)")
    p.add_argument("--input", metavar="JSON", help="input, as JSON text")
    p.add_argument("--queue", default=DEFAULT_QUEUE, help="task queue (default 'default')")
    p.set_defaults(func=start_command)

    p = cmds.add_parser("describe", parents=common, help="show a workflow's record",
                        description="Show a workflow's record, with input and result decoded.")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(func=describe_command)

    p = cmds.add_parser(
        "result", parents=common, help="print a workflow's result as JSON",
        description="Print a finished workflow's result as JSON. Exit 1 if it failed, 5 if it "
                    "has not finished (with --wait: not within --timeout).")
    p.add_argument("workflow_id", metavar="ID")
    p.add_argument("--wait", action="store_true",
                   help="wait until the workflow finishes (a spinner shows on a terminal)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="with --wait: give up after S seconds (default: wait as long as it takes)")
    p.set_defaults(func=result_command)

    p = cmds.add_parser("signal", parents=common, help="send a signal to a workflow",
                        description="Send signal NAME, with an optional JSON payload.")
    p.add_argument("workflow_id", metavar="ID")
    p.add_argument("name", metavar="NAME")
    p.add_argument("payload", nargs="?", metavar="PAYLOAD", help="payload, as JSON text")
    p.set_defaults(func=signal_command)

    p = cmds.add_parser("cancel", parents=common, help="cancel a workflow",
                        description="Request cancellation; the workflow ends CANCELLED.")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(func=cancel_command)

    p = cmds.add_parser("terminate", parents=common, help="terminate a workflow at once",
                        description="End a workflow at once as FAILED.")
    p.add_argument("workflow_id", metavar="ID")
    p.add_argument("--reason", help="the error text recorded (default 'terminated')")
    p.set_defaults(func=terminate_command)

    p = cmds.add_parser("list", parents=common, help="list workflows, newest first",
                        description="List workflows, newest first.")
    p.add_argument("--status", help="only this status (PENDING, RUNNING, COMPLETED, FAILED, ...)")
    p.add_argument("--type", dest="workflow_type", metavar="TYPE", help="only this type")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.add_argument("--offset", type=int, default=0, help="skip this many first (for paging)")
    p.add_argument("--stalled", action="store_true",
                   help="only workflows waiting on a type or activity that no live worker serves")
    p.set_defaults(func=list_command)

    p = cmds.add_parser("events", parents=common, help="show a workflow's history",
                        description="Show a workflow's history events, oldest first.")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(func=events_command)

    p = cmds.add_parser("children", parents=common, help="list a workflow's child workflows",
                        description="List the child workflows a workflow started.")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(func=children_command)

    replay.register(cmds)


@engine_command
def start_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow start``."""
    started = client.start(args.workflow_type, args.workflow_id,
                           json_arg(args.input, "--input"), task_queue=args.queue)
    if args.json:
        print_json(started)
    else:
        print_fields(started, START_FIELDS)
    return EXIT_OK


@engine_command
def describe_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow describe``."""
    record = client.describe(args.workflow_id)
    if args.json:
        print_json(record)
    else:
        print_fields(record, DESCRIBE_FIELDS)
        waits = record.get("waiting_on") or []
        if waits:
            print("waiting on:")
            for wait in waits:
                print(f"  - {wait.get('text') or wait.get('kind')}")
    return EXIT_OK


@engine_command
def result_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow result``: the result as JSON; exit 1 failed, 5 not finished."""
    if args.wait:
        with spinner(f"waiting for {args.workflow_id}"):
            value = client.result(args.workflow_id, timeout=args.timeout)
        print_json(value)
        return EXIT_OK
    record = client.get_workflow(args.workflow_id)
    status = record["status"]
    if status == "COMPLETED":
        print_json(decode_json_text(record["result"]))
        return EXIT_OK
    if status in TERMINAL_STATUSES:
        raise WorkflowFailedError(record["id"], status, record.get("error"))
    raise TimeoutError(  # exit 5
        f"workflow {record['id']} is {status}; add --wait to wait for it")


@engine_command
def signal_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow signal``."""
    payload = json_arg(args.payload, "PAYLOAD")
    client.signal(args.workflow_id, args.name, payload)
    _done(args, {"workflow_id": args.workflow_id, "signal": args.name, "payload": payload},
          f"sent signal {args.name} to {args.workflow_id}")
    return EXIT_OK


@engine_command
def cancel_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow cancel``."""
    client.cancel(args.workflow_id)
    _done(args, {"workflow_id": args.workflow_id, "cancel_requested": True},
          f"cancellation requested for {args.workflow_id}")
    return EXIT_OK


@engine_command
def terminate_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow terminate``."""
    client.terminate(args.workflow_id, args.reason)
    _done(args, {"workflow_id": args.workflow_id, "terminated": True, "reason": args.reason},
          f"terminated {args.workflow_id}")
    return EXIT_OK


@engine_command
def list_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow list``."""
    records = client.list(status=args.status, type=args.workflow_type, limit=args.limit,
                          offset=args.offset, stalled=args.stalled)
    _records(args, records)
    if len(records) == args.limit and args.limit > 0:
        print(f"(showing {len(records)} from offset {args.offset}; more may follow: "
              f"--offset {args.offset + len(records)} for the next page, or a larger --limit)",
              file=sys.stderr)
    return EXIT_OK


@engine_command
def events_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow events`` (payloads decoded)."""
    events = [{**e, "payload": decode_json_text(e["payload"])}
              for e in client.events(args.workflow_id)]
    if not events:
        client.get_workflow(args.workflow_id)  # not found -> exit 3, rather than "(none)"
    if args.json:
        print_json(events)
    else:
        print_table(events, EVENT_COLUMNS)
    return EXIT_OK


@engine_command
def children_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow children``."""
    records = client.children(args.workflow_id)
    if not records:
        client.get_workflow(args.workflow_id)
    _records(args, records)
    return EXIT_OK


def _records(args: argparse.Namespace, records: list[dict[str, Any]]) -> None:
    if args.json:
        print_json([decode_record(r) for r in records])
    else:
        print_table(records, LIST_COLUMNS)


def _done(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if args.json:
        print_json(data)
    else:
        print_message(text)
