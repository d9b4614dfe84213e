"""``assay-bridge workflow replay``: does the current workflow code replay a recorded history?

The history comes from the engine (``ID``) or a JSON file (``--history``, as ``workflow
events ID --json`` writes it); the code from Lua files (``--lua``) and/or a Python
``bridge.Worker`` (``--worker MODULE[:ATTR]``). Exit 0 when it replays ("replay OK"), 1 with
the :class:`~bridge.errors.NonDeterminismError` text when it does not; 2 for bad input (no
code, code that does not load, an empty or partial history); other exit codes as
:mod:`bridge.cli.remote` says.
"""

from __future__ import annotations

import argparse
from typing import Any

from bridge.cli.output import print_json, print_message
from bridge.cli.remote import EXIT_OK, engine_command, engine_options
from bridge.client import Client
from bridge.errors import (ConfigError, EngineUnavailableError, LuaScriptError,
                           NonDeterminismError, WorkflowFailedError)


def register(cmds: Any) -> None:
    """Add ``replay`` to the ``workflow`` subcommands."""
    p = cmds.add_parser(
        "replay", parents=[engine_options()], help="check that workflow code replays a history",
        description="Replay a workflow's recorded history against the current workflow code, "
                    "in this process. Exit 0 and print 'replay OK' and the result, or exit 1 "
                    "naming the first event where the code asks for something else.")
    p.add_argument("workflow_id", metavar="ID", nargs="?",
                   help="the workflow whose history the engine gives (not needed with "
                        "--history and --type)")
    p.add_argument("--history", metavar="FILE",
                   help="a JSON list of events (assay-bridge workflow events ID --json)")
    p.add_argument("--type", dest="workflow_type", metavar="TYPE",
                   help="the workflow type (default: from the engine's record of ID)")
    p.add_argument("--lua", action="append", default=[], metavar="FILE",
                   help="a Lua file defining the workflows (repeatable)")
    p.add_argument("--worker", metavar="MODULE[:ATTR]",
                   help="a bridge.Worker holding Python workflows, as 'worker run' takes it")
    p.set_defaults(func=replay_command)


@engine_command
def replay_command(args: argparse.Namespace, client: Client) -> int:
    """``workflow replay``."""
    import bridge.testing as kit

    handlers = None
    if args.worker:
        from bridge.cli.worker import load_worker

        handlers = load_worker(args.worker)
    if not args.lua and handlers is None:
        raise ConfigError("give the workflow code: --lua FILE and/or --worker MODULE[:ATTR]")
    if args.history:
        events: list[dict[str, Any]] = kit.load_history(args.history)
    elif args.workflow_id:
        events = client.events(args.workflow_id)
        if not events:
            client.get_workflow(args.workflow_id)  # not found -> exit 3
    else:
        raise ConfigError("give a workflow ID or --history FILE")
    workflow_id = args.workflow_id or next(
        (e["workflow_id"] for e in events if isinstance(e.get("workflow_id"), str)), None)
    workflow_type = args.workflow_type
    if workflow_type is None:
        if workflow_id is None:
            raise ConfigError("--type is needed: the history does not name the workflow")
        try:
            workflow_type = client.get_workflow(workflow_id)["workflow_type"]
        except EngineUnavailableError as exc:
            if not args.history:
                raise
            raise ConfigError(f"--type is needed: no engine answered to name the type of "
                              f"{workflow_id} ({exc})") from exc
    outcome: dict[str, Any] = {"workflow_id": workflow_id, "workflow_type": workflow_type,
                               "events": len(events)}
    try:
        result = kit.replay(events, workflow_type, lua=args.lua or None, handlers=handlers,
                            workflow_id=workflow_id)
        still_open = kit.end_event(kit.normalize_events(events)) is None
        outcome.update(status="OPEN" if still_open else "COMPLETED", result=result)
    except WorkflowFailedError as exc:  # it failed as recorded: that replays too
        outcome.update(status=exc.status, error=exc.error)
    except LuaScriptError as exc:  # the code given does not load: a usage error
        raise ConfigError(f"the workflow code does not load: {exc}") from exc
    except NonDeterminismError as exc:
        if args.json:  # the outcome on stdout too; the message and exit 1 as without --json
            print_json({"replay": "NON_DETERMINISTIC", **outcome, "seq": exc.seq,
                        "event_type": exc.event_type, "recorded": exc.recorded,
                        "asked": exc.asked, "error": str(exc)})
        raise
    if args.json:
        print_json({"replay": "OK", **outcome})
        return EXIT_OK
    print_message(f"replay OK: {len(events)} events of {workflow_id} ({workflow_type})")
    if outcome["status"] == "OPEN":
        print_message("the history is still open; the result the code reaches so far:")
    if "result" in outcome:
        print_json(outcome["result"])
    else:
        print_message(f"the workflow ended {outcome['status']}: {outcome.get('error')}")
    return EXIT_OK
