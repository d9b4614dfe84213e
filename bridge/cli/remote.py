"""What the commands that talk to an engine share: their options, the client, exit codes.

``ASSAY_ENGINE_URL`` (default ``http://localhost:8080``) and ``ASSAY_TOKEN`` are read here,
when a command runs; the flags override them. :func:`engine_command` is the one place where
exceptions become exit codes::

    0 ok
    1 the workflow failed (or was cancelled / timed out), or the engine refused otherwise
    2 usage: a bad flag or JSON argument, a request the engine rejects as invalid, bad token
    3 not found: no such workflow or schedule
    4 the engine is unreachable
    5 the workflow has not finished (``result`` without ``--wait``, or ``--timeout`` passed)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.cli.output import print_error
from bridge.errors import (
    AuthError,
    BridgeError,
    ConfigError,
    EngineUnavailableError,
    InvalidRequestError,
    NotFoundError,
    WorkflowFailedError,
)
from bridge.wire import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    # imported when a command makes its client: `run` shares this module without the HTTP stack
    from bridge.client import Client

DEFAULT_ENGINE_URL = "http://localhost:8080"
#: How long an engine command waits for an engine that does not answer yet (one starting).
DEFAULT_WAIT_ENGINE_S = 5.0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_NOT_FINISHED = 5

Command = Callable[[argparse.Namespace, "Client"], int]


def engine_options() -> argparse.ArgumentParser:
    """A parent parser with ``--url``, ``--token``, ``--namespace`` and ``--json``."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("engine")
    g.add_argument("--url", metavar="URL",
                   help=f"engine base URL (env ASSAY_ENGINE_URL, default {DEFAULT_ENGINE_URL})")
    g.add_argument("--token", metavar="KEY", help="API key (env ASSAY_TOKEN)")
    g.add_argument("--namespace", default=DEFAULT_NAMESPACE, help="namespace (default main)")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")
    g.add_argument("--wait-engine", type=float, metavar="SECONDS",
                   help="while the engine cannot be reached (still starting), keep trying this "
                   f"long before exit 4 (env ASSAY_WAIT_ENGINE, default {DEFAULT_WAIT_ENGINE_S:g})")
    return p


def worker_wait(text: str) -> float | None:
    """``--wait-engine`` of the worker commands: seconds, or ``forever`` (None)."""
    if text.strip().lower() in ("forever", "inf", "infinity"):
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or 'forever', got {text!r}") from None
    if seconds < 0 or seconds != seconds:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return seconds


def add_worker_wait(p: argparse.ArgumentParser) -> None:
    """Add ``--wait-engine SECONDS|forever`` for a command that runs a worker."""
    p.add_argument("--wait-engine", type=worker_wait, metavar="SECONDS|forever",
                   default=argparse.SUPPRESS,
                   help="how long a worker keeps trying an engine that has not answered yet "
                        "before it gives up with exit 4 (default: forever, as it waits for an "
                        "engine that restarts)")


def make_client(args: argparse.Namespace) -> Client:
    """A client from the flags, falling back on ``ASSAY_ENGINE_URL`` / ``ASSAY_TOKEN``."""
    from bridge.client import Client

    url = args.url or os.environ.get("ASSAY_ENGINE_URL") or DEFAULT_ENGINE_URL
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"engine URL must start with http:// or https://: {url!r}")
    token = args.token or os.environ.get("ASSAY_TOKEN") or None
    wait = args.wait_engine
    if wait is None:
        try:
            wait = float(os.environ.get("ASSAY_WAIT_ENGINE") or DEFAULT_WAIT_ENGINE_S)
        except ValueError as exc:
            raise ConfigError("ASSAY_WAIT_ENGINE must be a number of seconds") from exc
    return Client(url, token=token, namespace=args.namespace, wait_engine=max(0.0, wait))


def engine_command(fn: Command) -> Callable[[argparse.Namespace], int]:
    """Wrap ``fn(args, client)`` into a ``func(args)`` that maps errors to exit codes."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            with make_client(args) as client:
                return fn(args, client)
        except WorkflowFailedError as exc:
            print_error(str(exc))
            return EXIT_FAILED
        except (ConfigError, InvalidRequestError, AuthError) as exc:
            print_error(str(exc))
            return EXIT_USAGE
        except NotFoundError as exc:
            print_error(str(exc))
            return EXIT_NOT_FOUND
        except EngineUnavailableError as exc:
            print_error(f"engine unreachable: {exc}")
            return EXIT_UNREACHABLE
        except TimeoutError as exc:
            print_error(str(exc))
            return EXIT_NOT_FINISHED
        except BridgeError as exc:
            print_error(str(exc))
            return EXIT_FAILED

    return run


def json_arg(text: str | None, what: str) -> Any:
    """Parse a JSON argument; a ConfigError (exit 2) naming ``what`` if it does not parse."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{what} is not valid JSON: {exc}") from exc


def group_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A ``func`` for a command group run without a subcommand: its help, exit 2."""

    def show(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return show
