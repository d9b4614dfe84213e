"""``assay-bridge queue list``: the task queues of a namespace with their backlog and workers."""

from __future__ import annotations

import argparse
from typing import Any

from bridge.cli.output import Column, col, print_json, print_table
from bridge.cli.remote import EXIT_OK, engine_command, engine_options, group_help
from bridge.client import Client

COLUMNS: list[Column] = [
    col("QUEUE", "queue"), col("PENDING", "pending_activities"),
    col("RUNNING", "running_activities"), col("WORKERS", "workers"),
]


def register(sub: Any) -> None:
    """Add ``queue list``."""
    group = sub.add_parser("queue", help="show task queues on an engine",
                           description="Show task queues on an engine.")
    group.set_defaults(func=group_help(group))
    cmds = group.add_subparsers(dest="queue_command", metavar="COMMAND")
    p = cmds.add_parser("list", parents=[engine_options()], help="list task queues",
                        description="List the namespace's task queues: pending and running "
                                    "activities, registered workers.")
    p.set_defaults(func=list_command)


@engine_command
def list_command(args: argparse.Namespace, client: Client) -> int:
    """``queue list``."""
    queues = client.queues()
    if args.json:
        print_json(queues)
    else:
        print_table(queues, COLUMNS)
    return EXIT_OK
