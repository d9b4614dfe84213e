"""``assay-bridge schedule create|list|get|pause|resume|delete``: cron schedules on an engine.

``create`` takes assay's documented arguments (``NAME --type T --cron EXPR [--input JSON]
[--queue Q]``). Cron expressions: 5 fields (minute first) or 6/7 fields (seconds first).
Pause and resume are routes of ``assay-bridge serve``; assay's own engine lacks them (exit 3).
"""

from __future__ import annotations

import argparse
from typing import Any

from bridge.cli.output import Column, col, print_fields, print_json, print_message, print_table
from bridge.cli.remote import EXIT_OK, engine_command, engine_options, group_help, json_arg
from bridge.client import Client, decode_record
from bridge.wire import DEFAULT_QUEUE

LIST_COLUMNS: list[Column] = [
    col("NAME", "name"), col("TYPE", "workflow_type"), col("CRON", "cron_expr"),
    col("QUEUE", "task_queue"), col("PAUSED", "paused"), col("NEXT RUN", "next_run_at", "time"),
    col("LAST WORKFLOW", "last_workflow_id"),
]

FIELDS: list[Column] = [
    col("name", "name"), col("type", "workflow_type"), col("cron", "cron_expr"),
    col("namespace", "namespace"), col("queue", "task_queue"), col("input", "input", "json"),
    col("overlap", "overlap_policy"), col("paused", "paused"),
    col("next_run", "next_run_at", "time"), col("last_run", "last_run_at", "time"),
    col("last_workflow", "last_workflow_id"), col("created", "created_at", "time"),
]


def register(sub: Any) -> None:
    """Add ``schedule`` and its subcommands."""
    group = sub.add_parser("schedule", help="create and manage cron schedules on an engine",
                           description="Create and manage cron schedules on an engine "
                                       "(ASSAY_ENGINE_URL, default http://localhost:8080).")
    group.set_defaults(func=group_help(group))
    cmds = group.add_subparsers(dest="schedule_command", metavar="COMMAND")
    common = [engine_options()]

    p = cmds.add_parser(
        "create", parents=common, help="create a schedule",
        description="Create a schedule that starts a workflow of TYPE at each time matching "
                    "EXPR: 5 fields (minute first, '0 2 * * *') or 6/7 fields (seconds first, "
                    "'0 0 2 * * *'). The first run is at the next matching time.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--type", required=True, dest="workflow_type", metavar="TYPE",
                   help="workflow type to start")
    p.add_argument("--cron", required=True, metavar="EXPR", help="cron expression")
    p.add_argument("--input", metavar="JSON", help="input of each workflow, as JSON text")
    p.add_argument("--queue", default=DEFAULT_QUEUE, help="task queue (default 'default')")
    p.set_defaults(func=create_command)

    p = cmds.add_parser("list", parents=common, help="list schedules",
                        description="List the namespace's schedules by name.")
    p.set_defaults(func=list_command)

    for name, verb, func in (("get", "show a schedule", get_command),
                             ("pause", "pause a schedule", pause_command),
                             ("resume", "resume a paused schedule", resume_command),
                             ("delete", "delete a schedule", delete_command)):
        p = cmds.add_parser(name, parents=common, help=verb, description=verb[0].upper()
                            + verb[1:] + ".")
        p.add_argument("name", metavar="NAME")
        p.set_defaults(func=func)


def _show(args: argparse.Namespace, record: dict[str, Any]) -> None:
    if args.json:
        print_json(decode_record(record))
    else:
        print_fields(decode_record(record), FIELDS)


@engine_command
def create_command(args: argparse.Namespace, client: Client) -> int:
    """``schedule create``."""
    record = client.schedules.create(args.name, args.workflow_type, args.cron,
                                     input=json_arg(args.input, "--input"),
                                     task_queue=args.queue)
    _show(args, record)
    return EXIT_OK


@engine_command
def list_command(args: argparse.Namespace, client: Client) -> int:
    """``schedule list``."""
    records = client.schedules.list()
    if args.json:
        print_json([decode_record(r) for r in records])
    else:
        print_table(records, LIST_COLUMNS)
    return EXIT_OK


@engine_command
def get_command(args: argparse.Namespace, client: Client) -> int:
    """``schedule get``."""
    _show(args, client.schedules.get(args.name))
    return EXIT_OK


@engine_command
def pause_command(args: argparse.Namespace, client: Client) -> int:
    """``schedule pause``."""
    record = client.schedules.pause(args.name)
    if args.json:
        print_json(decode_record(record))
    else:
        print_message(f"paused schedule {args.name}")
    return EXIT_OK


@engine_command
def resume_command(args: argparse.Namespace, client: Client) -> int:
    """``schedule resume``."""
    record = client.schedules.resume(args.name)
    if args.json:
        print_json(decode_record(record))
    else:
        print_message(f"resumed schedule {args.name}")
    return EXIT_OK


@engine_command
def delete_command(args: argparse.Namespace, client: Client) -> int:
    """``schedule delete``."""
    client.schedules.delete(args.name)
    if args.json:
        print_json({"name": args.name, "deleted": True})
    else:
        print_message(f"deleted schedule {args.name}")
    return EXIT_OK
