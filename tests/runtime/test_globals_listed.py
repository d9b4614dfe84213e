"""Every global docs/globals.md lists exists in a fresh runtime, with the functions it names.

Like assay's own check of its builtins: ``assert.not_nil(<name>)`` for each global, run as Lua.
The names are read from the table in docs/globals.md, so a global added there is checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

from bridge.errors import LuaScriptError
from bridge.runtime.runtime import Runtime

GLOBALS_MD = Path(__file__).resolve().parents[2] / "docs" / "globals.md"
_ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)`(?: \(([^)]*)\))? \| ([^|]*)\|", re.MULTILINE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def listed() -> list[tuple[str, list[str]]]:
    """``(global, [function, ...])`` for each row of the table, names from the first column.

    Rows whose status says ``not yet`` are left out: the doc says they are absent.
    """
    rows = []
    for match in _ROW.finditer(GLOBALS_MD.read_text(encoding="utf-8")):
        name, inner, status = match.group(1), match.group(2) or "", match.group(3).strip()
        if status == "not yet":
            continue
        functions = [f.strip() for f in inner.split(",") if _IDENT.fullmatch(f.strip())]
        rows.append((name, functions))
    return rows


def test_the_table_is_read() -> None:
    names = [name for name, _ in listed()]
    assert {"http", "json", "async", "sleep", "template", "markdown", "shell", "process", "disk"} <= set(names)
    assert dict(listed())["process"] == ["list", "is_running", "kill", "wait_idle"]


def test_every_listed_global_exists_in_a_fresh_runtime() -> None:
    rt = Runtime(log_stderr=False)
    failures = []
    try:
        for name, functions in listed():
            if name.startswith("_"):  # set by a call (``_SERVER_PORT`` by http.serve), not at start
                continue
            checks = [f"assert.not_nil({name}, {name!r})"]
            checks += [f"assert.eq(type({name}.{fn}), 'function', {name + '.' + fn!r})" for fn in functions]
            for check in checks:
                try:
                    rt.execute(check, f"={name}")
                except LuaScriptError as exc:
                    failures.append(exc.message)
    finally:
        rt.close()
    assert not failures, failures
