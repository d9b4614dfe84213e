"""Kept templates: a large workflow-task text parsed once, answered by copying when it grows.

A workflow task carries the workflow's whole history, so a worker parses nearly the same text
again at every step, O(N^2) over N steps (bench W4). For a large object whose last member is an
array (``{"workflow_id": ..., "history": [...]}``), the parsed table is kept as a private
template (:class:`Kept`, anchored in Lua); a later text that is the same text with more elements
at the end of that array is answered with a deep copy of the template, made in Lua, plus the
new elements, which alone are parsed. The caller always gets fresh tables.
"""

from __future__ import annotations

import json as _json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.globals.json_text import NotSerde, fast_decoder, has_negative_zero, prepare
from bridge.runtime.boundary import Anchor

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

#: Texts at least this long are kept as templates (smaller ones parse faster than they copy).
KEEP_MIN_CHARS = 16 * 1024
#: Templates kept per runtime.
KEEP_MAX = 2

_scan_once = _json.scanner.make_scanner(fast_decoder)  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m is not None else i


class Kept:
    """A parsed object whose last member is an array, kept private.

    ``prefix`` is its text without the closing ``]}``; ``count`` the array's length. The
    Lua table (``template``, anchored in Lua and touched only by :data:`CODEC_LUA`'s
    ``extend``) is made when a text first extends it (parsing the kept text once more): a
    text parsed only once costs nothing more, and no large Python value stays alive for the
    garbage collector to walk.
    """

    __slots__ = ("prefix", "key", "count", "template")

    def __init__(self, prefix: str, key: bytes, count: int) -> None:
        self.prefix = prefix
        self.key = key
        self.count = count
        self.template: Anchor | None = None

    def drop(self) -> None:
        if self.template is not None:
            self.template.release()
            self.template = None


def _members(text: str) -> list[tuple[str, Any]] | None:
    """The members of a top-level object, in text order, when its last member's value is a
    non-empty array that ends the text (``...]}``) and no other member has its name; else
    None (the caller then decodes the text as usual). Raises the scanner's errors."""
    members: list[tuple[str, Any]] = []
    i = _skip_ws(text, 1)
    end = 0
    while True:
        if text[i : i + 1] != '"':
            return None
        key, i = _scan_once(text, i)
        i = _skip_ws(text, i)
        if text[i : i + 1] != ":":
            return None
        i = _skip_ws(text, i + 1)
        value, end = _scan_once(text, i)
        members.append((key, value))
        i = _skip_ws(text, end)
        if text[i : i + 1] == ",":
            i = _skip_ws(text, i + 1)
            continue
        if text[i : i + 1] != "}" or i != len(text) - 1:
            return None
        break
    key, last = members[-1]
    if type(last) is not list or not last or end != len(text) - 1:
        return None
    if any(k == key for k, _ in members[:-1]):
        return None
    return members


def members_or_none(text: str) -> list[tuple[str, Any]] | None:
    try:
        return _members(text)
    except (StopIteration, ValueError, RecursionError):
        return None  # the usual decoder reports what is wrong


def keep(kept: list[Kept], text: str, members: list[tuple[str, Any]]) -> None:
    """Keep ``text`` for texts that extend it."""
    key, last = members[-1]
    for k in kept:
        if k.prefix == text[:-2]:
            k.drop()
    kept[:] = [k for k in kept if k.prefix != text[:-2]]
    kept.insert(0, Kept(text[:-2], key.encode(), len(last)))
    for k in kept[KEEP_MAX:]:
        k.drop()
    del kept[KEEP_MAX:]


def take(rt: LuaHost, kept: list[Kept], extend: Anchor, text: str,
         parse: Callable[[str], Any], table_from: Callable[[list[Any], str], Any]) -> Any:
    """The table of ``text`` from a kept template it extends, or None. ``parse`` makes a
    template's table from its text, ``table_from`` the new elements' from theirs; ``extend``
    is the codec's Lua ``extend``."""
    for i, k in enumerate(kept):
        n = len(k.prefix)
        if text.startswith(k.prefix) and text[n : n + 1] == ",":
            break
    else:
        return None
    del kept[i]
    tail = text[n + 1 : -2]
    ready: Any = None
    if not has_negative_zero(tail):
        try:
            ready = prepare(fast_decoder.decode("[" + tail + "]"), 1)
        except (ValueError, RecursionError, NotSerde, UnicodeEncodeError):
            pass  # the caller parses the whole text, and reports what is wrong
    if type(ready) is not list or not ready:
        k.drop()
        return None
    new = table_from(ready, tail)
    if k.template is None:
        k.template = rt.anchor(parse(k.prefix + "]}"))
    k.prefix = text[:-2]
    table = extend(k.template.get(), k.key, k.count, new, len(ready))
    k.count += len(ready)
    kept.insert(0, k)
    return table
