"""assay's Lua globals, one module each. :func:`install_all` puts them into a runtime.

The order follows assay's registration order (lua-globals §1.1): ``assert`` and ``os``
replace Lua's own globals of those names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bridge.globals.log import emit

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

__all__ = ["GLOBAL_MODULES", "emit", "install_all"]

# Modules under bridge.globals, each with ``install(rt)``. Missing ones are skipped so a
# partial build still runs; docs/globals.md lists what is provided.
GLOBAL_MODULES = (
    "http", "json", "yaml", "toml", "assert_", "log", "env", "sleep", "time",
    "fs", "base64", "crypto", "regex", "async_", "os", "db", "ws",
)


def install_all(rt: LuaHost) -> None:
    """Install every available global into ``rt``."""
    for name in GLOBAL_MODULES:
        try:
            module = importlib.import_module(f"bridge.globals.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bridge.globals.{name}":
                continue
            raise
        module.install(rt)
