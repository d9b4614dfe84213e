"""The only printer of the engine commands: tables, key/value blocks, JSON, errors, a spinner.

Results go to stdout (a table by default, JSON with ``--json``); messages and the spinner go to
stderr, so ``--json`` output can always be piped. Times are shown in UTC.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TextIO

#: A column: header, and how to get the cell from a row.
Column = tuple[str, Callable[[dict[str, Any]], Any]]

_SPINNER_FRAMES = "|/-\\"
_SPINNER_INTERVAL_S = 0.1
_CELL_MAX = 60


def col(header: str, key: str, kind: str = "text") -> Column:
    """A column showing ``row[key]``; ``kind`` is ``text``, ``time`` or ``json``."""
    fmt = {"text": cell, "time": when, "json": compact_json}[kind]
    return header, lambda row: fmt(row.get(key))


def cell(value: Any) -> str:
    """A value as a table cell: ``-`` for None, long text cut with an ellipsis."""
    if value is None:
        return "-"
    text = str(value).replace("\n", " ")
    return text if len(text) <= _CELL_MAX else text[: _CELL_MAX - 1] + "…"


def when(value: Any) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM:SS`` (UTC); ``-`` for None."""
    if value is None:
        return "-"
    return datetime.fromtimestamp(float(value), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def compact_json(value: Any) -> str:
    """A Python value as one line of JSON; ``-`` for None."""
    if value is None:
        return "-"
    return cell(json.dumps(value, sort_keys=True, ensure_ascii=False))


def print_json(value: Any, out: TextIO | None = None) -> None:
    """``value`` as indented JSON with sorted keys."""
    print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False), file=out or sys.stdout)


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column],
                out: TextIO | None = None, empty: str = "(none)") -> None:
    """Rows as an aligned table with a header line; ``empty`` when there are no rows."""
    stream = out or sys.stdout
    if not rows:
        print(empty, file=stream)
        return
    cells = [[header for header, _ in columns]]
    cells += [[str(get(row)) for _, get in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=stream)


def print_fields(record: dict[str, Any], fields: Sequence[Column], out: TextIO | None = None) -> None:
    """One record as ``name: value`` lines, names aligned."""
    stream = out or sys.stdout
    width = max(len(name) for name, _ in fields)
    for name, get in fields:
        print(f"{name + ':':<{width + 1}} {get(record)}", file=stream)


def print_message(text: str) -> None:
    """A human-readable line on stdout (the outcome of a command that returns nothing)."""
    print(text)


def print_error(text: str) -> None:
    """``assay-bridge: error: <text>`` on stderr."""
    print(f"assay-bridge: error: {text}", file=sys.stderr)


@contextmanager
def spinner(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """Show a spinner with ``label`` on ``stream`` (stderr) while the block runs.

    Only when the stream is a terminal: piped or captured output stays clean.
    """
    out = stream or sys.stderr
    if not out.isatty():
        yield
        return
    done = threading.Event()

    def spin() -> None:
        for frame in itertools.cycle(_SPINNER_FRAMES):
            out.write(f"\r{frame} {label}")
            out.flush()
            if done.wait(_SPINNER_INTERVAL_S):
                break
        out.write("\r" + " " * (len(label) + 2) + "\r")
        out.flush()

    thread = threading.Thread(target=spin, name="assay-bridge-spinner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
