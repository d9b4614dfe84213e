"""Reading request bodies, path and query parameters, with assay's status codes.

* Body over the limit: 413. Not JSON: 400 (an empty body where JSON is required is 400 too).
  Also 400, never 500: ``NaN``/``Infinity`` and numbers that overflow a float (not JSON),
  integers of more than 4300 digits, nesting deeper than Python's recursion limit, and a
  ``\\uD800``-style lone surrogate (not a Unicode character; no store can keep it).
* ``Content-Type``: a JSON type (``application/json`` or ``application/*+json``) or **no
  Content-Type at all** is accepted; any other type gets 415. assay answers 415 to a missing
  Content-Type as well; we accept it because curl users and hand-written clients often omit it,
  and no correct client can tell the difference.
* Valid JSON of the wrong shape: 422.
* compat-policy: ``[]`` is taken as ``{}`` wherever an object is expected, because the Lua client
  encodes empty tables (``{result = nil}``) as ``[]``.
* A field with a default rejects an explicit ``null`` (422) as serde does, except where
  engine-api §1 says the field is nullable.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from bridge.engine.api.errors import BadRequestError

_MISSING: Any = object()
I64_MAX = 2**63 - 1
I32_MAX = 2**31 - 1


def content_type_ok(content_type: str | None) -> bool:
    """Whether a body with this ``Content-Type`` header (None: absent) may be read as JSON."""
    if content_type is None or not content_type.strip():
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_body(content_type: str | None, size: int, limit: int) -> None:
    """Refuse a body before it is parsed: 415 for a non-JSON type, 413 above ``limit`` bytes.

    Raises:
        BadRequestError: 415 or 413.
    """
    if not content_type_ok(content_type):
        raise BadRequestError(415, "expected Content-Type: application/json")
    if size > limit:
        raise BadRequestError(413, f"request body larger than {limit} bytes")


async def read_body(request: Request) -> bytes:
    """Read a JSON request's raw body: 415 and 413 as :func:`check_body` says, the size
    checked against ``Content-Length`` first and then against what arrives."""
    limit: int = request.app.state.api.max_body_bytes
    declared = request.headers.get("content-length")
    check_body(request.headers.get("content-type"),
               int(declared) if declared is not None and declared.isdigit() else 0, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequestError(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, required: bool = True) -> Any:
    """Read and parse the body. Returns ``_MISSING`` for an empty optional body.

    Raises:
        BadRequestError: 413, 415 or 400 as described in the module docstring.
    """
    return parse_json(await read_body(request), required=required)


def parse_json(raw: bytes, *, required: bool = True) -> Any:
    """Parse a body read by :func:`read_body`; ``_MISSING`` for an empty optional body.

    Raises:
        BadRequestError: 400 as described in the module docstring.
    """
    if not raw.strip():
        if required:
            raise BadRequestError(400, "request body must be JSON, got an empty body")
        return _MISSING
    try:
        # what json.loads does with bytes, with one decoder made once instead of per call; an
        # object whose second byte is not NUL is UTF-8 (UTF-16/32 put NULs beside the brace)
        utf8 = raw[:1] == b"{" and raw[1:2] != b"\x00"
        encoding = "utf-8" if utf8 else json.detect_encoding(raw)
        body = _DECODER.decode(raw.decode(encoding, "surrogatepass"))
    except RecursionError as exc:
        raise BadRequestError(400, "request body is not valid JSON: nested too deeply") from exc
    except ValueError as exc:  # bad JSON or UTF-8, NaN/Infinity, an integer over 4300 digits
        raise BadRequestError(400, f"request body is not valid JSON: {exc}") from exc
    if (b"\\ud" in raw or b"\\uD" in raw) and not _encodable(body):
        raise BadRequestError(400, "request body is not valid JSON: lone UTF-16 surrogate")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _encodable(body: Any) -> bool:
    """False if a ``\\uD800``-style escape left a lone surrogate, which no store can keep."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def read_object(request: Request, *, allow_null: bool = False) -> dict[str, Any]:
    """Read a body that must be a JSON object (``[]`` counts as ``{}``; see compat-policy).

    Args:
        allow_null: also take a JSON ``null`` body as ``{}`` (signal, terminate).
    """
    return as_object(await read_json(request), allow_null=allow_null)


