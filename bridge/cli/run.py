"""``assay-bridge run SCRIPT [ARGS...]``: run an assay Lua script with assay's globals.

Behaves like ``assay run`` in script mode (lua-globals §1.3): the shebang line is dropped, the
chunk is named ``@<path as given>``, a Lua error is logged with its traceback and exits 1.

The script runs on a thread of its own so the main thread can always take signals (Lua code
holds the thread it runs on). A script that became a worker (``workflow.listen``) stops
gracefully on SIGINT/SIGTERM: the task in hand finishes and is reported, then exit 0. Any
other script is ended at once with 130, as assay's process would be; a second signal always
ends the process at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from bridge.cli.remote import EXIT_UNREACHABLE, add_worker_wait

EXIT_INTERRUPTED = 130


def register(sub: Any) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser(
        "run",
        help="run an assay Lua script (workers included)",
        description=(
            "Run an assay Lua script with assay's globals (http, json, log, sleep, env, os, "
            "crypto, ...). Lua arguments after the script are available as the global table "
            "`arg` (arg[0] is the script). A worker script stops gracefully on Ctrl-C."
        ),
    )
    p.add_argument("script", help="path of the .lua script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    p.add_argument(
        "-I",
        "--search-path",
        action="append",
        default=[],
        metavar="DIR",
        help="extra folder for require (repeatable); the script's folder is always searched",
    )
    p.add_argument(
        "--memory-limit-mb",
        type=int,
        default=64,
        metavar="MB",
        help="Lua memory cap in MiB (default 64; 0 for none)",
    )
    p.add_argument(
        "--globals-off",
        default="",
        metavar="NAMES",
        help="comma-separated groups of globals to leave out, e.g. shell,process,db "
             "(all are on by default, as in assay; docs/security.md)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show log.debug lines")
    add_worker_wait(p)
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the script; returns the process exit code."""
    import logging

    from bridge.errors import ConfigError, LuaScriptError
    from bridge.globals import emit
    from bridge.runtime.runtime import Control, Runtime, check_globals_off, default_modules_dir
    from bridge.worker import EngineNeverAnswered, WorkerStopped, install_engine_hooks

    path = Path(args.script)
    if path.suffix != ".lua":
        raise ConfigError(f'unsupported file extension "{path.suffix}" (expected .lua)')
    try:
        path.read_bytes()
    except OSError as exc:
        print(f"error: reading {args.script}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.memory_limit_mb < 0:
        raise ConfigError("--memory-limit-mb must be 0 or more")
    globals_off = check_globals_off([n.strip() for n in args.globals_off.split(",") if n.strip()])

    outcome: dict[str, int] = {}
    is_worker = threading.Event()
    stopping = threading.Event()

    def body() -> None:
        rt: Runtime | None = None
        try:
            rt = Runtime(
                memory_limit=args.memory_limit_mb * 1024 * 1024 or None,
                search_paths=args.search_path,
                script_dir=path.resolve().parent,
                modules_path=default_modules_dir(os.environ),
                globals_off=globals_off,
                color=sys.stderr.isatty() and "NO_COLOR" not in os.environ,
                control=Control(stop=stopping),
            )
            if args.verbose:
                rt.options.log_level = logging.DEBUG
            install_engine_hooks(rt, on_registered=is_worker.set,
                                 wait_engine=getattr(args, "wait_engine", None))
            lua_arg = rt.to_lua([a.encode() for a in args.args])
            lua_arg[0] = args.script.encode()
            rt.set_global("arg", lua_arg)
            emit(rt, "INFO", f"starting assay-bridge (script mode) script={args.script}")
            rt.run_file(args.script)
            outcome["code"] = 0
        except WorkerStopped:
            logging.getLogger("assay").info("worker stopped")
            outcome["code"] = 0
        except EngineNeverAnswered:  # the worker logged why
            outcome["code"] = EXIT_UNREACHABLE
        except LuaScriptError as exc:
            text = exc.message
            if exc.lua_traceback:
                text += "\n" + exc.lua_traceback
            _report(rt, text)
            outcome["code"] = 1
        except Exception as exc:  # noqa: BLE001 - any failure of the script ends it with 1
            _report(rt, f"{type(exc).__name__}: {exc}")
            outcome["code"] = 1
        finally:
            if rt is not None:
                rt.close()

    thread = threading.Thread(target=body, name="assay-script", daemon=True)

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping.is_set() or not is_worker.is_set():
            _hard_exit()
        stopping.set()
        print("assay-bridge: stopping after the task in hand (signal again to quit now)",
              file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return outcome.get("code", 1)


def _hard_exit() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _report(rt: Any, text: str) -> None:
    from bridge.globals import emit

    if rt is not None:
        emit(rt, "ERROR", text)
    else:
        print(f"error: {text}", file=sys.stderr, flush=True)
