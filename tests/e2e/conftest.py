"""A real engine process per test module, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge import Client
from bridge.testing import EngineServer


@pytest.fixture
def client(engine_server: EngineServer) -> Iterator[Client]:
    with Client(engine_server.url) as c:
        yield c
