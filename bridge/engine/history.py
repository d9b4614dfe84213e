"""The workflow-task poll's history as JSON text, kept per workflow and extended, not rebuilt.

Every workflow task carries the workflow's whole history (workflow.lua replays from the start),
so a workflow of N steps would make the engine read, parse and re-encode O(N) events per task,
O(N^2) in all (bench W4). A workflow's events are append-only (they are never updated or
deleted, and a workflow id is never reused), so :class:`HistoryCache` keeps each running
workflow's rendered ``history`` array and on the next poll reads and renders only the events
after the last one it has.

The text is byte for byte what ``JSONResponse`` made of :func:`records.history_entry` dicts:
each event's payload is parsed once (the nil-to-false rule and unparseable-text-is-null rule
of ``history_entry`` apply) and encoded as starlette encodes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from bridge.engine.records import history_entry, wire_json
from bridge.engine.store.base import Row

#: How many workflows' histories are kept, and how many characters of them in all.
MAX_WORKFLOWS = 512
MAX_CHARS = 32 * 1024 * 1024


def render_entry(row: Row) -> str:
    """One history element (``records.history_entry`` of the row) as JSON text."""
    return wire_json(history_entry(row))


class _Rendered:
    __slots__ = ("last_seq", "parts", "chars")

    def __init__(self) -> None:
        self.last_seq = 0
        self.parts: list[str] = []
        self.chars = 0


class HistoryCache:
    """Rendered histories of recently polled workflows (thread-safe; LRU-bounded).

    Args:
        max_workflows: workflows kept at most.
        max_chars: characters of rendered history kept at most.
    """

    def __init__(self, *, max_workflows: int = MAX_WORKFLOWS, max_chars: int = MAX_CHARS) -> None:
        self.max_workflows = max_workflows
        self.max_chars = max_chars
        self._entries: OrderedDict[str, _Rendered] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def render(self, tx: Any, workflow_id: str) -> str:
        """The workflow's ``history`` array as JSON text, read through the open ``tx``.

        Reads only the events after those already rendered (``Tx.list_events_after``).
        Events must come back with consecutive ``seq`` from 1; anything else (a
        gap, a history shorter than the one kept) renders the whole history afresh.
        """
        with self._lock:
            kept = self._entries.pop(workflow_id, None)
            if kept is not None:
                self._chars -= kept.chars
        if kept is None:
            kept = _Rendered()
            rows = tx.list_events(workflow_id)
        else:
            rows = _events_after(tx, workflow_id, kept.last_seq)
        if rows and rows[0]["seq"] != kept.last_seq + 1:
            kept = _Rendered()
            rows = tx.list_events(workflow_id)
        for row in rows:
            if row["seq"] != kept.last_seq + 1:  # not consecutive: render afresh, keep nothing
                return "[" + ",".join(render_entry(r) for r in tx.list_events(workflow_id)) + "]"
            text = render_entry(row)
            kept.parts.append(text)
            kept.chars += len(text) + 1
            kept.last_seq = row["seq"]
        if len(kept.parts) > 1:
            kept.parts = [",".join(kept.parts)]
        text = "[" + (kept.parts[0] if kept.parts else "") + "]"
        with self._lock:
            if kept.chars <= self.max_chars:
                old = self._entries.pop(workflow_id, None)  # another thread's, older or not
                if old is not None:
                    self._chars -= old.chars
                self._entries[workflow_id] = kept
                self._chars += kept.chars
            while self._entries and (len(self._entries) > self.max_workflows
                                     or self._chars > self.max_chars):
                _, dropped = self._entries.popitem(last=False)
                self._chars -= dropped.chars
        return text

    def __len__(self) -> int:
        return len(self._entries)


def _events_after(tx: Any, workflow_id: str, seq: int) -> list[Row]:
    rows: list[Row] = tx.list_events_after(workflow_id, seq)
    return rows
