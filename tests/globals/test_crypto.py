"""crypto.hash/hmac/random (lua-globals §3.11)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime

ALGS = ["sha224", "sha256", "sha384", "sha512", "sha3-224", "sha3-256", "sha3-384", "sha3-512"]


@pytest.mark.parametrize("alg", ALGS)
def test_hash_hex(lua: Callable[..., Any], alg: str) -> None:
    expected = hashlib.new(alg.replace("-", "_"), b"abc").hexdigest()
    assert lua("return crypto.hash('abc', ...)", alg.upper().encode()) == expected


def test_hash_defaults_to_sha256(lua: Callable[..., Any]) -> None:
    assert lua("return crypto.hash('abc')") == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize("alg", ["sha256", "sha3-512"])
def test_hmac_hex_and_raw(rt: Runtime, alg: str) -> None:
    mac = hmac.new(b"k\x00\xff", b"data", alg.replace("-", "_"))
    hexed, raw = rt.execute('return crypto.hmac("k\\0\\255", "data", ...), crypto.hmac("k\\0\\255", "data", ..., true)',
                            "=t", alg.encode())
    assert hexed == mac.hexdigest().encode()
    assert raw == mac.digest()


def test_random_is_alphanumeric_of_requested_length(lua: Callable[..., Any]) -> None:
    default, five = lua("return crypto.random(), crypto.random(5)")
    assert re.fullmatch(r"[A-Za-z0-9]{32}", default)
    assert re.fullmatch(r"[A-Za-z0-9]{5}", five)
    assert lua("return crypto.random() ~= crypto.random()") is True


def test_no_uuid(lua: Callable[..., Any]) -> None:
    assert lua("return crypto.uuid") is None


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("crypto.hash(5)", "crypto.hash: first argument must be a string"),
        ('crypto.hash("a", "md5")', "crypto.hash: unsupported algorithm: md5 (supported: sha224, sha256, sha384, "
         "sha512, sha3-224, sha3-256, sha3-384, sha3-512)"),
        ("crypto.hmac(nil, 'd')", "crypto.hmac: first argument must be a string (key)"),
        ("crypto.random(16.0)", "crypto.random: first argument must be a positive integer or nil"),
        ("crypto.random(0)", "crypto.random: length must be positive, got 0"),
        ("crypto.random(-3)", "crypto.random: length must be positive, got -3"),
    ],
)
def test_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message
