"""Fixtures of the engine-core tests: a real database of each backend (``backend_url`` from
``tests/engine/conftest.py``: a SQLite file, then a throwaway PostgreSQL database) and a fake
clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.settings import Settings
from bridge.engine.core import Engine
from bridge.engine.notify import RecordingNotifier


@pytest.fixture
def clock() -> FakeClock:
    """The engine's clock; tests move it with ``advance``."""
    return FakeClock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    """Every notification the engine sent."""
    return RecordingNotifier()


@pytest.fixture
def core(backend_url: str, clock: FakeClock, notifier: RecordingNotifier) -> Iterator[Engine]:
    """An engine over a fresh database of each backend."""
    eng = Engine.open(backend_url, clock=clock, notifier=notifier, pool_size=4,
                      settings=Settings(dispatch_timeout_s=30.0, worker_dead_after_s=60.0))
    yield eng
    eng.close()