def parse_object(raw: bytes) -> dict[str, Any]:
    """:func:`parse_json` of a body that must be a JSON object (``[]`` counts as ``{}``)."""
    return as_object(parse_json(raw))


def as_object(body: Any, *, allow_null: bool = False) -> dict[str, Any]:
    """``body`` as an object: ``[]`` is ``{}``, and ``null`` too when ``allow_null``; else 422."""
    if isinstance(body, list) and not body:
        return {}
    if body is None and allow_null:
        return {}
    if not isinstance(body, dict):
        raise BadRequestError(422, f"request body must be a JSON object, got {_kind(body)}")
    return body


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def req_str(body: dict[str, Any], name: str) -> str:
    """A required string field."""
    value = body.get(name, _MISSING)
    if value is _MISSING:
        raise BadRequestError(422, f"missing field `{name}`")
    if not isinstance(value, str):
        raise BadRequestError(422, f"field `{name}` must be a string, got {_kind(value)}")
    return value


def opt_str(
    body: dict[str, Any], name: str, default: str | None = None, *, nullable: bool = False
) -> str | None:
    """An optional string field; ``null`` is refused unless ``nullable``."""
    value = body.get(name, _MISSING)
    if value is _MISSING or (value is None and nullable):
        return default
    if not isinstance(value, str):
        raise BadRequestError(422, f"field `{name}` must be a string, got {_kind(value)}")
    return value


def _int_value(name: str, value: Any, bound: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(422, f"field `{name}` must be an integer, got {_kind(value)}")
    if not -bound - 1 <= value <= bound:
        raise BadRequestError(422, f"field `{name}` is out of range")
    return value


def req_int(body: dict[str, Any], name: str, *, bound: int = I32_MAX) -> int:
    """A required integer field (i32 unless ``bound`` says otherwise)."""
    value = body.get(name, _MISSING)
    if value is _MISSING:
        raise BadRequestError(422, f"missing field `{name}`")
    return _int_value(name, value, bound)


def opt_int(body: dict[str, Any], name: str, *, nullable: bool = True) -> int | None:
    """An optional i32 field."""
    value = body.get(name, _MISSING)
    if value is _MISSING or (value is None and nullable):
        return None
    return _int_value(name, value, I32_MAX)


def opt_float(body: dict[str, Any], name: str) -> float | None:
    """An optional f64 field (``null`` counts as absent, as for serde ``Option``)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequestError(422, f"field `{name}` must be a number, got {_kind(value)}")
    if not math.isfinite(value):
        raise BadRequestError(422, f"field `{name}` must be finite")
    return float(value)


def opt_str_list(body: dict[str, Any], name: str) -> list[str] | None:
    """An optional array of strings (``{}`` from an empty Lua table counts as ``[]``)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, dict) and not value:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequestError(422, f"field `{name}` must be an array of strings")
    return value


def opt_any(body: dict[str, Any], name: str) -> Any:
    """An optional value of any JSON type; absent and ``null`` both give None."""
    return body.get(name)


def path_int(request: Request, name: str) -> int:
    """An integer path parameter (i64); anything else is 400 as in axum."""
    return int_param(name, str(request.path_params[name]))


def int_param(name: str, raw: str) -> int:
    """The i64 a path parameter's text names; anything else is 400 as in axum."""
    try:
        value = int(raw, 10)
    except ValueError:
        raise BadRequestError(400, f"invalid {name} in path: {raw!r} is not an integer") from None
    if not -I64_MAX - 1 <= value <= I64_MAX or not raw.lstrip("+-").isdigit():
        raise BadRequestError(400, f"invalid {name} in path: {raw!r}")
    return value


def query_int(request: Request, name: str, default: int, *, minimum: int = 0) -> int:
    """An integer query parameter; a value that does not parse is 400."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise BadRequestError(400, f"invalid query parameter {name}={raw!r}") from None
    if value < minimum or value > I64_MAX:
        raise BadRequestError(400, f"invalid query parameter {name}={raw!r}")
    return value


def query_float(request: Request, name: str, default: float) -> float:
    """A number query parameter; a value that does not parse is 400."""
    return float_param(name, request.query_params.get(name), default)


def float_param(name: str, raw: str | None, default: float) -> float:
    """A number query parameter's value (None: absent); a value that does not parse is 400."""
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequestError(400, f"invalid query parameter {name}={raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequestError(400, f"invalid query parameter {name}={raw!r}")
    return value
