"""Fault tests: CI sizes by default; ``--soak`` (or ``ASSAY_BRIDGE_SOAK=1``) for long manual runs.

``--soak`` is read when pytest is pointed at this folder (``python -m pytest tests/faults --soak``),
because pytest loads a folder's conftest options only for the paths it is given.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", default=False,
                     help="run the fault tests at soak size (minutes); also ASSAY_BRIDGE_SOAK=1")


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--soak", default=False)) or \
        os.environ.get("ASSAY_BRIDGE_SOAK", "") not in ("", "0")
