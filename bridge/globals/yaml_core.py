"""PyYAML with the YAML 1.2 core schema: the loader and dumper behind the ``yaml`` global.

Kept apart from :mod:`bridge.globals.yaml` so PyYAML is imported on a script's first
``yaml.*`` call rather than when the global is installed.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml as _yaml

YAMLError = _yaml.YAMLError


class CoreSchemaLoader(_yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema instead of 1.1's resolvers."""


CoreSchemaLoader.yaml_implicit_resolvers = {}
_CORE_RESOLVERS: list[tuple[str, str, str]] = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN\0"),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
]
for _tag, _regexp, _first in _CORE_RESOLVERS:
    CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


def _construct_int(loader: CoreSchemaLoader, node: _yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    assert isinstance(text, str)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float(loader: CoreSchemaLoader, node: _yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
CoreSchemaLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def load(text: str) -> Any:
    """One YAML document as Python values, by the core schema."""
    return _yaml.load(text, Loader=CoreSchemaLoader)  # noqa: S506 - safe loader subclass


def dump(value: Any) -> str:
    """YAML text: sorted keys, block style, no document marker, no line folding."""
    return _yaml.dump(
        value, Dumper=_yaml.SafeDumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=2**31 - 1
    )
