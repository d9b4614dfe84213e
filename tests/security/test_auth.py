"""API-key auth on a real auth_engine: every route of the table, keys at rest, tokens in logs, SSE."""

from __future__ import annotations

import hashlib
import inspect
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.engine.api import auth
from bridge.engine.api.routes import ROUTES
from bridge.engine.ops import api_keys
from bridge.testing import EngineServer


@pytest.fixture(scope="module")
def auth_engine() -> Iterator[tuple[EngineServer, str]]:
    with EngineServer(poll_wait_s=0, auth_api_key=True,
                      extra_args=["--access-log", "--log-level", "debug"]) as server:
        yield server, server.create_api_key()


def _routes() -> list[tuple[str, str]]:
    out = []
    for route in ROUTES:
        path = route.path.replace("{id}", "1").replace("{name}", "n")
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, path))
    return out


@pytest.mark.parametrize("method, path", _routes())
def test_every_route_but_the_open_ones_needs_a_key(auth_engine: tuple[EngineServer, str], method: str,
                                                   path: str) -> None:
    server, key = auth_engine
    url = server.url + path
    open_route = path in auth.OPEN_PATHS
    assert auth.needs_auth(path) is not open_route
    for headers in ({}, {"Authorization": "Bearer assay_" + "0" * 64},
                    {"Authorization": "Bearer " + key[:-1] + "x"}, {"Authorization": key},
                    {"Authorization": "Basic " + key}):
        r = requests.request(method, url, headers=headers, json={}, timeout=10)
        if open_route:
            assert r.status_code != 401, (method, path)
        else:
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.json()["error"] in (auth.MISSING_MESSAGE, auth.INVALID_MESSAGE)
    if path.endswith("/events/stream"):
        return  # an endless stream; see the SSE test
    r = requests.request(method, url, headers={"Authorization": f"Bearer {key}"}, json={},
                         timeout=10)
    assert r.status_code != 401, (method, path)


def test_sse_stream_needs_a_key_and_streams_with_one(auth_engine: tuple[EngineServer, str]) -> None:
    server, key = auth_engine
    assert requests.get(f"{server.api_url}/events/stream", timeout=10).status_code == 401
    with requests.get(f"{server.api_url}/events/stream", stream=True, timeout=10,
                      headers={"Authorization": f"Bearer {key}"}) as r:
        assert r.status_code == 200
        assert next(r.iter_lines()) == b": connected"


def test_keys_are_stored_hashed_and_compared_in_constant_time(
        auth_engine: tuple[EngineServer, str]) -> None:
    server, key = auth_engine
    db = Path(server.backend_url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = [tuple(r) for r in conn.execute("SELECT * FROM api_keys")]
    finally:
        conn.close()
    flat = " ".join(str(v) for row in rows for v in row)
    assert key not in flat and key[len("assay_"):] not in flat
    assert hashlib.sha256(key.encode()).hexdigest() in flat
    # the comparison of the digest with the stored hashes is hmac.compare_digest
    assert "hmac.compare_digest" in inspect.getsource(api_keys.verify_api_key)


def test_tokens_never_reach_the_log(auth_engine: tuple[EngineServer, str]) -> None:
    server, key = auth_engine
    wrong = "assay_" + "f" * 64
    for token in (key, wrong, "not-even-a-key-7c1e"):
        h = {"Authorization": f"Bearer {token}"}
        requests.get(f"{server.api_url}/workflows", headers=h, timeout=10)
        requests.post(f"{server.api_url}/workflows", headers=h, timeout=10,
                      json={"workflow_type": "T", "workflow_id": f"log-{token[-4:]}"})
    log = server.log_text()
    assert "GET /api/v1/workflows" in log  # the access log is on
    for secret in (key, key[len("assay_"):], wrong, "not-even-a-key-7c1e"):
        assert secret not in log
