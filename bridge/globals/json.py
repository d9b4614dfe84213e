"""``json.parse`` / ``json.encode`` with assay's rules (lua-globals §3.2, §4).

Speed matters (a workflow task carries its whole history; bench/bench_json.py):

* ``parse`` runs the C JSON scanner, then one Python pass that applies serde_json's rules
  (:mod:`bridge.globals.json_text`). Texts containing ``-0`` use the slower decoder that
  keeps integers and ``-0`` apart exactly.
* A large workflow-task text that extends one parsed before is answered from a kept template
  (:mod:`bridge.globals.json_kept`).
* ``encode`` walks the table in Lua (:data:`CODEC_LUA`), so it does not cross the Lua/Python
  boundary once per entry. What that walker declines (non-UTF-8 strings, non-finite floats,
  float or boolean keys, unsupported types) goes through the Python encoder in
  :mod:`bridge.runtime.convert`, which owns every error message; floats needing an exponent
  are formatted by :func:`convert.format_float`.
"""

from __future__ import annotations

import json as _json
import re
from typing import TYPE_CHECKING, Any

from bridge.globals import json_kept
from bridge.globals.args import LuaCallError, to_str
from bridge.globals.json_text import (
    Constant,
    NotSerde,
    fast_decoder,
    has_negative_zero,
    parse_text,
    prepare,
)
from bridge.runtime import convert
from bridge.runtime.boundary import Anchor

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

def lua_value_from_json(rt: LuaHost, text: str | bytes) -> Any:
    """Parse JSON text straight into a Lua value; ``ValueError`` (serde's wording) if invalid."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    big = len(text) >= json_kept.KEEP_MIN_CHARS and text.endswith("]}") and text.startswith("{")
    if big:
        state = rt.state(JsonState)
        table = json_kept.take(rt, state.kept, state.extend, text, lambda t: _parse(rt, t),
                               lambda ready, t: table_from(rt, ready, t))
        if table is not None:
            return table
    return _parse(rt, text, keep=big)


def _parse(rt: LuaHost, text: str, *, keep: bool = False) -> Any:
    if has_negative_zero(text):
        return convert.to_lua(rt.lua, parse_text(text))
    members = json_kept.members_or_none(text) if keep else None
    try:
        value = dict(members) if members is not None else fast_decoder.decode(text)
    except (_json.JSONDecodeError, RecursionError, Constant):
        parse_text(text)  # raises with serde's wording
        raise
    try:
        ready = prepare(value, 0)
    except (NotSerde, UnicodeEncodeError):
        return convert.to_lua(rt.lua, parse_text(text))  # raises with serde's wording
    if type(ready) is dict or type(ready) is list:
        if members is not None:
            json_kept.keep(rt.state(JsonState).kept, text, members)
        return table_from(rt, ready, text)
    return ready


_EMPTY_OBJECT = re.compile(r"\{[ \t\n\r]*\}")


def table_from(rt: LuaHost, ready: dict[bytes, Any] | list[Any], text: str) -> Any:
    """The Lua table of a prepared JSON value parsed from ``text``, with its empty objects noted
    for ``keep_empty_objects`` (see :func:`encode_lua_value`)."""
    if _EMPTY_OBJECT.search(text) is None:
        return rt.lua.table_from(ready, recursive=True)
    return _marked_table(rt, ready)


def _marked_table(rt: LuaHost, ready: dict[bytes, Any] | list[Any]) -> Any:
    table = rt.lua.table_from(ready, recursive=True)
    paths: list[list[Any]] = []
    _empty_objects(ready, [], paths)
    if paths:
        rt.state(JsonState).mark(table, rt.lua.table_from(paths, recursive=True))
    return table


def to_lua_keeping_objects(rt: LuaHost, value: Any) -> Any:
    """``value`` as a Lua value whose empty dicts stay ``{}`` in a worker's engine calls."""
    ready = convert.prepare(value)
    if type(ready) is dict or type(ready) is list:
        return _marked_table(rt, ready)
    return ready


def to_python_keeping_objects(rt: LuaHost, value: Any) -> Any:
    """``value`` as plain Python, where an empty table ``json.parse`` made from ``{}`` (or
    :func:`to_lua_keeping_objects` from ``{}``) becomes ``{}`` instead of ``[]``."""
    is_object = rt.state(JsonState).is_object
    return convert.to_python(value, empty_object=lambda t: bool(is_object(t)))


def _empty_objects(value: Any, path: list[Any], out: list[list[Any]]) -> None:
    if type(value) is dict:
        if not value:
            out.append(list(path))
        for k, v in value.items():
            if type(v) is dict or type(v) is list:
                path.append(k)
                _empty_objects(v, path, out)
                path.pop()
    else:
        for i, v in enumerate(value, 1):
            if type(v) is dict or type(v) is list:
                path.append(i)
                _empty_objects(v, path, out)
                path.pop()


# Plain classes, not dataclasses: importing dataclasses costs every ``assay-bridge run`` a
# tenth of its start (W7 cold start).
class JsonState:
    """The ``json`` global's state in one runtime: its Lua codec and the kept templates."""

    __slots__ = ("encode", "extend", "mark", "is_object", "kept")

    def __init__(self, *, encode: Anchor, extend: Anchor, mark: Anchor, is_object: Anchor,
                 kept: list[json_kept.Kept] | None = None) -> None:
        self.encode = encode
        self.extend = extend
        self.mark = mark
        self.is_object = is_object
        self.kept: list[json_kept.Kept] = [] if kept is None else kept


def encode_lua_value(rt: LuaHost, value: Any, *, keep_empty_objects: bool = False) -> bytes:
    """A Lua value as compact JSON by assay's rules; ``LuaCallError`` with assay's message.

    With ``keep_empty_objects``, an empty table that ``json.parse`` made from ``{}`` is written
    ``{}`` instead of ``[]`` (what a worker sends its engine keeps the objects it was given).
    """
    result = rt.state(JsonState).encode(value, keep_empty_objects)
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
    rt.provide(JsonState(encode=rt.anchor(codec[b"encode"]), extend=rt.anchor(codec[b"extend"]),
                         mark=rt.anchor(codec[b"mark"]), is_object=rt.anchor(codec[b"is_object"])))

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

-- Tables json.parse made from an empty JSON object ({}): json.encode writes every empty
-- table as [] (assay's rule), but a worker's engine calls keep these as {} (keep_objects).
local objects = setmetatable({}, {__mode = "k"})

local function encode(root, keep_objects)
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
            if array and max == count and not (count == 0 and keep_objects and objects[v]) then
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
    return function(v, keep_objects)
        local ok, out = pcall(f, v, keep_objects)
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
    if objects[src] then objects[t] = true end
    return t
end

-- Note the tables at the given paths (arrays of keys) of root as empty JSON objects.
local function mark(root, paths)
    for i = 1, #paths do
        local t, path = root, paths[i]
        for j = 1, #path do t = t[path[j]] end
        objects[t] = true
    end
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
    mark = mark,
    is_object = function(t) return objects[t] == true end,
    encode = function(v, keep_objects)
        local c = setlocale(nil, "collate")
        if c ~= "C" and c ~= "POSIX" then return false end -- table.sort must compare bytes
        return safe_encode(v, keep_objects)
    end,
}
"""
