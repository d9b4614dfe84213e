"""``toml.parse`` / ``toml.encode`` through assay's JSON value model (lua-globals §3.3, §4).

Parsing uses :mod:`tomllib`; a TOML date or time arrives as
``{["$__toml_private_datetime"] = "<RFC 3339 text>"}`` like assay's toml-rs, and such a
table is written back as a TOML datetime by ``encode``. Encoding uses ``tomli-w``; the top
level must be a non-empty table (``{}`` is ``[]`` in the JSON model and fails).
Errors read ``toml.parse: <msg>`` / ``toml.encode: <msg>``; the message text is the Python
library's, and ``encode``'s layout is tomli-w's rather than toml-rs's pretty printer.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, to_str
from bridge.runtime import convert

if TYPE_CHECKING:
    import datetime as _dt

    from bridge.runtime.host import LuaHost

DATETIME_KEY = "$__toml_private_datetime"


def _datetime_text(value: _dt.date | _dt.time) -> str:
    import datetime as _dt  # tomllib imported it; not imported when the global is installed

    if isinstance(value, _dt.datetime):
        text = value.isoformat()
        offset = value.utcoffset()
        if offset is not None and not offset:
            text = text[: -len("+00:00")] + "Z"
        return text
    return value.isoformat()


def json_model(value: Any) -> Any:
    """Parsed TOML reduced to the JSON model (dates/times as serde's private table)."""
    import datetime as _dt

    if isinstance(value, dict):
        return {k: json_model(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_model(v) for v in value]
    if isinstance(value, (_dt.date, _dt.time)):
        return {DATETIME_KEY: _datetime_text(value)}
    return value


def _toml_model(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(DATETIME_KEY), str):
            return _parse_datetime(value[DATETIME_KEY])
        return {k: _toml_model(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_model(v) for v in value]
    if value is None:
        raise ValueError("unsupported None value")
    return value


def _tomllib() -> Any:
    # imported on first use, not when the global is installed (cold start of `run`)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


def _parse_datetime(text: str) -> Any:
    tomllib = _tomllib()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ValueError(f"invalid datetime: {text}") from None


def encode_value(value: Any) -> str:
    """TOML text for a JSON-model value; ``ValueError`` unless it is a non-empty table."""
    if not isinstance(value, dict):
        raise ValueError("top-level value must be a table")
    import tomli_w

    return tomli_w.dumps(_toml_model(value))


def install(rt: LuaHost) -> None:
    """Install the ``toml`` global."""

    def parse(s: Any = None, *_ignored: Any) -> Any:
        text = to_str(rt, s)
        tomllib = _tomllib()
        try:
            return rt.to_lua(json_model(tomllib.loads(text)))
        except tomllib.TOMLDecodeError as exc:
            raise LuaCallError(f"toml.parse: {exc}") from None

    def encode(v: Any = None, *_ignored: Any) -> bytes:
        try:
            return encode_value(convert.to_json_value(v)).encode()
        except (convert.ConversionError, ValueError, TypeError) as exc:
            raise LuaCallError(f"toml.encode: {exc}") from None

    rt.set_global("toml", {"parse": parse, "encode": encode})
