"""The ``store`` fixture: every contract test runs once per backend.

To add PostgreSQL, add ``"postgres"`` to :data:`BACKENDS` and a branch in :func:`make_store`
(a fresh database per test); it must fail loudly, never skip, when the server is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.engine.store.base import Store
from bridge.engine.store.sqlite import SQLiteStore

BACKENDS = ["sqlite"]


def make_store(backend: str, tmp_path: Path) -> Store:
    """A new, opened, empty store of ``backend``."""
    if backend == "sqlite":
        store = SQLiteStore(str(tmp_path / "contract.db"))
    else:  # pragma: no cover - a backend listed without a factory is a test bug
        raise AssertionError(f"no factory for backend {backend}")
    store.open()
    return store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name of this run of the test."""
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """An opened store, closed after the test."""
    s = make_store(backend, tmp_path)
    yield s
    s.close()


@pytest.fixture
def reopen(backend: str, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Open a second store object on the same database (another process's view)."""
    opened: list[Store] = []

    def factory() -> Store:
        s = make_store(backend, tmp_path)
        opened.append(s)
        return s

    yield factory
    for s in opened:
        s.close()
