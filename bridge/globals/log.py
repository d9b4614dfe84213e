"""``log.info/warn/error`` (and ``log.debug``, an addition) in assay's stderr format (lua-globals §3.6).

Each line is ``<UTC time, µs>Z  INFO <msg>`` on stderr, and is also sent to the Python
logger ``assay`` so an application can capture script logs.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from bridge.globals.args import to_str

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

logger = logging.getLogger("assay")
logger.addHandler(logging.NullHandler())

_COLORS = {"DEBUG": "\x1b[34m", "INFO": "\x1b[32m", "WARN": "\x1b[33m", "ERROR": "\x1b[31m"}
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}


def format_line(level: str, message: str, *, color: bool, now: datetime | None = None) -> str:
    """One log line in assay's format (tracing-subscriber's default layout)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lvl = level.rjust(5)
    if color:
        return f"\x1b[2m{stamp}\x1b[0m {_COLORS[level]}{lvl}\x1b[0m {message}"
    return f"{stamp} {lvl} {message}"


def emit(rt: LuaHost, level: str, message: str) -> None:
    """Write one script log line (stderr in assay's format, and the ``assay`` logger)."""
    options = rt.options
    if options.log_stderr and _LEVELS[level] >= options.log_level:
        sys.stderr.write(format_line(level, message, color=options.color) + "\n")
        sys.stderr.flush()
    logger.log(_LEVELS[level], message)


def install(rt: LuaHost) -> None:
    """Install the ``log`` global."""
    def make(level: str) -> Any:
        def log_fn(msg: Any = None, *_ignored: Any) -> None:
            emit(rt, level, to_str(rt, msg))

        return log_fn

    rt.set_global(
        "log",
        {"info": make("INFO"), "warn": make("WARN"), "error": make("ERROR"), "debug": make("DEBUG")},
    )
