"""Fixtures shared by the engine suites: the backend a test runs on.

``backend`` is parametrised over :data:`BACKENDS`, so every test that asks for it (directly or
through ``backend_url``, ``store`` or the core's ``engine``) runs once on SQLite and once on
PostgreSQL. PostgreSQL databases are throwaway clones of a migrated template
(:mod:`tests.engine.pgdb`); an unreachable server fails the test, it never skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import pgdb

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name of this run of the test."""
    return str(request.param)


@pytest.fixture
def backend_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty (migrated, for PostgreSQL) database of ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'engine.db'}"
        return
    if backend != "postgres":  # pragma: no cover - a listed backend without a branch
        raise AssertionError(f"no database factory for backend {backend}")
    name = pgdb.create_database()
    try:
        yield pgdb.url_for(name)
    finally:
        pgdb.drop_database(name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for tests that need PostgreSQL itself."""
    name = pgdb.create_database()
    try:
        yield pgdb.url_for(name)
    finally:
        pgdb.drop_database(name)
