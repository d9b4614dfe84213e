"""``crypto.jwt_sign`` / ``crypto.jwt_decode`` (lua-globals §3.11), part of the ``crypto`` global.

``jwt_sign(claims, pem, alg?, opts?)`` signs with an RSA private key (PEM) and RS256 (default),
RS384 or RS512, as assay does (no HS*). The header is ``{"typ":"JWT","alg":...[,"kid":...]}``
in that order (``opts.kid``), the payload is the claims encoded by assay's JSON rules (keys
sorted), both base64url without padding; the signature is made by PyJWT's RSA algorithms
(cryptography underneath). ``jwt_decode(token)`` reads the header and claims without
verifying the signature, decoding base64url as strictly as assay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table, to_str
from bridge.globals.base64 import Base64DecodeError, decode_strict
from bridge.globals.json_text import parse_text
from bridge.runtime import convert

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

#: The signing algorithms, each named by its hash on ``RSAAlgorithm`` (PyJWT and cryptography
#: are imported on the first signature, not when the global is installed).
ALGORITHMS = {
    "RS256": "SHA256",
    "RS384": "SHA384",
    "RS512": "SHA512",
}
_URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_SEGMENTS_ERROR = ("crypto.jwt_decode: token must have three '.'-separated segments "
                   "(header.payload.signature)")


def b64url(data: bytes) -> str:
    """base64url without padding."""
    import base64  # on the first call, not when the global is installed

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode_strict(text: str) -> bytes:
    """Decode unpadded base64url as strictly as data-encoding's ``BASE64URL_NOPAD``.

    Raises:
        Base64DecodeError: ``invalid length at N``, ``invalid symbol at N`` or
            ``non-zero trailing bits at N``.
    """
    n = len(text)
    if n % 4 == 1:
        raise Base64DecodeError(f"invalid length at {n - 1}")
    for i, ch in enumerate(text):
        if ch not in _URL_ALPHABET:
            raise Base64DecodeError(f"invalid symbol at {i}")
    padded = text.replace("-", "+").replace("_", "/") + "=" * (-n % 4)
    return decode_strict(padded)


def sign(claims_json: str, pem: bytes, alg: str, kid: str | None) -> str:
    """A signed compact JWT; ``LuaCallError`` with assay's texts for a bad key."""
    header = '{"typ":"JWT","alg":"' + alg + '"'
    if kid is not None:
        header += ',"kid":' + convert.encode_json(kid.encode())
    header += "}"
    signing_input = f"{b64url(header.encode())}.{b64url(claims_json.encode())}"
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from jwt.algorithms import RSAAlgorithm
    from jwt.exceptions import InvalidKeyError

    algorithm = RSAAlgorithm(getattr(RSAAlgorithm, ALGORITHMS[alg]))
    try:
        key = algorithm.prepare_key(pem)
    except (InvalidKeyError, ValueError, TypeError):
        raise LuaCallError("crypto.jwt_sign: invalid PEM key: InvalidKeyFormat") from None
    if not isinstance(key, RSAPrivateKey):  # a public key cannot sign
        raise LuaCallError("crypto.jwt_sign: invalid PEM key: InvalidKeyFormat")
    try:
        signature = algorithm.sign(signing_input.encode(), key)
    except (ValueError, TypeError) as exc:
        raise LuaCallError(f"crypto.jwt_sign: encoding failed: {exc}") from None
    return f"{signing_input}.{b64url(signature)}"


def decode(token: str) -> tuple[Any, Any]:
    """The header and claims of a compact JWT as JSON-model values (signature not checked)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise LuaCallError(_SEGMENTS_ERROR)
    out = []
    for label, part in (("header", parts[0]), ("payload", parts[1])):
        try:
            raw = b64url_decode_strict(part)
        except Base64DecodeError as exc:
            raise LuaCallError(f"crypto.jwt_decode: {label}: invalid base64url: {exc}") from None
        try:
            out.append(parse_text(raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            raise LuaCallError(f"crypto.jwt_decode: {label}: invalid JSON: {convert.utf8_error_text(exc)}") from None
        except ValueError as exc:
            raise LuaCallError(f"crypto.jwt_decode: {label}: invalid JSON: {exc}") from None
    return out[0], out[1]


def functions(rt: LuaHost) -> dict[str, Callable[..., Any]]:
    """``jwt_sign`` and ``jwt_decode`` for the ``crypto`` table."""

    def jwt_sign(claims: Any = None, pem: Any = None, alg: Any = None, opts: Any = None,
                 *_ignored: Any) -> bytes:
        if not is_table(claims):
            raise LuaCallError("crypto.jwt_sign: first argument must be a table (claims)")
        if not isinstance(pem, bytes):
            raise LuaCallError("crypto.jwt_sign: second argument must be a string (PEM key)")
        if alg is None:
            name = "RS256"
        elif isinstance(alg, bytes):
            given = alg.decode("utf-8", "replace")
            name = given.upper()
            if name not in ALGORITHMS:
                raise LuaCallError(f"crypto.jwt_sign: unsupported algorithm: {given}")
        else:
            raise LuaCallError("crypto.jwt_sign: third argument must be a string (algorithm) or nil")
        kid: str | None = None
        if is_table(opts) and opts[b"kid"] is not None:
            kid = to_str(rt, opts[b"kid"], 4)
        try:
            payload = convert.encode_json(claims)
        except convert.ConversionError as exc:
            raise LuaCallError(f"crypto.jwt_sign: encoding failed: {exc}") from None
        return sign(payload, pem, name, kid).encode()

    def jwt_decode(token: Any = None, *_ignored: Any) -> Any:
        header, claims = decode(to_str(rt, token))
        return rt.to_lua({"header": header, "claims": claims})

    return {"jwt_sign": jwt_sign, "jwt_decode": jwt_decode}
