"""Fixtures for the engine's HTTP tests: a real ``assay-bridge serve`` process per module or test.

Every server is a child process on port 0. The module's ``engine`` runs once on SQLite (its own
file) and once on PostgreSQL (a throwaway database), so every route test runs on both stores.
Route tests share one server per module and keep apart by unique workflow ids; tests that need
a fresh database or special flags build their own with ``engine_factory``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.testing import EngineServer
from tests.engine import pgdb
from tests.engine.http.api import Api


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The module engine's store: None for a fresh SQLite file, else a PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    name = pgdb.create_database()
    try:
        yield pgdb.url_for(name)
    finally:
        pgdb.drop_database(name)


@pytest.fixture(scope="module")
def engine_server(backend_url: str | None) -> Iterator[EngineServer]:
    """One engine for a whole test module; idle workflow-task polls answer at once."""
    with EngineServer(backend_url=backend_url, poll_wait_s=0) as server:
        yield server


@pytest.fixture
def api(engine_server: EngineServer) -> Iterator[Api]:
    """An :class:`Api` on the module's engine_server."""
    client = Api(engine_server)
    yield client
    client.close()


@pytest.fixture
def engine_factory() -> Iterator[Callable[..., EngineServer]]:
    """Start engines with custom flags; each is stopped (and its directory removed) afterwards."""
    servers: list[EngineServer] = []

    def make(**options: Any) -> EngineServer:
        server = EngineServer(**options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.close()
