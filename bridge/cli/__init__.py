"""The ``assay-bridge`` command line.

Each subcommand lives in its own module exposing ``register(subparsers)`` (adds its parser
and sets ``func``) and keeps heavy imports (engine, server stack, drivers) inside the
function that runs it, so ``assay-bridge run`` starts fast.

Exit codes: 0 ok, 1 failure (Lua error, workflow failed), 2 usage or configuration error,
3 not found, 4 engine unreachable.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bridge._version import __version__
from bridge.errors import ConfigError

if TYPE_CHECKING:
    import argparse

# Subcommand modules, in the order their help lists them.
_COMMANDS = ("run", "serve", "demo", "workflow", "schedule", "worker", "queue")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand (or just ``only``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="assay-bridge",
        description="Run assay Lua workflow scripts from Python, and serve a workflow engine.",
    )
    parser.add_argument("--version", action="version", version=f"assay-bridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only else _COMMANDS:
        try:
            module = importlib.import_module(f"bridge.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bridge.cli.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assay-bridge`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        # `run SCRIPT [ARGS...]` is read without argparse (the parser would read it the same)
        from bridge.cli import run

        fast = run.fast_args(argv[1:])
        if fast is not None:
            return _exit_code(run.run_script, fast)
    # A named subcommand needs only its own module: `assay-bridge run` then never imports the
    # HTTP client or the engine that the other subcommands use (W7 cold start).
    parser = build_parser(only=argv[0] if argv and argv[0] in _COMMANDS else None)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    return _exit_code(func, args)


def _exit_code(func: Callable[[Any], int], args: Any) -> int:
    """Run a command; a :class:`ConfigError` is a usage error (exit 2)."""
    try:
        return int(func(args))
    except ConfigError as exc:
        print(f"assay-bridge: error: {exc}", file=sys.stderr)
        return 2


def console_main() -> None:  # pragma: no cover - thin wrapper
    """Console-script wrapper that exits with :func:`main`'s code.

    A reader that closes the pipe early (``assay-bridge workflow list | head -1``) ends the
    command quietly with 141, as a shell reports a process killed by SIGPIPE.
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's advice: point stdout at devnull so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    sys.exit(code)
