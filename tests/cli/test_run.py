"""``assay-bridge run`` as a real process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest


def run(script: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # a relative path, as users type it (Lua shortens chunk names over 60 bytes)
        [sys.executable, "-m", "bridge", "run", script.name, *args],
        capture_output=True, text=True, timeout=timeout, cwd=script.parent,
    )


def test_runs_a_script_with_globals_and_local_require(tmp_path: Path) -> None:
    (tmp_path / "util.lua").write_text('return { greet = function(n) return "hi " .. n end }')
    script = tmp_path / "main.lua"
    script.write_text(
        "#!/usr/bin/env assay\n"
        'local util = require("util")\n'
        'print(util.greet(arg[1]), json.encode({ b = 2, a = { 1, 2 } }), arg[0])\n'
    )
    done = run(script, "ann")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f'hi ann\t{{"a":[1,2],"b":2}}\tmain.lua\n'
    assert "starting assay-bridge (script mode)" in done.stderr


def test_lua_error_exits_1_with_position_and_traceback(tmp_path: Path) -> None:
    script = tmp_path / "bad.lua"
    script.write_text("local function inner()\n  error('kaput')\nend\ninner()\n")
    done = run(script)
    assert done.returncode == 1
    assert "bad.lua:2: kaput" in done.stderr
    assert "stack traceback:" in done.stderr
    assert "in local 'inner'" in done.stderr


def test_shebang_shifts_lines_like_assay(tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    script.write_text("#!/usr/bin/env assay\nerror('x')\n")
    assert "s.lua:1: x" in run(script).stderr


def test_missing_file_and_wrong_extension(tmp_path: Path) -> None:
    done = run(tmp_path / "absent.lua")
    assert done.returncode == 1
    assert done.stderr.startswith("error: reading absent.lua:")
    other = tmp_path / "x.txt"
    other.write_text("print(1)")
    done = run(other)
    assert done.returncode == 2
    assert 'unsupported file extension ".txt"' in done.stderr


def test_sandbox_has_no_python_bridge(tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    script.write_text("print(python, load, dofile, debug, string.dump)")
    done = run(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "nil\tnil\tnil\tnil\tnil\n"


def test_memory_cap_is_an_error_not_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "big.lua"
    script.write_text("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end\n")
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "run", "--memory-limit-mb", "16", str(script)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "not enough memory" in done.stderr


def test_signal_ends_a_plain_script_at_once(tmp_path: Path) -> None:
    script = tmp_path / "loop.lua"
    script.write_text("print('ready')\nio.stdout:flush()\nwhile true do end\n")
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "run", str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # busy in pure Lua from here on
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 130
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize("flag", ["--help"])
def test_help(flag: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bridge", "run", flag],
                          capture_output=True, text=True)
    assert done.returncode == 0
    assert "search-path" in done.stdout


# What `assay-bridge run` of a one-line script must not import before its first Lua line: each
# comes with the first call that needs it (W7 cold start, bench/README.md).
HEAVY_MODULES = (
    "argparse", "asyncio", "base64", "concurrent.futures", "cryptography", "dataclasses",
    "datetime", "inspect",
    "decimal", "email", "gettext", "glob", "http.client", "jwt", "locale", "logging",
    "markdown_it", "minijinja", "pathlib", "requests", "select", "shutil", "socket", "ssl",
    "string", "subprocess", "tempfile", "tomllib", "traceback", "unicodedata", "urllib.parse",
    "uvicorn", "yaml", "zipfile",
)
# The package's own modules a plain script does not need: the other commands, the worker
# beyond its engine hooks, the engine transport, the client and the engine.
HEAVY_BRIDGE_MODULES = (
    "bridge.cli.remote", "bridge.cli.output", "bridge.client", "bridge.engine",
    "bridge.http_direct", "bridge.wire", "bridge.worker.context", "bridge.worker.transport",
    "bridge.worker.inprocess_transport", "bridge.worker.trampoline", "bridge.worker.worker",
)

_LIST_MODULES = """
import sys
from bridge.cli import main
code = main(["run", sys.argv[1]])
print("modules:", " ".join(sorted(sys.modules)), "code:", code)
"""


def test_a_one_line_script_starts_without_heavy_imports(tmp_path: Path) -> None:
    script = tmp_path / "hello.lua"
    script.write_text('print("hello")\n')
    done = subprocess.run([sys.executable, "-c", _LIST_MODULES, str(script)],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    out, _, listing = done.stdout.partition("modules: ")
    assert out == "hello\n", done.stderr
    names, _, code = listing.rpartition(" code: ")
    assert code.strip() == "0", done.stderr
    loaded = set(names.split())
    assert "lupa.lua55" in loaded  # the listing is the real one
    assert sorted(loaded & set(HEAVY_MODULES)) == []
    assert sorted(m for m in loaded if m.startswith(HEAVY_BRIDGE_MODULES)) == []


@pytest.mark.parametrize("argv", [
    ["x.lua"], ["x.lua", "a", "b"], ["x.lua", "-v"], ["x.lua", "--help"], ["x.lua", "-I", "d"],
    ["x.lua", "--wait-engine", "3"], ["x.lua", "--globals-off=shell"], ["dir/x.lua", "-x", "--y"],
    ["x"], [""], ["x.lua", "--"], ["x.lua", "a", "--", "b"], ["--", "x.lua"], ["-v", "x.lua"],
    ["-I", "d", "x.lua", "a"], ["--memory-limit-mb", "8", "x.lua"], ["--help"], [],
])
def test_plain_arguments_are_read_as_the_parser_reads_them(argv: list[str]) -> None:
    from bridge.cli import build_parser
    from bridge.cli.run import fast_args

    fast = fast_args(argv)
    if fast is None:  # the parser reads it (options, "--", help, errors)
        assert argv == [] or argv[0].startswith("-") or "--" in argv
        return
    parsed = build_parser("run").parse_args(["run", *argv])
    assert (fast.script, fast.args, fast.search_path, fast.memory_limit_mb, fast.globals_off,
            fast.verbose, fast.wait_engine) == (
        parsed.script, parsed.args, parsed.search_path, parsed.memory_limit_mb,
        parsed.globals_off, parsed.verbose, getattr(parsed, "wait_engine", None))
