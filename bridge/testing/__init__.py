"""Test helpers for users of assay-bridge and for its own tests.

* :class:`EngineServer`: a real ``assay-bridge serve`` process on a free port and a temporary
  SQLite file; start, stop, kill (crash) and restart on the same database.
* :class:`FakeClock`: a clock that moves only when told, for the engine core in-process.
* :func:`replay`: does the current workflow code still replay a recorded history?
"""

from __future__ import annotations

from bridge.engine.clock import FakeClock
from bridge.testing.replay import load_history, replay
from bridge.testing.server import EngineServer, EngineServerError

__all__ = [
    "EngineServer",
    "EngineServerError",
    "FakeClock",
    "load_history",
    "replay",
]
