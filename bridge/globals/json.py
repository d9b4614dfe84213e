"""``json.parse`` / ``json.encode`` with assay's rules (lua-globals §3.2, §4).

Speed matters (a workflow task carries its whole history; bench/bench_json.py):

* ``parse`` runs the C JSON scanner, then one Python pass (:func:`_prepare`) that applies
  serde_json's rules (i64 range, nesting limit, lone surrogates, out-of-range floats) while
  making the shape ``table_from`` takes. Texts containing ``-0`` use the slower decoder that
  keeps integers and ``-0`` apart exactly.
* A workflow task carries the workflow's whole history, so a worker parses nearly the same
  text again at every step, O(N^2) over N steps (issue 7, W4). For a large object whose
  last member is an array (``{"workflow_id": ..., "history": [...]}``), the parsed table is
  kept as a private template (:class:`_Kept`); a later text that is the same text with more
  elements at the end of that array is answered with a deep copy of the template, made in
  Lua, plus the new elements, which alone are parsed. The caller always gets fresh tables.
* ``encode`` walks the table in Lua (:data:`CODEC_LUA`), so it does not cross the Lua/Python
  boundary once per entry. What that walker declines (non-UTF-8 strings, non-finite floats,
  float or boolean keys, unsupported types) goes through the Python encoder in
  :mod:`bridge.runtime.convert`, which owns every error message; floats needing an exponent
  are formatted by :func:`convert.format_float`.
"""

from __future__ import annotations

import json as _json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_str
from bridge.runtime import convert
from bridge.runtime.boundary import Anchor

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_I64_MAX = 2**63 - 1
_I64_MIN = -(2**63)
MAX_DEPTH = 128


def _parse_int(text: str) -> int | float:
    if text == "-0":
        return -0.0
    value = int(text)
    if _I64_MIN <= value <= _I64_MAX:
        return value
    return float(value)


class _Constant(ValueError):
    """``NaN`` / ``Infinity`` / ``-Infinity``, which Python's json accepts and serde does not."""


def _no_constants(name: str) -> Any:
    raise _Constant(name)


class _OutOfRange(ValueError):
    pass


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _OutOfRange(text)
    return value


_decoder = _json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_no_constants)
_fast_decoder = _json.JSONDecoder(parse_constant=_no_constants)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NEGATIVE_ZERO = re.compile(r"-0(?![.0-9eE])")


def parse_text(text: str) -> Any:
    """Parse JSON text into Python values by serde_json's rules; ``ValueError`` with serde's wording."""
    try:
        value = _decoder.decode(text)
    except _json.JSONDecodeError as exc:
        raise ValueError(_serde_message(exc, text)) from None
    except _Constant as exc:
        pos = text.find(str(exc).lstrip("-"))
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise ValueError(f"expected value at line {line} column {col}") from None
    except _OutOfRange:
        raise ValueError("number out of range at line 1 column 1") from None
    except RecursionError:
        raise ValueError("recursion limit exceeded at line 1 column 1") from None
    _check_depth(value, 0)
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(value, text)
    return value


def _check_surrogates(value: Any, text: str) -> None:
    """Reject lone surrogates (``\\ud800``), which Python's json accepts and serde_json does not."""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            stack.extend(v.keys())
            stack.extend(v.values())
        elif type(v) is list:
            stack.extend(v)
        elif type(v) is str:
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                m = _SURROGATE_ESCAPE.search(text)
                col = m.end() if m else 1
                raise ValueError(f"lone leading surrogate in hex escape at line 1 column {col}") from None


