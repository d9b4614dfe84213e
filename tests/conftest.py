"""Fixtures for every test folder: a local HTTP server and a fresh Lua runtime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.runtime.runtime import Runtime
from tests.helpers import LocalServer, local_http_server


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A threaded HTTP server on 127.0.0.1, a free port; records every request."""
    with local_http_server() as server:
        yield server


@pytest.fixture
def rt() -> Iterator[Runtime]:
    """A fresh runtime (log lines not written to stderr)."""
    runtime = Runtime(log_stderr=False)
    yield runtime
    runtime.close()
