"""``yaml.parse`` / ``yaml.encode`` through assay's JSON value model (lua-globals §3.3, §4).

Parsing follows the YAML 1.2 core schema like assay's serde_yml: ``yes``/``on`` and
timestamps stay strings, ``010`` is decimal 10, ``0o10`` octal, ``0x10`` hex. Only one
document is accepted; ``.nan``/``.inf`` become nil (JSON cannot hold them); ``null`` makes a
key absent. Scalar mapping keys are turned into strings. Encoding sorts keys, writes an
empty table as ``[]``, puts no ``---`` in front and does not indent sequences inside
mappings. Errors read ``yaml.parse: <msg>`` / ``yaml.encode: <msg>``; the message text is
PyYAML's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_str
from bridge.runtime import convert

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost


def json_model(value: Any) -> Any:
    """A parsed YAML value reduced to what JSON can hold (non-finite floats -> None)."""
    t = type(value)
    if t is dict:
        return {_key(k): json_model(v) for k, v in value.items()}
    if t is list:
        return [json_model(v) for v in value]
    if t is float and not math.isfinite(value):
        return None
    if value is None or t in (str, int, float, bool):
        return value
    if t is bytes:  # !!binary
        return value.decode("utf-8", "replace")
    return str(value)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    if isinstance(k, (int, float)):
        return str(k)
    raise ValueError("mapping keys must be scalars")


def parse_text(text: str) -> Any:
    """Parse one YAML document into JSON-model Python values; ``ValueError`` on failure."""
    from bridge.globals import yaml_core

    try:
        return json_model(yaml_core.load(text))
    except yaml_core.YAMLError as exc:
        raise ValueError(" ".join(str(exc).split())) from None
    except RecursionError:
        raise ValueError("recursion limit exceeded") from None


def encode_value(value: Any) -> str:
    """YAML text for a JSON-model value: sorted keys, block style, no document marker."""
    from bridge.globals import yaml_core

    return yaml_core.dump(value)


def install(rt: LuaHost) -> None:
    """Install the ``yaml`` global."""

    def parse(s: Any = None, *_ignored: Any) -> Any:
        text = to_str(rt, s)
        try:
            return rt.to_lua(parse_text(text))
        except ValueError as exc:
            raise LuaCallError(f"yaml.parse: {exc}") from None

    def encode(v: Any = None, *_ignored: Any) -> bytes:
        from bridge.globals import yaml_core

        try:
            return encode_value(convert.to_json_value(v)).encode()
        except (convert.ConversionError, yaml_core.YAMLError) as exc:
            raise LuaCallError(f"yaml.encode: {exc}") from None

    rt.set_global("yaml", {"parse": parse, "encode": encode})
