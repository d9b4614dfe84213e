"""The engine: what ``assay-bridge serve`` runs, and its public face.

* :func:`open_engine` opens the core (:class:`~bridge.engine.core.Engine`) on a backend URL,
  without serving it (administration, tests);
* :class:`EngineService` / :func:`serve` run it behind the HTTP API until stopped;
* :class:`EmbeddedEngine` (``bridge.Engine``) runs it inside the calling process, answering
  in-process calls and, on request, HTTP; :class:`RunningCore` is what both start;
* :class:`ServerSettings` is their configuration, read from flags and the environment.

Names load on first use, so importing a submodule (``bridge.engine.config``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge import _lazy

if TYPE_CHECKING:
    from bridge.engine.config import DEFAULT_BACKEND_URL, MAX_POLL_WAIT_S, ServerSettings
    from bridge.engine.core import Engine
    from bridge.engine.embedded import EmbeddedEngine
    from bridge.engine.running import RunningCore
    from bridge.engine.instance_lock import InstanceLockError
    from bridge.engine.log_json import JsonFormatter
    from bridge.engine.running import open_engine
    from bridge.engine.server import EngineService, serve

_EXPORTS = {
    "DEFAULT_BACKEND_URL": "bridge.engine.config",
    "MAX_POLL_WAIT_S": "bridge.engine.config",
    "EmbeddedEngine": "bridge.engine.embedded",
    "Engine": "bridge.engine.core",
    "RunningCore": "bridge.engine.running",
    "EngineService": "bridge.engine.server",
    "InstanceLockError": "bridge.engine.instance_lock",
    "JsonFormatter": "bridge.engine.log_json",
    "ServerSettings": "bridge.engine.config",
    "open_engine": "bridge.engine.running",
    "serve": "bridge.engine.server",
}

__all__ = ["DEFAULT_BACKEND_URL", "MAX_POLL_WAIT_S", "EmbeddedEngine", "Engine", "RunningCore", "EngineService", "InstanceLockError", "JsonFormatter", "ServerSettings", "open_engine", "serve"]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)
