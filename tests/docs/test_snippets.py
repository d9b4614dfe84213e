"""The code shown in the docs runs: Python blocks are executed, shell blocks are run.

* ``docs/python-api.md``: its ``python`` blocks run in order in one namespace, against a real
  engine (``http://localhost:8080`` replaced by its URL).
* ``docs/cli.md``: its ``sh`` blocks run as a reader would type them (tests/examples/readme.py).
* ``README.md``: every ``assay-bridge`` command parses, every Python block compiles, and the
  client snippet runs against the hello example's worker.
* ``docs/testing.md``: in a copy of examples/testing, its ``python`` blocks run in order in one
  namespace; a block whose info names a file (```` ```python test_x.py ````, ```` ```ini
  pytest.ini ````) is written to that file, and its ``sh`` blocks then run there (pytest with the
  installed plugin; the replay command against an in-process engine serving HTTP).
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import build_parser
from bridge.testing import EngineServer
from tests.examples.readme import ROOT, environment, run_readme
from tests.testing.pytest_run import (
    onboarding_engine,
    plugin_is_installed,
    run_shell_lines,
    shell_environment,
)

DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def fenced(path: Path, info: str) -> list[str]:
    return [m.group(2) for m in _FENCE.finditer(path.read_text(encoding="utf-8"))
            if m.group(1).strip() == info]


def named_files(path: Path) -> dict[str, str]:
    """Blocks whose info string is a language and a file name: ``{file name: text}``."""
    out = {}
    for m in _FENCE.finditer(path.read_text(encoding="utf-8")):
        words = m.group(1).split()
        if len(words) == 2:
            out[words[1]] = m.group(2)
    return out


def test_testing_doc_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    doc = DOCS / "testing.md"
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "testing", project,
                    ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    blocks = fenced(doc, "python")
    assert len(blocks) >= 4
    namespace: dict[str, object] = {"__name__": "docs_testing"}
    try:
        for i, code in enumerate(blocks):
            exec(compile(code, f"docs/testing.md block {i + 1}", "exec"), namespace)
    finally:
        sys.modules.pop("billing", None)
    out = capsys.readouterr().out
    assert "three tips for ann" in out and "RUNNING until" in out
    assert "the history recorded activity 'send_tips'" in out and "'send_hints'" in out

    files = named_files(doc)
    assert {"test_onboarding.py", "pytest.ini"} <= set(files)
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    lines = [ln.strip() for block in fenced(doc, "sh") for ln in block.splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines
    assert plugin_is_installed(), "install the package (pip install -e .) for its pytest plugin"
    with onboarding_engine(project / "workflows.lua") as url:
        outcomes = run_shell_lines(lines, project, shell_environment(url))
    for line, done in outcomes.items():
        if line.startswith("python -m pytest"):
            assert "7 passed" in done.stdout, done.stdout  # the sample's 5 and the doc's 2
        if "workflow replay" in line:
            assert "replay OK" in done.stdout, done.stdout


def test_python_api_snippets_run(fresh_engine_server: EngineServer, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = fenced(DOCS / "python-api.md", "python")
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "docs_python_api"}
    try:
        for i, code in enumerate(blocks):
            source = code.replace("http://localhost:8080", fresh_engine_server.url)
            exec(compile(source, f"docs/python-api.md block {i + 1}", "exec"), namespace)
    finally:
        worker = namespace.get("worker")
        if worker is not None:
            worker.stop()  # type: ignore[attr-defined]
            worker.join(timeout=30)  # type: ignore[attr-defined]
    assert "PENDING" in capsys.readouterr().out


def test_cli_doc_commands_run(fresh_engine_server: EngineServer, tmp_path: Path) -> None:
    run = run_readme(DOCS / "cli.md", fresh_engine_server.url, tmp_path)
    assert run.stdout('assay-bridge workflow result tour-2').strip() == "exit code 1"
    assert run.stdout('assay-bridge workflow describe no-such-id').strip() == "exit code 3"
    assert run.stdout('assay-bridge workflow result tour-3').strip() == "exit code 1"


def _commands(path: Path) -> list[str]:
    lines = [ln.strip() for block in fenced(path, "sh") for ln in block.splitlines()]
    out = []
    for line in lines:
        for part in re.split(r"&&|\|\||;", line.split("  #")[0]):
            part = part.strip().rstrip("&").strip()
            if part.startswith("assay-bridge "):
                out.append(part)
    return out


@pytest.mark.parametrize("path", [ROOT / "README.md", DOCS / "cli.md",
                                  *sorted((ROOT / "examples").glob("*/README.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_command_parses(path: Path) -> None:
    parser = build_parser()
    commands = _commands(path)
    assert commands, path
    for command in commands:
        argv = shlex.split(command)[1:]
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            if argv[-1:] != ["--help"] and exc.code != 0:
                pytest.fail(f"{path.name}: {command!r} does not parse")


def test_readme_python_blocks_compile_and_the_client_snippet_runs(fresh_engine_server: EngineServer) -> None:
    blocks = fenced(ROOT / "README.md", "python")
    for i, code in enumerate(blocks):
        compile(code, f"README.md block {i + 1}", "exec")
    client_blocks = [b for b in blocks if "Client(" in b and "Worker(" not in b]
    assert len(client_blocks) == 1
    worker = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "examples/hello/worker.lua"], cwd=ROOT,
        env=environment(fresh_engine_server.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        done = subprocess.run(
            [sys.executable, "-c", client_blocks[0].replace("http://localhost:8080", fresh_engine_server.url)],
            capture_output=True, text=True, timeout=120, check=False)
    finally:
        worker.send_signal(signal.SIGINT)
        assert worker.wait(30) == 0
    assert done.returncode == 0, done.stderr
    assert "hello, python!" in done.stdout
