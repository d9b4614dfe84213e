"""``assay-bridge worker list|run``: see the workers an engine knows; run a Python worker.

``worker run MODULE:ATTR`` imports ``MODULE`` (a dotted module name, or a path to a ``.py``
file) and runs the :class:`bridge.Worker` object named ``ATTR`` (default ``worker``) until
Ctrl-C or SIGTERM: the tasks in hand finish and are reported, then exit 0; a second signal
quits at once (130).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from bridge.cli.output import Column, cell, col, print_error, print_json, print_table
from bridge.cli.remote import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    add_worker_wait,
    engine_command,
    engine_options,
    group_help,
)
from bridge.client import Client, decode_json_text
from bridge.errors import ConfigError, EngineUnavailableError

EXIT_INTERRUPTED = 130


def _names(key: str) -> Column:
    def get(row: dict[str, Any]) -> str:
        names = decode_json_text(row.get(key))
        return cell(",".join(names)) if isinstance(names, list) and names else "-"
    return key.upper(), get


COLUMNS: list[Column] = [
    col("ID", "id"), col("IDENTITY", "identity"), col("QUEUE", "task_queue"),
    _names("workflows"), _names("activities"), col("ACTIVE", "active_tasks"),
    col("LAST HEARTBEAT", "last_heartbeat", "time"),
]


def register(sub: Any) -> None:
    """Add ``worker list`` and ``worker run``."""
    group = sub.add_parser("worker", help="list workers; run a Python worker",
                           description="List the workers an engine knows; run a Python worker.")
    group.set_defaults(func=group_help(group))
    cmds = group.add_subparsers(dest="worker_command", metavar="COMMAND")

    p = cmds.add_parser("list", parents=[engine_options()], help="list registered workers",
                        description="List the workers registered in the namespace.")
    p.set_defaults(func=list_command)

    p = cmds.add_parser(
        "run", help="run a bridge.Worker object from a Python module",
        description="Import MODULE (a dotted name, or a path to a .py file) and run its "
                    "bridge.Worker object ATTR (default 'worker'). Ctrl-C or SIGTERM stops it "
                    "after the tasks in hand.")
    p.add_argument("target", metavar="MODULE[:ATTR]",
                   help="e.g. myapp.workers:worker or examples/python-only/worker.py:worker")
    p.add_argument("--url", metavar="URL",
                   help="engine base URL, replacing the worker's own (env ASSAY_ENGINE_URL is "
                        "left to the module)")
    p.add_argument("--token", metavar="KEY", help="API key, replacing the worker's own")
    p.add_argument("--queue", metavar="Q", help="task queue, replacing the worker's own")
    p.add_argument("--concurrency", type=int, metavar="N",
                   help="poll loops, each with its own Lua runtime (default: the worker's own)")
    add_worker_wait(p)
    p.set_defaults(func=run_command)


@engine_command
def list_command(args: argparse.Namespace, client: Client) -> int:
    """``worker list``."""
    workers = client.workers()
    if args.json:
        print_json([{**w, "workflows": decode_json_text(w["workflows"]),
                     "activities": decode_json_text(w["activities"])} for w in workers])
    else:
        print_table(workers, COLUMNS)
    return EXIT_OK


def load_worker(target: str) -> Any:
    """The object named by ``MODULE[:ATTR]``; a ConfigError when it is not a Worker."""
    from bridge.worker import Worker

    module_name, _, attr = target.partition(":")
    attr = attr or "worker"
    module = _import(module_name)
    obj = getattr(module, attr, None)
    if not isinstance(obj, Worker):
        raise ConfigError(f"{target}: {attr!r} in {module_name} is not a bridge.Worker "
                          f"(found {type(obj).__name__})")
    return obj


def _import(name: str) -> ModuleType:
    if name.endswith(".py") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"no such file: {name}")
        spec = importlib.util.spec_from_file_location(f"_assay_worker_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import {name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules of the current folder
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise ConfigError(f"no module named {name}") from exc
        raise


def run_command(args: argparse.Namespace) -> int:
    """``worker run``: serve until a signal; exit 0 after a graceful stop."""
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    worker = load_worker(args.target)
    if args.url:
        worker.url = args.url
    if args.token:
        worker.token = args.token
    if args.queue:
        worker.queue = args.queue
    if args.concurrency is not None:
        worker.concurrency = args.concurrency
    if hasattr(args, "wait_engine"):  # given: replaces the worker's own
        worker.wait_engine = args.wait_engine
    signals = {"count": 0}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            os._exit(EXIT_INTERRUPTED)
        print(f"worker: {signal.Signals(signum).name}, stopping after the tasks in hand",
              file=sys.stderr)
        worker.stop()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.start()
        print(f"worker: serving {worker.url} with {worker.concurrency} poll loop(s)",
              file=sys.stderr)
        worker.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if worker.errors:
        error = worker.errors[0]
        if isinstance(error, EngineUnavailableError):  # the worker logged why
            return EXIT_UNREACHABLE
        print_error(f"worker stopped on an error: {type(error).__name__}: {error}")
        return 1
    return EXIT_OK
