"""Names a package exports on first use (PEP 562): a package's ``__getattr__`` and ``__dir__``
delegate here, so importing the package (or one of its submodules) stays cheap."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any


def load(package: str, targets: Mapping[str, str], name: str) -> Any:
    """The value of ``package.name``, imported from its module on first use and then kept
    on the package.

    Args:
        package: the package's ``__name__``.
        targets: exported name -> ``module`` or ``module:attribute``.
        name: the name asked for.

    Raises:
        AttributeError: ``name`` is not exported.
    """
    target = targets.get(name)
    if target is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    import importlib

    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    # set on the module object: inside ``bridge``, ``globals`` names the subpackage
    setattr(sys.modules[package], name, value)
    return value


def names(package: str, targets: Mapping[str, str]) -> list[str]:
    """What ``dir(package)`` lists: what it holds and what it exports lazily."""
    return sorted(set(vars(sys.modules[package])) | set(targets))