def _check_depth(value: Any, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise ValueError(f"recursion limit exceeded at line 1 column {MAX_DEPTH + 1}")
    if type(value) is dict:
        for v in value.values():
            if type(v) is dict or type(v) is list:
                _check_depth(v, depth + 1)
    elif type(value) is list:
        for v in value:
            if type(v) is dict or type(v) is list:
                _check_depth(v, depth + 1)


def _serde_message(exc: _json.JSONDecodeError, text: str) -> str:
    line, col = exc.lineno, exc.colno
    if exc.pos >= len(text.rstrip()) and exc.msg.startswith("Expecting"):
        return f"EOF while parsing a value at line {line} column {max(col - 1, 0)}"
    if exc.msg.startswith("Extra data"):
        return f"trailing characters at line {line} column {col}"
    if exc.msg.startswith("Expecting value"):
        return f"expected value at line {line} column {col}"
    if exc.msg.startswith("Invalid control character"):
        return f"control character (\\u0000-\\u001F) found while parsing a string at line {line} column {col}"
    if exc.msg.startswith("Unterminated string"):
        return f"EOF while parsing a string at line {line} column {len(text)}"
    words = re.sub(r"^Expecting ", "expected ", exc.msg).replace(" delimiter", "")
    return f"{words.lower()} at line {line} column {col}"


def lua_value_from_json(rt: LuaHost, text: str | bytes) -> Any:
    """Parse JSON text straight into a Lua value; ``ValueError`` (serde's wording) if invalid."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    big = len(text) >= KEEP_MIN_CHARS and text.endswith("]}") and text.startswith("{")
    if big:
        table = _from_kept(rt, text)
        if table is not None:
            return table
    return _parse(rt, text, keep=big)


def _parse(rt: LuaHost, text: str, *, keep: bool = False) -> Any:
    if _has_negative_zero(text):
        return convert.to_lua(rt.lua, parse_text(text))
    members = _members_or_none(text) if keep else None
    try:
        value = dict(members) if members is not None else _fast_decoder.decode(text)
    except (_json.JSONDecodeError, RecursionError, _Constant):
        parse_text(text)  # raises with serde's wording
        raise
    try:
        ready = _prepare(value, 0)
    except (_NotSerde, UnicodeEncodeError):
        return convert.to_lua(rt.lua, parse_text(text))  # raises with serde's wording
    if type(ready) is dict or type(ready) is list:
        if members is not None:
            _keep(rt, text, members)
        return rt.lua.table_from(ready, recursive=True)
    return ready


# -- kept templates: a history parsed once ----------------------------------------------------

#: Texts at least this long are kept as templates (smaller ones parse faster than they copy).
KEEP_MIN_CHARS = 16 * 1024
#: Templates kept per runtime.
KEEP_MAX = 2

_scan_once = _json.scanner.make_scanner(_fast_decoder)  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m is not None else i


class _Kept:
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


@dataclass
class JsonState:
    """The ``json`` global's state in one runtime: its Lua codec and the kept templates."""

    encode: Anchor
    extend: Anchor
    kept: list[_Kept] = field(default_factory=list)


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


def _members_or_none(text: str) -> list[tuple[str, Any]] | None:
    try:
        return _members(text)
    except (StopIteration, ValueError, RecursionError):
        return None  # the usual decoder reports what is wrong


def _keep(rt: LuaHost, text: str, members: list[tuple[str, Any]]) -> None:
    """Keep ``text`` for texts that extend it."""
    key, last = members[-1]
    kept = rt.state(JsonState).kept
    for k in kept:
        if k.prefix == text[:-2]:
            k.drop()
    kept[:] = [k for k in kept if k.prefix != text[:-2]]
    kept.insert(0, _Kept(text[:-2], key.encode(), len(last)))
    for k in kept[KEEP_MAX:]:
        k.drop()
    del kept[KEEP_MAX:]


def _from_kept(rt: LuaHost, text: str) -> Any:
    """The table of ``text`` from a kept template it extends, or None."""
    state = rt.state(JsonState)
    kept = state.kept
    for i, k in enumerate(kept):
        n = len(k.prefix)
        if text.startswith(k.prefix) and text[n : n + 1] == ",":
            break
    else:
        return None
    del kept[i]
    tail = text[n + 1 : -2]
    ready: Any = None
    if not _has_negative_zero(tail):
        try:
            ready = _prepare(_fast_decoder.decode("[" + tail + "]"), 1)
        except (ValueError, RecursionError, _NotSerde, UnicodeEncodeError):
            pass  # the caller parses the whole text, and reports what is wrong
    if type(ready) is not list or not ready:
        k.drop()
        return None
    new = rt.lua.table_from(ready, recursive=True)
    if k.template is None:
        k.template = rt.anchor(_parse(rt, k.prefix + "]}"))
    k.prefix = text[:-2]
    table = state.extend(k.template.get(), k.key, k.count, new, len(ready))
    k.count += len(ready)
    kept.insert(0, k)
    return table


def _has_negative_zero(text: str) -> bool:
    """Whether ``text`` may hold the number token ``-0`` (only the exact decoder keeps it apart
    from ``0``). Numbers follow ``:``, ``,``, ``[`` or start the text, so "-0" inside a string
    ("retry-0") does not send a whole history down the slow path; a string holding ", -0"
    still does: slower, never wrong."""
    for m in _NEGATIVE_ZERO.finditer(text):
        before = text[max(0, m.start() - 32) : m.start()].rstrip()
        if not before or before[-1] in ":,[":
            return True  # also when 32 blanks hide what came before: the safe answer
    return False


class _NotSerde(Exception):
    """The fast path met something serde_json rejects; the exact path reports it."""


def _prepare(value: Any, depth: int) -> Any:
    """A decoded JSON value in ``table_from``'s shape (UTF-8 bytes), checked by serde's rules."""
    t = type(value)
    if t is str:
        return value.encode()
    if t is dict:
        if depth >= MAX_DEPTH:
            raise _NotSerde
        out = {}
        for k, v in value.items():
            tv = type(v)
            if tv is str:
                v = v.encode()
            elif tv is dict or tv is list or tv is float or (tv is int and not _I64_MIN <= v <= _I64_MAX):
                v = _prepare(v, depth + 1)
            out[k.encode()] = v
        return out
    if t is list:
        if depth >= MAX_DEPTH:
            raise _NotSerde
        items = []
        for v in value:
            tv = type(v)
            if tv is str:
                v = v.encode()
            elif tv is dict or tv is list or tv is float or (tv is int and not _I64_MIN <= v <= _I64_MAX):
                v = _prepare(v, depth + 1)
            items.append(v)
        return items
    if t is float:
        if value in (_INF, -_INF):
            raise _NotSerde
        return value
    if t is int and not _I64_MIN <= value <= _I64_MAX:
        return float(value)
    return value


_INF = float("inf")


def encode_lua_value(rt: LuaHost, value: Any) -> bytes:
    """A Lua value as compact JSON by assay's rules; ``LuaCallError`` with assay's message."""
    result = rt.state(JsonState).encode(value)
    if type(result) is tuple and result[0] is True:
        return bytes(result[1])
    try:
        return convert.encode_json(value).encode()
    except convert.ConversionError as exc:
        raise LuaCallError(str(exc)) from None


def _format_float(x: float) -> bytes:
    return convert.format_float(x).encode()


_GLOBAL_LUA = r"""
local codec, parse, py_encode = ...
return {
    parse = parse,
    encode = function(v)
        local ok, out = codec.encode(v)
        if ok then return out end
        return py_encode(v)
    end,
}
"""


def install(rt: LuaHost) -> None:
    """Install the ``json`` global (its codec also encodes HTTP table bodies)."""
    codec = rt.compile(CODEC_LUA, "=json")(rt.function(_format_float, "json.encode"))
    rt.provide(JsonState(encode=rt.anchor(codec[b"encode"]), extend=rt.anchor(codec[b"extend"])))

    def parse(s: Any = None, *_ignored: Any) -> Any:
        text = to_str(rt, s)
        try:
            return lua_value_from_json(rt, text)
        except ValueError as exc:
            raise LuaCallError(f"json.parse: {exc}") from None

    def encode(v: Any = None, *_ignored: Any) -> bytes:
        try:
            return convert.encode_json(v).encode()
        except convert.ConversionError as exc:
            raise LuaCallError(str(exc)) from None

    table = rt.compile(_GLOBAL_LUA, "=json")(codec, rt.function(parse, "json.parse"),
                                            rt.function(encode, "json.encode"))
    rt.set_global("json", table)


CODEC_LUA = r"""
-- assay's JSON rules in Lua, for speed: no boundary crossing per table entry.
-- Both functions return (true, result) or (false) when the input needs the Python path,
-- which handles every error with assay's exact message (and the rare float layouts).
local py_float = ...
local byte, sub, find, format, gsub, rep = string.byte, string.sub, string.find, string.format, string.gsub, string.rep
local concat, sort, utf8char, utf8len = table.concat, table.sort, utf8.char, utf8.len
local tonumber, type, next, rawget, pcall, error = tonumber, type, next, rawget, pcall, error
local mathtype = math.type
local setlocale = package.loaded.os.setlocale
local MAX_DEPTH = 128
local FAIL = {}

local function fail() error(FAIL, 0) end

-- encoding -------------------------------------------------------------------------------
local ESCAPE = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\127"] = "\127" }
for i = 0, 31 do
    local ch = string.char(i)
    if not ESCAPE[ch] then ESCAPE[ch] = format("\\u%04x", i) end
end

local function encode_float(x)
    if x ~= x or x == math.huge or x == -math.huge then fail() end
    -- Lua 5.5 tries %.14g first: when that round-trips (at most 16 characters), it is
    -- already the shortest form, with ".0" on integral values.
    local s = tostring(x)
    if #s > 16 then
        for p = 15, 17 do
            s = format("%." .. p .. "g", x)
            if tonumber(s) == x then break end
        end
        if not find(s, ".", 1, true) and not find(s, "e", 1, true) then s = s .. ".0" end
    end
    if find(s, "e", 1, true) then return py_float(x) end
    return s
end

local function encode(root)
    local buf, n = {}, 0
    local function put(v, depth)
        local t = type(v)
        if t == "string" then
            if find(v, '[%c"\\]') then v = gsub(v, '[%c"\\]', ESCAPE) end
            buf[n + 1] = '"'; buf[n + 2] = v; buf[n + 3] = '"'
            n = n + 3
        elseif t == "number" then
            n = n + 1
            if mathtype(v) == "integer" then buf[n] = v else buf[n] = encode_float(v) end
        elseif t == "table" then
            if depth > 500 then fail() end
            local keys, count, max, array, strings = {}, 0, 0, true, true
            for k in next, v do
                count = count + 1
                keys[count] = k
                if type(k) == "string" then
                    array = false
                else
                    strings = false
                    if array then
                        if mathtype(k) == "integer" and k >= 1 then
                            if k > max then max = k end
                        else
                            array = false
                        end
                    end
                end
            end
            if array and max == count then
                n = n + 1; buf[n] = "["
                for i = 1, count do
                    if i > 1 then n = n + 1; buf[n] = "," end
                    put(rawget(v, i), depth + 1)
                end
                n = n + 1; buf[n] = "]"
            else
                local lookup
                if not strings then
                    lookup = {}
                    for i = 1, count do
                        local k = keys[i]
                        local text
                        if type(k) == "string" then
                            text = k
                        elseif mathtype(k) == "integer" then
                            text = format("%d", k)
                        else
                            fail() -- float, boolean or table keys: the Python path
                        end
                        if lookup[text] ~= nil then fail() end -- two keys with one text
                        keys[i] = text; lookup[text] = k
                    end
                end
                sort(keys)
                n = n + 1; buf[n] = "{"
                for i = 1, count do
                    local text = keys[i]
                    if i > 1 then n = n + 1; buf[n] = "," end
                    local key = text
                    if find(key, '[%c"\\]') then key = gsub(key, '[%c"\\]', ESCAPE) end
                    buf[n + 1] = '"'; buf[n + 2] = key; buf[n + 3] = '":'
                    n = n + 3
                    put(rawget(v, lookup and lookup[text] or text), depth + 1)
                end
                n = n + 1; buf[n] = "}"
            end
        elseif v == nil then
            n = n + 1; buf[n] = "null"
        elseif t == "boolean" then
            n = n + 1; buf[n] = v and "true" or "false"
        else
            fail()
        end
    end
    put(root, 0)
    local out = concat(buf)
    if not utf8len(out) then fail() end -- a string was not UTF-8: the Python path says which
    return out
end

local function protect(f)
    return function(v)
        local ok, out = pcall(f, v)
        if ok then return true, out end
        if out == FAIL then return false end
        error(out, 0)
    end
end

-- kept templates (lua_value_from_json) ------------------------------------------------------
local function copy(src)
    local t = {}
    for k, v in next, src do
        if type(v) == "table" then v = copy(v) end
        t[k] = v
    end
    return t
end

-- Append the k elements of items to template[key] (which has n), then hand out a copy.
local function extend(template, key, n, items, k)
    local a = template[key]
    for i = 1, k do a[n + i] = items[i] end
    return copy(template)
end

local safe_encode = protect(encode)
return {
    copy = copy,
    extend = extend,
    encode = function(v)
        local c = setlocale(nil, "collate")
        if c ~= "C" and c ~= "POSIX" then return false end -- table.sort must compare bytes
        return safe_encode(v)
    end,
}
"""
