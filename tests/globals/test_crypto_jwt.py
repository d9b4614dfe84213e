"""crypto.jwt_sign / crypto.jwt_decode (lua-globals §3.11) with real RSA keys made here."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bridge.runtime.runtime import Runtime


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: Any, *, traditional: bool = False) -> bytes:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    data: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    return data


def _segment(token: str, i: int) -> bytes:
    part = token.split(".")[i]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize("alg", ["RS256", "rs384", "RS512"])
def test_sign_verifies_with_the_public_key(rt: Runtime, rsa_key: rsa.RSAPrivateKey, alg: str) -> None:
    token = rt.execute("local pem, alg = ... return crypto.jwt_sign({sub = 'u1', n = 5, f = 1.5}, pem, alg)",
                       "=t", _pem(rsa_key), alg.encode()).decode()
    claims = jwt.decode(token, rsa_key.public_key(), algorithms=[alg.upper()])
    assert claims == {"sub": "u1", "n": 5, "f": 1.5}


def test_default_is_rs256_and_header_bytes_are_assays(rt: Runtime, rsa_key: rsa.RSAPrivateKey) -> None:
    token = rt.execute("return crypto.jwt_sign({b = 1, a = {}}, ...)", "=t", _pem(rsa_key, traditional=True)).decode()
    assert _segment(token, 0) == b'{"typ":"JWT","alg":"RS256"}'
    assert _segment(token, 1) == b'{"a":[],"b":1}'
    assert token.count(".") == 2 and "=" not in token


def test_kid_goes_into_the_header(rt: Runtime, rsa_key: rsa.RSAPrivateKey) -> None:
    token = rt.execute("return crypto.jwt_sign({}, ..., nil, {kid = 'key-1'})", "=t", _pem(rsa_key)).decode()
    assert _segment(token, 0) == b'{"typ":"JWT","alg":"RS256","kid":"key-1"}'
    assert jwt.get_unverified_header(token)["kid"] == "key-1"


def test_decode_reads_header_and_claims_without_verifying(lua: Callable[..., Any]) -> None:
    token = jwt.encode({"sub": "x", "n": 2, "nested": {"k": [1, 2]}, "gone": None}, "s" * 32, algorithm="HS256")
    got = lua("local d = crypto.jwt_decode(...) return d.header.alg, d.header.typ, d.claims.sub, "
              "math.type(d.claims.n), d.claims.nested.k[2], d.claims.gone == nil", token.encode())
    assert got == ("HS256", "JWT", "x", "integer", 2, True)


def test_decode_round_trips_a_signed_token(rt: Runtime, rsa_key: rsa.RSAPrivateKey) -> None:
    got = rt.execute("local t = crypto.jwt_sign({iss = 'me'}, ..., 'RS512', {kid = 'k'}) "
                     "local d = crypto.jwt_decode(t) return d.header.alg, d.header.kid, d.claims.iss",
                     "=t", _pem(rsa_key))
    assert got == (b"RS512", b"k", b"me")


def test_bad_keys(lua_error: Callable[..., str], rsa_key: rsa.RSAPrivateKey) -> None:
    ec_pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    public_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    for pem in (b"not a key", ec_pem, public_pem):
        assert lua_error("crypto.jwt_sign({}, ...)", pem) == "crypto.jwt_sign: invalid PEM key: InvalidKeyFormat"


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ('crypto.jwt_sign({}, "k", "HS256")', "crypto.jwt_sign: unsupported algorithm: HS256"),
        ('crypto.jwt_sign({}, "k", "none")', "crypto.jwt_sign: unsupported algorithm: none"),
        ('crypto.jwt_sign("x", "k")', "crypto.jwt_sign: first argument must be a table (claims)"),
        ("crypto.jwt_sign({}, 5)", "crypto.jwt_sign: second argument must be a string (PEM key)"),
        ('crypto.jwt_decode("a.b")',
         "crypto.jwt_decode: token must have three '.'-separated segments (header.payload.signature)"),
        ('crypto.jwt_decode("a.b.c.d")',
         "crypto.jwt_decode: token must have three '.'-separated segments (header.payload.signature)"),
        ('crypto.jwt_decode("e30=.e30.x")', "crypto.jwt_decode: header: invalid base64url: invalid symbol at 3"),
        ('crypto.jwt_decode("e30.e+0.x")', "crypto.jwt_decode: payload: invalid base64url: invalid symbol at 1"),
        ('crypto.jwt_decode("e30.eyJ.x")', "crypto.jwt_decode: payload: invalid base64url: non-zero trailing bits at 2"),
        ('crypto.jwt_decode("e30.YWJj.x")',
         "crypto.jwt_decode: payload: invalid JSON: expected value at line 1 column 1"),
    ],
)
def test_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message


def test_decode_payload_json_rules(lua: Callable[..., Any]) -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"i": 1, "f": 1.0}).encode()).rstrip(b"=")
    got = lua("local d = crypto.jwt_decode(...) return math.type(d.claims.i), math.type(d.claims.f)",
              b"e30." + payload + b".sig")
    assert got == ("integer", "float")
