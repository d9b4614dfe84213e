"""``Runtime``: a sandboxed Lua 5.5 state with assay's globals installed.

The state itself, its boundary and its scheduler are :class:`~bridge.runtime.host.LuaHost`;
this module only adds the globals (:mod:`bridge.globals`), so the globals depend on the host
and nothing depends back on them. It also switches groups of globals off on request
(``globals_off``, docs/security.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from bridge.errors import ConfigError
from bridge.globals import disk, install_all, markdown, process, shell, template
from bridge.runtime.host import DEFAULT_MEMORY_LIMIT, Control, LuaHost, Options
from bridge.runtime.loader import default_modules_dir, modules_dir

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["DEFAULT_MEMORY_LIMIT", "GLOBAL_GROUPS", "Control", "Options", "Runtime",
           "check_globals_off", "default_modules_dir", "modules_dir"]

#: What ``globals_off`` can name: each of assay's globals (lua-globals §1.2), and ``io``.
#: Switching a group off removes the global; ``shell`` also removes the other ways Lua's
#: standard library starts a process (``io.popen`` and the original ``os.execute`` that
#: ``require("os")`` returns), and ``io`` removes Lua's ``io`` library.
GLOBAL_GROUPS = frozenset({
    "http", "json", "yaml", "toml", "assert", "log", "env", "sleep", "time", "fs", "base64",
    "crypto", "regex", "async", "db", "ws", "template", "markdown", "shell", "process", "disk",
    "os", "io",
})

_SHELL_OFF_LUA = r"""
local std_io = package.loaded.io
if type(std_io) == "table" then std_io.popen = nil end
local std_os = package.loaded.os
if type(std_os) == "table" and std_os ~= os then std_os.execute = nil end
"""

_IO_OFF_LUA = r"""
io = nil
package.loaded.io = nil
"""


class Runtime(LuaHost):
    """A fresh, sandboxed Lua 5.5 runtime with assay's globals installed.

    Args:
        memory_limit: byte cap on Lua allocations (default 64 MiB, like assay); ``None``
            for no cap.
        search_paths: extra folders searched by ``require`` (``<dir>/?.lua``).
        script_dir: the running script's folder, searched too.
        modules_path: assay's modules folder (``$ASSAY_MODULES_PATH`` / ``~/.assay/modules``;
            :func:`bridge.runtime.loader.default_modules_dir` reads those); ``None`` for none.
        log_stderr: write ``log.*`` lines to stderr in assay's format (they always also go
            to the Python logger ``assay``).
        color: colour those lines (assay does unless ``NO_COLOR`` is set).
        env_overrides: values ``env.get`` returns before the process environment.
        control: the stop and in-activity signals a worker hands in (:class:`Control`).
        globals_off: groups of globals to leave out (names from :data:`GLOBAL_GROUPS`, e.g.
            ``{"shell", "process", "db"}``); an unknown name raises :class:`ConfigError`.
    """

    def __init__(
        self,
        *,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        search_paths: Sequence[str | Path] = (),
        script_dir: str | Path | None = None,
        modules_path: str | Path | None = None,
        log_stderr: bool = True,
        color: bool = False,
        env_overrides: dict[str, str] | None = None,
        control: Control | None = None,
        globals_off: Collection[str] = (),
    ) -> None:
        off = check_globals_off(globals_off)
        super().__init__(
            memory_limit=memory_limit,
            search_paths=search_paths,
            script_dir=script_dir,
            modules_path=modules_path,
            control=control,
            options=Options(log_stderr=log_stderr, color=color,
                            env_overrides=dict(env_overrides or {})),
        )
        install_all(self)
        for module in (template, markdown, shell, process, disk):
            module.install(self)
        self._switch_off(off)

    def _switch_off(self, groups: frozenset[str]) -> None:
        for name in sorted(groups):
            if name == "shell":
                self.execute(_SHELL_OFF_LUA, "=bridge.globals_off")
            if name == "io":
                self.execute(_IO_OFF_LUA, "=bridge.globals_off")
            else:
                self.lua.globals()[name.encode()] = None


def check_globals_off(names: Collection[str]) -> frozenset[str]:
    """``names`` as a set of known groups; :class:`ConfigError` names any unknown one."""
    if isinstance(names, str):
        raise ConfigError("globals_off takes a collection of names, not one string")
    off = frozenset(names)
    unknown = sorted(off - GLOBAL_GROUPS)
    if unknown:
        raise ConfigError(f"unknown globals to switch off: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(GLOBAL_GROUPS))})")
    return off
