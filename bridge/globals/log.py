"""``log.info/warn/error`` (and ``log.debug``, an addition) in assay's stderr format (lua-globals §3.6).

Each line is ``<UTC time, µs>Z  INFO <msg>`` on stderr, and is also sent to the Python
logger ``assay`` so an application can capture script logs.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from bridge.globals.args import to_str

if TYPE_CHECKING:
    import logging
    from datetime import datetime

    from bridge.runtime.host import LuaHost

_COLORS = {"DEBUG": "\x1b[34m", "INFO": "\x1b[32m", "WARN": "\x1b[33m", "ERROR": "\x1b[31m"}
# logging's DEBUG, INFO, WARNING and ERROR
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40}

_logger: logging.Logger | None = None


def _assay_logger() -> logging.Logger | None:
    """The ``assay`` logger (with a ``NullHandler``), or None while nothing imported logging.

    Until some code imports :mod:`logging`, no handler or filter can be listening, and the
    ``NullHandler`` keeps Python's last-resort handler out, so a record would go nowhere: a
    script's start does not import logging for it (W7 cold start).
    """
    global _logger
    if _logger is None:
        logging = sys.modules.get("logging")
        if logging is None:
            return None
        _logger = logging.getLogger("assay")
        _logger.addHandler(logging.NullHandler())
    return _logger


def _utc_stamp() -> str:
    """Now in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (what ``datetime.now(timezone.utc)``
    formats, without importing datetime)."""
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def format_line(level: str, message: str, *, color: bool, now: datetime | None = None) -> str:
    """One log line in assay's format (tracing-subscriber's default layout)."""
    stamp = _utc_stamp() if now is None else now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
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
    logger = _assay_logger()
    if logger is not None:
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
