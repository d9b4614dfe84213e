"""Runs the shell commands of a README, as a reader would type them, against a real engine.

A README's ```` ```sh ```` blocks are run in order from the repository root, with
``ASSAY_ENGINE_URL`` pointing at an :class:`EngineServer` (which stands in for the
``assay-bridge serve &`` line) and this interpreter's ``bin/`` first on ``PATH``. A line
ending in ``&`` starts a background process, stopped with SIGINT at the end (it must exit 0,
i.e. gracefully); any other line must exit 0. A ```` ```json output ```` block after a ``sh``
block must equal the JSON the block's last command printed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0

_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    """A ``sh`` block's commands and the JSON its last command must print, if any."""

    commands: list[str]
    expected: Any = None
    has_expected: bool = False


@dataclass
class Run:
    """What running a README produced."""

    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def stdout(self, command_start: str) -> str:
        """The stdout of the one command that starts with ``command_start``."""
        found = [out for cmd, out in self.outputs.items() if cmd.startswith(command_start)]
        assert len(found) == 1, (command_start, list(self.outputs))
        return found[0].stdout


def blocks(readme: Path) -> list[Block]:
    """The ``sh`` blocks of a README, each with its ``json output`` block when one follows."""
    out: list[Block] = []
    for match in _FENCE.finditer(readme.read_text(encoding="utf-8")):
        info, body = match.group(1).strip(), match.group(2)
        if info == "sh":
            lines = [ln.strip() for ln in body.splitlines()]
            out.append(Block([ln for ln in lines if ln and not ln.startswith("#")]))
        elif info == "json output":
            assert out and not out[-1].has_expected, f"{readme}: output block without commands"
            out[-1].expected = json.loads(body)
            out[-1].has_expected = True
    return out


def environment(engine_url: str) -> dict[str, str]:
    """This process's environment, the engine's URL, and this interpreter first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_TOKEN",)}
    env["ASSAY_ENGINE_URL"] = engine_url
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_readme(readme: Path, engine_url: str, tmp_path: Path) -> Run:
    """Run every command of ``readme``; fail the test on the first that goes wrong."""
    env = environment(engine_url)
    background: list[tuple[str, subprocess.Popen[bytes], Path, IO[bytes]]] = []
    run = Run()
    try:
        for block in blocks(readme):
            last = None
            for command in block.commands:
                if command == "assay-bridge serve &":
                    continue  # the test's EngineServer is the engine
                if command.endswith("&"):
                    log_path = tmp_path / f"background-{len(background)}.log"
                    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
                    proc = subprocess.Popen(
                        ["bash", "-c", "exec " + command[:-1].strip()], cwd=ROOT, env=env,
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    )  # fmt: skip
                    background.append((command, proc, log_path, log))
                    continue
                done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, text=True,
                                      capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
                assert done.returncode == 0, _report(command, done, background)
                run.outputs[command] = done
                last = done
            if block.has_expected:
                assert last is not None
                assert json.loads(last.stdout) == block.expected, _report(
                    "(expected output)", last, background)
    finally:
        codes = _stop(background)
    for (command, _proc, log_path, _log), code in zip(background, codes):
        assert code == 0, f"{command!r} exited {code}:\n{log_path.read_text(errors='replace')}"
    return run


def _stop(background: list[tuple[str, subprocess.Popen[bytes], Path, IO[bytes]]]) -> list[int]:
    codes = []
    for _command, proc, _path, log in background:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        codes.append(proc.returncode)
    return codes


def _report(command: str, done: subprocess.CompletedProcess[str],
            background: list[tuple[str, subprocess.Popen[bytes], Path, IO[bytes]]]) -> str:
    logs = "\n".join(f"--- {cmd} ---\n{path.read_text(errors='replace')[-3000:]}"
                     for cmd, _p, path, _l in background)
    return (f"{command!r} exited {done.returncode}\nstdout:\n{done.stdout}\n"
            f"stderr:\n{done.stderr}\n{logs}")


def section_blocks(readme: Path, headings: list[str]) -> list[Block]:
    """The ``sh`` blocks under the Markdown headings named (``### Run a Lua worker``)."""
    text = readme.read_text(encoding="utf-8")
    found: list[Block] = []
    for heading in headings:
        start = text.index(heading + "\n")
        end = text.find("\n#", start + len(heading))
        part = readme.parent / f".{readme.name}.section"
        try:
            part.write_text(text[start:end if end > 0 else len(text)], encoding="utf-8")
            found += blocks(part)
        finally:
            part.unlink()
    return found


def pasted_script(sh_blocks: list[Block]) -> str:
    """``sh_blocks`` as one shell session, as a reader pastes them in turn: stop at the first
    failing command; at the end, stop the background jobs with SIGINT and wait for them."""
    body = "\n".join("\n".join(block.commands) for block in sh_blocks)
    return ("set -e\n"
            "finish() { rc=$?; for p in $(jobs -p); do kill -INT \"$p\" 2>/dev/null || true; "
            "done; wait; exit $rc; }\n"
            "trap finish EXIT\n" + body + "\n")


def run_pasted(sh_blocks: list[Block], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run :func:`pasted_script` in ``cwd`` (which gets ``examples`` linked to the
    repository's), with no engine URL given: the commands must start and find their engine."""
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_TOKEN", "ASSAY_ENGINE_URL")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    link = cwd / "examples"
    if not link.exists():
        link.symlink_to(ROOT / "examples")
    proc = subprocess.Popen(["bash", "-c", pasted_script(sh_blocks)], cwd=cwd, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=COMMAND_TIMEOUT_S * 2)
    finally:
        try:  # whatever the session left running (a hung or failed run) goes with it
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
