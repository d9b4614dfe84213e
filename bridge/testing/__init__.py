"""Test helpers for users of assay-bridge and for its own tests.

* :class:`WorkflowEnvironment`: an engine in the test's process on a temporary SQLite file,
  workers and a client bound to it, and time skipping (a one-day timer fires at once, and
  its events say a day passed). The pytest plugin :mod:`bridge.testing.pytest_plugin` hands
  one to each test as the ``workflow_env`` fixture.
* :class:`SkippingClock`, :class:`TimeSkipper`: the clock and the thread behind time skipping.
* :class:`EngineServer`: a real ``assay-bridge serve`` process on a free port and a temporary
  SQLite file; start, stop, kill (crash) and restart on the same database.
* :class:`FakeClock`: a clock that moves only when told, for the engine core in-process.
* :func:`replay`: does the current workflow code still replay a recorded history?
  (:func:`load_history` reads one from a JSON file, :func:`normalize_events` accepts both
  event shapes, :func:`end_event` finds how a recorded run ended.)

Names are imported on first use, so loading the pytest plugin costs nothing until a test asks
for the fixture.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from bridge import _lazy

if TYPE_CHECKING:
    from bridge.engine.clock import FakeClock
    from bridge.testing.determinism import end_event
    from bridge.testing.environment import WorkflowEnvironment
    from bridge.testing.replay import load_history, normalize_events, replay
    from bridge.testing.server import EngineServer, EngineServerError
    from bridge.testing.time_skipping import SkippingClock, TimeSkipper

_LAZY = {
    "EngineServer": "bridge.testing.server",
    "EngineServerError": "bridge.testing.server",
    "FakeClock": "bridge.engine.clock",
    "SkippingClock": "bridge.testing.time_skipping",
    "TimeSkipper": "bridge.testing.time_skipping",
    "WorkflowEnvironment": "bridge.testing.environment",
    "end_event": "bridge.testing.determinism",
    "load_history": "bridge.testing.replay",
    "normalize_events": "bridge.testing.replay",
    "replay": "bridge.testing.replay",
}


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _LAZY, name)


def __dir__() -> list[str]:
    return _lazy.names(__name__, _LAZY)


class _Package(types.ModuleType):
    """This package's module type: importing the submodule ``bridge.testing.replay`` must not
    rebind the package's name ``replay``, which is the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name, "").startswith(
                f"{__name__}.{name}"):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "EngineServer",
    "EngineServerError",
    "FakeClock",
    "SkippingClock",
    "TimeSkipper",
    "WorkflowEnvironment",
    "end_event",
    "load_history",
    "normalize_events",
    "replay",
]
