"""``regex.match/find/find_all/replace`` with assay's argument order (text, pattern) (lua-globals §3.12).

assay uses Rust's ``regex-lite``; patterns are translated to Python ``re`` with ``re.ASCII``
(``\\d``, ``\\w``, ``\\s`` are ASCII-only there too): ``(?<name>...)`` becomes
``(?P<name>...)``, ``\\z`` becomes ``\\Z``, and ``$`` outside multi-line mode means end of
text only. Replacements use Rust's syntax: ``$1``, ``${name}``, ``$name`` (longest name,
so ``$1a`` is the group "1a"), ``$$``; unknown groups expand to nothing. Compile errors
carry Python's wording after assay's ``regex.<fn>: invalid pattern:`` prefix.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_str

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

# compiled on the first replace (re caches it), not when the global is installed
_REPLACEMENT_REF = r"\$(?:\$|\{([^}]*)\}|([A-Za-z0-9_]+))"


def translate(pattern: str) -> str:
    """Rewrite a regex-lite pattern into the Python ``re`` pattern that means the same."""
    out: list[str] = []
    multiline = False
    in_class = False
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append("\\Z" if nxt == "z" and not in_class else ch + nxt)
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end != -1:  # POSIX class like [:alpha:], kept verbatim for re to reject
                    out.append(pattern[i : end + 2])
                    i = end + 2
                    continue
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is a literal
                out.append("\\]")
                i += 1
            continue
        if pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        if pattern.startswith("(?", i):
            flags = re.match(r"\(\?([a-zA-Z-]*)[):]", pattern[i:])
            if flags and "m" in flags.group(1).split("-")[0]:
                multiline = True
        if ch == "$" and not multiline:
            out.append("(?!(?s:.))")  # end of text only, unlike Python's $
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a regex-lite pattern (cached; assay recompiles on every call)."""
    return re.compile(translate(pattern), re.ASCII)


def expand(template: str, m: re.Match[str]) -> str:
    """Expand a Rust-syntax replacement template for one match."""

    def ref(r: re.Match[str]) -> str:
        if r.group(0) == "$$":
            return "$"
        name = r.group(1) if r.group(1) is not None else r.group(2)
        try:
            value = m.group(int(name)) if name.isdigit() else m.group(name)
        except IndexError:  # no such group
            return ""
        return value or ""

    return re.sub(_REPLACEMENT_REF, ref, template)



def install(rt: LuaHost) -> None:
    """Install the ``regex`` global."""

    def compiled(fn: str, pattern: Any) -> re.Pattern[str]:
        text = to_str(rt, pattern, 2)
        try:
            return compile_pattern(text)
        except re.error as exc:
            raise LuaCallError(f"regex.{fn}: invalid pattern: {exc}") from None

    def match(text: Any = None, pattern: Any = None, *_ignored: Any) -> bool:
        s = to_str(rt, text)
        return compiled("match", pattern).search(s) is not None

    def find(text: Any = None, pattern: Any = None, *_ignored: Any) -> Any:
        s = to_str(rt, text)
        m = compiled("find", pattern).search(s)
        if m is None:
            return None
        result = rt.lua.table()
        result[b"match"] = m.group(0).encode()
        groups = rt.lua.table()
        for i, g in enumerate(m.groups(), start=1):
            if g is not None:  # a group that did not take part is a hole
                groups[i] = g.encode()
        result[b"groups"] = groups
        return result

    def find_all(text: Any = None, pattern: Any = None, *_ignored: Any) -> Any:
        s = to_str(rt, text)
        found = [m.group(0).encode() for m in compiled("find_all", pattern).finditer(s)]
        return rt.lua.table_from(found)

    def replace(text: Any = None, pattern: Any = None, replacement: Any = None, *_ignored: Any) -> bytes:
        s = to_str(rt, text)
        rx = compiled("replace", pattern)
        template = to_str(rt, replacement, 3)
        return rx.sub(lambda m: expand(template, m), s).encode()

    rt.set_global("regex", {"match": match, "find": find, "find_all": find_all, "replace": replace})
