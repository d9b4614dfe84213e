"""``crypto.hash``, ``crypto.hmac``, ``crypto.random`` as assay v0.11.2 has them (lua-globals §3.11).

Algorithms: sha224/256/384/512 and sha3-224/256/384/512 (no md5, despite assay's docs);
digests as lower-case hex (``hmac`` can return raw bytes). ``random(len)`` gives ``len``
characters from ``[A-Za-z0-9]`` drawn with a CSPRNG (not hex, despite the docs). There is no
``crypto.uuid`` in v0.11.2. ``jwt_sign`` / ``jwt_decode`` live in :mod:`bridge.globals.crypto_jwt`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.globals import crypto_jwt
from bridge.globals.args import LuaCallError, optional_bool

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost

ALGORITHMS = {
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha3-224": "sha3_224",
    "sha3-256": "sha3_256",
    "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}
_SUPPORTED = ", ".join(ALGORITHMS)
# string.ascii_letters + string.digits, spelled out: importing string compiles a regex
_ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DEFAULT_RANDOM_LENGTH = 32


def _algorithm(fn: str, alg: Any) -> str:
    if alg is None:
        return "sha256"
    if not isinstance(alg, bytes):
        raise LuaCallError(f"crypto.{fn}: algorithm must be a string")
    name = alg.decode("utf-8", "replace")
    found = ALGORITHMS.get(name.lower())
    if found is None:
        raise LuaCallError(f"crypto.{fn}: unsupported algorithm: {name} (supported: {_SUPPORTED})")
    return found


def install(rt: LuaHost) -> None:
    """Install the ``crypto`` global."""

    def hash_(s: Any = None, alg: Any = None, *_ignored: Any) -> bytes:
        if not isinstance(s, bytes):
            raise LuaCallError("crypto.hash: first argument must be a string")
        name = _algorithm("hash", alg)
        try:
            s.decode("utf-8")
        except UnicodeDecodeError:
            raise LuaCallError("crypto.hash: first argument must be a valid UTF-8 string") from None
        import hashlib  # OpenSSL is loaded on the first hash, not at install

        return hashlib.new(name, s).hexdigest().encode()

    def hmac(key: Any = None, data: Any = None, alg: Any = None, raw: Any = None, *_ignored: Any) -> bytes:
        if not isinstance(key, bytes):
            raise LuaCallError("crypto.hmac: first argument must be a string (key)")
        if not isinstance(data, bytes):
            raise LuaCallError("crypto.hmac: second argument must be a string (data)")
        name = _algorithm("hmac", alg)
        as_raw = optional_bool(raw, "crypto.hmac: fourth argument must be a boolean (raw) or nil")
        import hmac as _hmac

        mac = _hmac.new(key, data, name)
        return mac.digest() if as_raw else mac.hexdigest().encode()

    def random(length: Any = None, *_ignored: Any) -> bytes:
        if length is None:
            n = DEFAULT_RANDOM_LENGTH
        elif type(length) is int:
            n = length
        else:
            raise LuaCallError("crypto.random: first argument must be a positive integer or nil")
        if n <= 0:
            raise LuaCallError(f"crypto.random: length must be positive, got {n}")
        import secrets

        return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(n)).encode()

    rt.set_global("crypto", {"hash": hash_, "hmac": hmac, "random": random, **crypto_jwt.functions(rt)})
