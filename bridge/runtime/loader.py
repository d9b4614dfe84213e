"""``require``: where Lua modules come from (lua-globals §5).

Order: ``package.preload``; ``package.path`` (user search paths, the script's folder, then
``./?.lua`` and ``./?/init.lua``); then, for ``assay.*`` names only, ``./modules``, the modules
folder (``$ASSAY_MODULES_PATH`` or ``~/.assay/modules``: :func:`default_modules_dir`, called by
``assay-bridge run`` and :class:`bridge.Worker`, never by the runtime itself), and last the
packaged stdlib (``lua/assay/...``), compiled under the chunk name ``@assay/<file>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # pathlib (with urllib.parse) is imported when a module is looked up, not at a script's start
    from pathlib import Path

#: The environment variable naming assay's modules folder (lua-globals §5).
MODULES_PATH_ENV = "ASSAY_MODULES_PATH"


def stdlib_dir() -> Path:
    """The folder holding the packaged Lua stdlib (``assay/workflow.lua``).

    In a wheel it is ``bridge/_lua``; in a source checkout it is the repository's ``lua/``.
    """
    from pathlib import Path

    package = Path(__file__).parent.parent  # the bridge package's folder (no importlib.resources)
    packaged = package / "_lua"
    if packaged.is_dir():
        return packaged
    return package.parent / "lua"


def default_modules_dir(environ: Mapping[str, str]) -> Path | None:
    """assay's modules folder: ``$ASSAY_MODULES_PATH`` when set, else ``$HOME/.assay/modules``.

    ``environ`` is the process environment (passed in: the CLI and ``Worker`` read it, the
    runtime does not). ``None`` when neither variable is set.
    """
    folder = modules_dir(environ)
    if folder is None:
        return None
    from pathlib import Path

    return Path(folder)


def modules_dir(environ: Mapping[str, str]) -> str | None:
    """:func:`default_modules_dir` as text, for ``assay-bridge run``'s start (no pathlib)."""
    if MODULES_PATH_ENV in environ:
        return environ[MODULES_PATH_ENV]
    home = environ.get("HOME")
    if home:
        return os.path.join(home, ".assay", "modules")
    return None


def package_path(search_paths: Sequence[str | Path], script_dir: str | Path | None) -> str:
    """Build ``package.path`` from folders: each gives ``<dir>/?.lua;<dir>/?/init.lua``."""
    parts: list[str] = []
    folders = [str(p) for p in search_paths]
    if script_dir is not None:
        folders.append(str(script_dir))
    for folder in folders:
        parts.append(f"{folder}/?.lua")
        parts.append(f"{folder}/?/init.lua")
    parts += ["./?.lua", "./?/init.lua"]
    return ";".join(parts)


def find_assay_module(name: str, modules_path: str | Path | None) -> tuple[str, str] | str:
    """Find an ``assay.*`` module.

    Returns ``(path, chunk_name)`` when found, otherwise the text Lua's ``require`` lists
    for this searcher.
    """
    if not name.startswith("assay."):
        return f"not an assay.* module: {name}"
    from pathlib import Path

    rel = name[len("assay.") :].replace(".", "/")
    candidates = [f"{rel}.lua", f"{rel}/init.lua"]
    folders = [Path("modules")]
    if modules_path is not None:
        folders.append(Path(modules_path))
    for folder in folders:
        for cand in candidates:
            path = folder / cand
            if path.is_file():
                return str(path), f"@{path}"
    base = stdlib_dir() / "assay"
    for cand in candidates:
        path = base / cand
        if path.is_file():
            return str(path), f"@assay/{cand}"
    return f"no embedded stdlib file: {rel}.lua"
