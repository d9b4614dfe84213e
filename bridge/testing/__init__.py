"""Test helpers for users of assay-bridge and for its own tests.

* :class:`EngineServer`: a real ``assay-bridge serve`` process on a free port and a temporary
  SQLite file; start, stop, kill (crash) and restart on the same database.
* :class:`FakeClock`: a clock that moves only when told, for the engine core in-process.
* :func:`replay`: does the current workflow code still replay a recorded history?
  (:func:`load_history` reads one from a JSON file, :func:`normalize_events` accepts both
  event shapes, :func:`end_event` finds how a recorded run ended.)
"""

from __future__ import annotations

from bridge.engine.clock import FakeClock
from bridge.testing.determinism import end_event
from bridge.testing.replay import load_history, normalize_events, replay
from bridge.testing.server import EngineServer, EngineServerError

__all__ = [
    "EngineServer",
    "EngineServerError",
    "FakeClock",
    "end_event",
    "load_history",
    "normalize_events",
    "replay",
]
