"""JWT/OIDC auth on a real engine process against a local issuer stand-in: an HTTP server the
test starts, serving the discovery document and a key set made with ``cryptography``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bridge.engine.api import auth, jwt_auth
from bridge.engine.api.routes import ROUTES
from bridge.testing import EngineServer
from tests.helpers import QuietHandler

AUDIENCE = "assay-api"


@dataclass
class Issuer:
    """What the stand-in serves, and how often its key set was asked for."""

    url: str = ""
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    jwks_fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_key(self, kid: str, kind: str = "rsa") -> None:
        self.keys[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                          if kind == "rsa" else ec.generate_private_key(ec.SECP256R1()))

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            alg = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) \
                else jwt.algorithms.ECAlgorithm
            jwk = json.loads(alg.to_jwk(key.public_key()))
            jwk["kid"] = kid
            out.append(jwk)
        return {"keys": out}

    def token(self, kid: str | None = "k1", *, exp_in: float = 300, iss: str | None = None,
              aud: str | None = AUDIENCE, key: Any = None) -> str:
        private = key or self.keys[kid or "k1"]
        alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
        claims: dict[str, Any] = {"sub": "someone", "iss": iss or self.url,
                                  "exp": int(time.time() + exp_in)}
        if aud is not None:
            claims["aud"] = aud
        headers = {"kid": kid} if kid else {}
        return jwt.encode(claims, private, algorithm=alg, headers=headers)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    state = Issuer()
    state.add_key("k1")
    state.add_key("ec1", "ec")

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": state.url, "jwks_uri": state.url + "/jwks"}
            elif self.path == "/jwks":
                with state.lock:
                    state.jwks_fetches += 1
                body = state.jwks()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def engine(issuer: Issuer) -> Iterator[EngineServer]:
    with EngineServer(poll_wait_s=0, auth_api_key=True,
                      extra_args=["--auth-issuer", issuer.url, "--auth-audience", AUDIENCE],
                      env={"ASSAY_BRIDGE_JWKS_REFETCH_SECS": "3600"}) as server:
        yield server


def get(engine: EngineServer, token: str | None, path: str = "/api/v1/workflows"
        ) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return requests.get(engine.url + path, headers=headers, timeout=30)


def test_valid_tokens_of_both_key_types_pass(engine: EngineServer, issuer: Issuer) -> None:
    assert get(engine, issuer.token("k1")).status_code == 200
    assert get(engine, issuer.token("ec1")).status_code == 200
    assert get(engine, issuer.token(None)).status_code == 200  # no kid: the first usable key


@pytest.mark.parametrize("case, expected", [
    ("expired", "JWT validation failed: ExpiredSignature"),
    ("wrong_audience", "JWT validation failed: InvalidAudience"),
    ("no_audience", "JWT validation failed: Missing required claim: aud"),
    ("wrong_issuer", "JWT validation failed: InvalidIssuer"),
    ("tampered", "JWT validation failed: InvalidSignature"),
    ("foreign_key", "JWT validation failed: InvalidSignature"),
    ("garbage", "Invalid JWT"),
    ("alg_none", "JWT validation failed: InvalidAlgorithm"),
])
def test_bad_tokens_get_assays_401_texts(engine: EngineServer, issuer: Issuer, case: str,
                                         expected: str) -> None:
    token = {
        "expired": lambda: issuer.token(exp_in=-120),  # past the 60 s leeway
        "wrong_audience": lambda: issuer.token(aud="someone-else"),
        "no_audience": lambda: issuer.token(aud=None),
        "wrong_issuer": lambda: issuer.token(iss="http://127.0.0.1:1/other"),
        "tampered": lambda: _tamper(issuer.token()),
        "foreign_key": lambda: issuer.token(
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "garbage": lambda: "not.a.jwt",
        "alg_none": lambda: jwt.encode({"iss": issuer.url, "aud": AUDIENCE,
                                        "exp": int(time.time()) + 60}, None, algorithm="none"),
    }[case]()
    r = get(engine, token)
    assert r.status_code == 401 and r.json() == {"error": expected}


def _tamper(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["sub"] = "admin"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return ".".join([head, forged, sig])


def test_unknown_kids_refetch_at_most_once_per_interval(engine: EngineServer,
                                                        issuer: Issuer) -> None:
    assert get(engine, issuer.token("k1")).status_code == 200  # the key set is loaded
    before = issuer.jwks_fetches
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for i in range(20):
        r = get(engine, issuer.token(f"unknown-{i}", key=stranger))
        assert r.status_code == 401
        assert r.json() == {"error": jwt_auth.KEY_NOT_FOUND}
    assert issuer.jwks_fetches - before <= 1


def test_a_rotated_key_is_picked_up(issuer: Issuer) -> None:
    with EngineServer(poll_wait_s=0, extra_args=["--auth-issuer", issuer.url],
                      env={"ASSAY_BRIDGE_JWKS_REFETCH_SECS": "3600"}) as server:
        assert get(server, issuer.token("k1")).status_code == 200
        issuer.add_key("k2")  # the issuer rotates: a token names a kid the engine has not seen
        try:
            assert get(server, issuer.token("k2")).status_code == 200
            r = get(server, None)
            assert r.status_code == 401 and r.json() == {"error": jwt_auth.MISSING_MESSAGE}
        finally:
            del issuer.keys["k2"]


def test_api_keys_work_beside_jwts(engine: EngineServer, issuer: Issuer) -> None:
    key = engine.create_api_key()
    assert get(engine, key).status_code == 200
    r = get(engine, "assay_" + "0" * 64)
    assert r.status_code == 401 and r.json() == {"error": auth.INVALID_MESSAGE}
    assert get(engine, issuer.token()).status_code == 200


def _routes() -> list[tuple[str, str]]:
    out = [("GET", "/metrics")]
    for route in ROUTES:
        path = route.path.replace("{id}", "1").replace("{name}", "n")
        out += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return out


def test_the_auth_walk_finds_no_open_route_but_the_public_ones(engine: EngineServer,
                                                               issuer: Issuer) -> None:
    expired = issuer.token(exp_in=-120)
    wrong = issuer.token(aud="nope")
    opened = []
    for method, path in _routes():
        for headers in ({}, {"Authorization": f"Bearer {expired}"},
                        {"Authorization": f"Bearer {wrong}"}, {"Authorization": expired}):
            r = requests.request(method, engine.url + path, headers=headers, json={},
                                 timeout=30)
            if r.status_code != 401:
                opened.append((method, path))
                break
    assert sorted(set(opened)) == sorted(
        ("GET", p) for p in auth.OPEN_PATHS), opened
