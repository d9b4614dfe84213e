"""Runs pytest in a subprocess the way a user's project does: the interpreter's installed
plugins (assay-bridge's through its ``pytest11`` entry point), no ``-p``, no conftest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path

PLUGIN = "bridge.testing.pytest_plugin"
RUN_TIMEOUT_S = 240.0


def plugin_is_installed() -> bool:
    """True if an installed distribution registers the plugin as a ``pytest11`` entry point."""
    return any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))


def run_pytest(cwd: Path, *args: str,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``cwd`` with warnings as errors and strict markers."""
    assert plugin_is_installed(), (
        f"no pytest11 entry point names {PLUGIN}: install the package (pip install -e .) so "
        "its entry points are registered")
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error",
         "--strict-markers", "-q", *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        check=False)


def shell_environment(engine_url: str) -> dict[str, str]:
    """The environment of a README's shell lines: this interpreter's ``bin/`` first on PATH,
    ``ASSAY_ENGINE_URL``, and no pytest settings of the outer run."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
                        "ASSAY_TOKEN")}
    env["ASSAY_ENGINE_URL"] = engine_url
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextmanager
def onboarding_engine(workflows_lua: Path) -> Iterator[str]:
    """An engine serving HTTP whose history holds ``onboard-1``, a finished run of the sample's
    ``Onboard`` workflow (what ``assay-bridge workflow replay onboard-1`` reads); its URL."""
    from bridge.testing import WorkflowEnvironment

    with WorkflowEnvironment() as env:
        env.worker(workflows_lua)
        env.client.start("Onboard", "onboard-1", {"user": "ann"})
        env.client.result("onboard-1", timeout=30)
        yield env.engine.serve()


def run_shell_lines(lines: list[str], cwd: Path,
                    env: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run each line in a shell in ``cwd``; each must exit 0. Their outcomes by line."""
    outcomes = {}
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=RUN_TIMEOUT_S, check=False)
        assert done.returncode == 0, f"{line}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        outcomes[line] = done
    return outcomes
