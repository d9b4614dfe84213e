"""Runs pytest in a subprocess the way a user's project does: the interpreter's installed
plugins (assay-bridge's through its ``pytest11`` entry point), no ``-p``, no conftest."""

from __future__ import annotations

import os
import subprocess
import sys
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
