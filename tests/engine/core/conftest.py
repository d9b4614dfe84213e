"""Fixtures of the engine-core tests: a real SQLite file in tmp_path and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.engine.clock import FakeClock
from bridge.engine.context import Settings
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
def engine(tmp_path: Path, clock: FakeClock, notifier: RecordingNotifier) -> Iterator[Engine]:
    """An engine over a fresh SQLite file."""
    eng = Engine.open(f"sqlite:///{tmp_path / 'engine.db'}", clock=clock, notifier=notifier,
                      settings=Settings(dispatch_timeout_s=30.0, worker_dead_after_s=60.0))
    yield eng
    eng.close()
