"""``Runtime``: a sandboxed Lua 5.5 state with assay's globals installed.

The state itself, its boundary and its scheduler are :class:`~bridge.runtime.host.LuaHost`;
this module only adds the globals (:mod:`bridge.globals`), so the globals depend on the host
and nothing depends back on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bridge.globals import install_all
from bridge.runtime.host import DEFAULT_MEMORY_LIMIT, Control, LuaHost, Options

__all__ = ["DEFAULT_MEMORY_LIMIT", "Control", "Options", "Runtime"]


class Runtime(LuaHost):
    """A fresh, sandboxed Lua 5.5 runtime with assay's globals installed.

    Args:
        memory_limit: byte cap on Lua allocations (default 64 MiB, like assay); ``None``
            for no cap.
        search_paths: extra folders searched by ``require`` (``<dir>/?.lua``).
        script_dir: the running script's folder, searched too.
        modules_path: assay's modules folder (``$ASSAY_MODULES_PATH`` / ``~/.assay/modules``).
        log_stderr: write ``log.*`` lines to stderr in assay's format (they always also go
            to the Python logger ``assay``).
        color: colour those lines (assay does unless ``NO_COLOR`` is set).
        env_overrides: values ``env.get`` returns before the process environment.
        control: the stop and in-activity signals a worker hands in (:class:`Control`).
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
    ) -> None:
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
