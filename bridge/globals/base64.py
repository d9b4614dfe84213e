"""``base64.encode`` / ``base64.decode``: standard alphabet, ``=`` padding (lua-globals §3.10).

Decoding is as strict as assay's (data-encoding): padding required, no whitespace or
URL-safe symbols, unused bits of the last symbol must be zero, and errors name the
position: ``base64.decode: <kind> at <pos>``. The decoded bytes must be UTF-8.

Deliberate difference: ``encode`` accepts binary strings (assay rejects non-UTF-8 input;
the spec allows a port to be lenient), so ``base64.encode(fs.read_bytes(p))`` works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, lua_bytes, to_str
from bridge.runtime.convert import utf8_error_text

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}


class Base64DecodeError(ValueError):
    """Invalid base64 text; ``str()`` is data-encoding's ``<kind> at <position>``."""


def decode_strict(text: str) -> bytes:
    """Decode padded standard base64 exactly as strictly as data-encoding's ``BASE64``.

    Raises:
        Base64DecodeError: with kind ``invalid length``, ``invalid symbol``,
            ``invalid padding length`` or ``non-zero trailing bits``.
    """
    n = len(text)
    if n % 4:
        raise Base64DecodeError(f"invalid length at {n - n % 4}")
    for block in range(0, n, 4):
        chunk = text[block : block + 4]
        data_len = len(chunk.rstrip("="))
        for i, ch in enumerate(chunk[:data_len]):
            if ch not in _VALUE:
                raise Base64DecodeError(f"invalid symbol at {block + i}")
        if data_len < 2:
            raise Base64DecodeError(f"invalid padding length at {block + data_len}")
        if data_len < 4:
            # 2 symbols carry 1 byte (4 spare bits), 3 symbols carry 2 bytes (2 spare bits)
            spare = _VALUE[chunk[data_len - 1]] & (0x0F if data_len == 2 else 0x03)
            if spare:
                raise Base64DecodeError(f"non-zero trailing bits at {block + data_len - 1}")
    import base64 as _b64  # on the first call, not when the global is installed

    if "=" not in text[:-2]:
        return _b64.b64decode(text.encode("ascii"))
    # padding inside: concatenated padded encodings, decoded block by block
    return b"".join(_b64.b64decode(text[i : i + 4].encode("ascii")) for i in range(0, n, 4))


def install(rt: LuaHost) -> None:
    """Install the ``base64`` global."""

    def encode(s: Any = None, *_ignored: Any) -> bytes:
        import base64 as _b64

        return _b64.b64encode(lua_bytes(rt, s)).strip()

    def decode(s: Any = None, *_ignored: Any) -> bytes:
        text = to_str(rt, s)
        try:
            data = decode_strict(text)
        except Base64DecodeError as exc:
            raise LuaCallError(f"base64.decode: {exc}") from None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LuaCallError(f"base64.decode: invalid UTF-8: {utf8_error_text(exc)}") from None
        return data

    rt.set_global("base64", {"encode": encode, "decode": decode})
