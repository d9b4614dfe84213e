"""A real engine process per test module, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge import Client
from bridge.testing import EngineServer


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineServer]:
    with EngineServer(poll_wait_s=1.0) as server:
        yield server


@pytest.fixture
def client(engine: EngineServer) -> Iterator[Client]:
    with Client(engine.url) as c:
        yield c
