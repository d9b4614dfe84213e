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

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

EXIT_INTERRUPTED = 130
DEFAULT_MEMORY_LIMIT_MB = 64
_LOG_DEBUG = 10  # logging.DEBUG, without importing logging


class RunArgs:
    """What ``run`` takes from its command line (the parser's defaults when not given)."""

    __slots__ = ("script", "args", "search_path", "memory_limit_mb", "globals_off", "verbose",
                 "wait_engine")

    def __init__(self, script: str, args: list[str], *, search_path: list[str] | None = None,
                 memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB, globals_off: str = "",
                 verbose: bool = False, wait_engine: float | None = None) -> None:
        self.script = script
        self.args = args
        self.search_path = search_path or []
        self.memory_limit_mb = memory_limit_mb
        self.globals_off = globals_off
        self.verbose = verbose
        self.wait_engine = wait_engine


def fast_args(argv: list[str]) -> RunArgs | None:
    """``run``'s arguments without argparse, for the plain ``SCRIPT [ARGS...]`` form.

    When the script comes first, every later word belongs to the script (argparse's
    ``REMAINDER``), so the parser would answer the same: this spares ``run`` argparse's
    import and its help formatter (W7 cold start). ``None`` for anything else (an option,
    ``--``, no script): the parser handles those, help and errors included.
    """
    if not argv or argv[0].startswith("-") or "--" in argv:
        return None
    return RunArgs(argv[0], argv[1:])


def register(sub: Any) -> None:
    """Add the ``run`` subcommand."""
    import argparse

    from bridge.cli.remote import add_worker_wait

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
        default=DEFAULT_MEMORY_LIMIT_MB,
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
    """Run the script as the parser read it; returns the process exit code."""
    return run_script(RunArgs(
        args.script, args.args, search_path=args.search_path,
        memory_limit_mb=args.memory_limit_mb, globals_off=args.globals_off,
        verbose=args.verbose, wait_engine=getattr(args, "wait_engine", None),
    ))


def run_script(args: RunArgs) -> int:
    """Run the script; returns the process exit code."""
    from bridge.errors import ConfigError, LuaScriptError
    from bridge.globals import emit
    from bridge.runtime.runtime import Control, Runtime, check_globals_off, modules_dir
    from bridge.worker import EngineNeverAnswered, WorkerStopped, install_engine_hooks

    suffix = _suffix(args.script)
    if suffix != ".lua":
        raise ConfigError(f'unsupported file extension "{suffix}" (expected .lua)')
    try:
        with open(args.script, "rb") as fh:
            fh.read()
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
                script_dir=os.path.dirname(os.path.realpath(args.script)),
                modules_path=modules_dir(os.environ),
                globals_off=globals_off,
                color=sys.stderr.isatty() and "NO_COLOR" not in os.environ,
                control=Control(stop=stopping),
            )
            if args.verbose:
                rt.options.log_level = _LOG_DEBUG
            install_engine_hooks(rt, on_registered=is_worker.set, wait_engine=args.wait_engine)
            lua_arg = rt.to_lua([a.encode() for a in args.args])
            lua_arg[0] = args.script.encode()
            rt.set_global("arg", lua_arg)
            emit(rt, "INFO", f"starting assay-bridge (script mode) script={args.script}")
            rt.run_file(args.script)
            outcome["code"] = 0
        except WorkerStopped:
            import logging

            logging.getLogger("assay").info("worker stopped")
            outcome["code"] = 0
        except EngineNeverAnswered:  # the worker logged why
            from bridge.cli.remote import EXIT_UNREACHABLE

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


def _suffix(script: str) -> str:
    """``pathlib.PurePath(script).suffix``, without importing pathlib."""
    parts = [p for p in script.split("/") if p and p != "."]
    name = parts[-1] if parts else ""
    i = name.rfind(".")
    if 0 < i < len(name) - 1:
        return name[i:]
    return ""


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
