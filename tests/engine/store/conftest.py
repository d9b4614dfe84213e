"""The ``store`` fixture: every contract test runs once per backend.

The backends and their throwaway databases come from ``tests/engine/conftest.py``
(``backend`` is parametrised over SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bridge.engine.store.base import Store
from tests.helpers import make_store


@pytest.fixture
def store(backend_url: str) -> Iterator[Store]:
    """An opened store, closed after the test."""
    s = make_store(backend_url)
    yield s
    s.close()


@pytest.fixture
def reopen(backend_url: str) -> Iterator[Callable[[], Store]]:
    """Open a second store object on the same database (another process's view)."""
    opened: list[Store] = []

    def factory() -> Store:
        s = make_store(backend_url)
        opened.append(s)
        return s

    yield factory
    for s in opened:
        s.close()
