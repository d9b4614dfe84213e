"""Bad input to the engine_server: generated requests from its own OpenAPI document, and targeted ones.

Whatever arrives, the engine answers: never a 5xx, every error a JSON ``{"error": ...}`` body,
and it keeps serving afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from bridge.testing import EngineServer

# The SSE stream never ends by design (tested for auth and content in tests/security).
SKIP = {"GET /api/v1/events/stream"}


@pytest.fixture(scope="module")
def engine_server() -> Iterator[EngineServer]:
    with EngineServer(poll_wait_s=0) as server:
        yield server


@pytest.fixture(scope="module")
def auth_engine() -> Iterator[tuple[EngineServer, str]]:
    with EngineServer(poll_wait_s=0, auth_api_key=True) as server:
        yield server, server.create_api_key()


def _fuzz(engine_server: EngineServer, headers: dict[str, str], examples: int,
          expect: int | None = None) -> tuple[int, list[str]]:
    """Run schemathesis-generated cases for every operation; return (requests, problems)."""
    schema = schemathesis.openapi.from_url(f"{engine_server.api_url}/openapi.json")
    problems: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.label in SKIP:
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            nonlocal sent
            sent += 1
            if op.path.endswith("/wait"):
                _short_wait(case)
            r = case.call(base_url=engine_server.url, headers=headers, timeout=20)
            where = f"{op.label} path={case.path_parameters} query={case.query}"
            if r.status_code >= 500:
                problems.append(f"{where}: {r.status_code} {r.text[:200]}")
            if expect is not None and r.status_code != expect and op.path not in OPEN:
                problems.append(f"{where}: {r.status_code}, expected {expect}")
            if r.status_code >= 400:
                try:
                    body = r.json()
                except ValueError:
                    body = None
                if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
                    problems.append(f"{where}: {r.status_code} error body not JSON: {r.text[:200]}")

        check()
    return sent, problems


def _short_wait(case: Any) -> None:
    """Hold a ``/wait`` for one second at most: the fuzzer may have started a workflow under
    the id it asks for, which nothing runs, and the default hold (30 s) outlasts the call's."""
    query = dict(case.query or {})
    try:
        long_hold = float(query.get("timeout", "30")) > 1
    except (TypeError, ValueError):
        long_hold = False  # a bad value is answered at once, and is worth sending
    if long_hold:
        query["timeout"] = "1"
        case.query = query


OPEN = {"/api/v1/health", "/api/v1/version", "/api/v1/openapi.json", "/api/v1/docs"}


def test_schemathesis_finds_no_5xx_and_only_json_errors(engine_server: EngineServer, soak: bool) -> None:
    sent, problems = _fuzz(engine_server, {}, examples=300 if soak else 15)
    print(f"\nschemathesis, no auth: {sent} requests")
    assert problems == [], problems[:20]
    assert requests.get(f"{engine_server.api_url}/health", timeout=5).status_code == 200


def test_schemathesis_with_a_valid_api_key(auth_engine: tuple[EngineServer, str],
                                           soak: bool) -> None:
    engine_server, key = auth_engine
    sent, problems = _fuzz(engine_server, {"Authorization": f"Bearer {key}"},
                           examples=100 if soak else 5)
    print(f"\nschemathesis, valid key: {sent} requests")
    assert problems == [], problems[:20]


def test_schemathesis_without_a_key_is_always_401(auth_engine: tuple[EngineServer, str],
                                                  soak: bool) -> None:
    engine_server, _ = auth_engine
    sent, problems = _fuzz(engine_server, {}, examples=20 if soak else 3, expect=401)
    print(f"\nschemathesis, no key on an auth engine_server: {sent} requests")
    assert problems == [], problems[:20]


# -- targeted ----------------------------------------------------------------------------------

def _post(engine_server: EngineServer, path: str, data: bytes | str, **kw: Any) -> requests.Response:
    return requests.post(f"{engine_server.api_url}{path}", data=data, timeout=30,
                         headers={"Content-Type": "application/json"}, **kw)


def _start_body(wid: str, input_json: str = "null") -> str:
    return f'{{"workflow_type": "T", "workflow_id": "{wid}", "input": {input_json}}}'


@pytest.mark.parametrize("label, body, status", [
    ("over the size limit", b"{" + b" " * 3_000_000 + b"}", 413),
    ("deep array", "[" * 200_000 + "]" * 200_000, 400),
    ("deep input", _start_body("deep", "[" * 100_000 + "]" * 100_000), 400),
    ("invalid UTF-8", b'{"workflow_type": "T\xff\xfe", "workflow_id": "u"}', 400),
    ("lone surrogate", _start_body("\\ud800"), 400),
    ("5000-digit integer", _start_body("bigint", "9" * 5000), 400),
    ("NaN", _start_body("nan", "NaN"), 400),
    ("float overflow", _start_body("inf", "1e999"), 400),
    ("wrong shape", '{"workflow_type": 5}', 422),
    ("not JSON", "{nope", 400),
])
def test_bad_start_bodies_get_a_json_4xx(engine_server: EngineServer, label: str, body: bytes | str,
                                         status: int) -> None:
    r = _post(engine_server, "/workflows", body)
    assert r.status_code == status, (label, r.text[:300])
    assert isinstance(r.json()["error"], str)


def test_a_chunked_body_over_the_limit_is_413(engine_server: EngineServer) -> None:
    r = _post(engine_server, "/workflows", iter([b"{" + b" " * 1_000_000] * 3 + [b"}"]))  # type: ignore[arg-type]
    assert r.status_code == 413 and "error" in r.json()


def test_nesting_just_under_the_parser_limit_is_stored_or_refused_cleanly(
        engine_server: EngineServer) -> None:
    for depth in (200, 500, 900, 990):
        r = _post(engine_server, "/workflows", _start_body(f"nest-{depth}", "[" * depth + "]" * depth))
        assert r.status_code in (201, 400), (depth, r.text[:200])
        if r.status_code == 201:
            got = requests.get(f"{engine_server.api_url}/workflows/nest-{depth}", timeout=10).json()
            assert json.loads(got["input"]) == json.loads("[" * depth + "]" * depth)


def test_huge_integers_within_json_limits_round_trip(engine_server: EngineServer) -> None:
    big = str(10**400)
    r = _post(engine_server, "/workflows", _start_body("big-ok", f'{{"n": {big}, "m": -{big}}}'))
    assert r.status_code == 201, r.text
    got = requests.get(f"{engine_server.api_url}/workflows/big-ok", timeout=10).json()
    assert json.loads(got["input"]) == {"n": 10**400, "m": -(10**400)}
    for path in (f"/activities/{big}", "/activities/99999999999999999999"):
        r = requests.get(f"{engine_server.api_url}{path}", timeout=10)
        assert r.status_code == 400 and "error" in r.json()
    r = requests.get(f"{engine_server.api_url}/workflows", params={"limit": big}, timeout=10)
    assert r.status_code == 400 and "error" in r.json()


def test_unknown_command_type_is_400_naming_it(engine_server: EngineServer) -> None:
    assert _post(engine_server, "/workflows", _start_body("cmd-target")).status_code == 201
    r = _post(engine_server, "/workflow-tasks/cmd-target/commands",
              json.dumps({"worker_id": "w", "commands": [{"type": "DropAllTables"}]}))
    assert r.status_code == 400 and "DropAllTables" in r.json()["error"]


@pytest.mark.parametrize("wid", ["ü-✓ 🎉", "x?y#z&w=1", "a%2Fb", "dots..", "nul\x00byte",
                                 "' OR 1=1 --", "x" * 2000])
def test_unusual_ids_round_trip(engine_server: EngineServer, wid: str) -> None:
    r = requests.post(f"{engine_server.api_url}/workflows", timeout=10,
                      json={"workflow_type": "T", "workflow_id": wid})
    assert r.status_code == 201, r.text
    got = requests.get(f"{engine_server.api_url}/workflows/{quote(wid, safe='')}", timeout=10)
    assert got.status_code == 200 and got.json()["id"] == wid
    sig = requests.post(f"{engine_server.api_url}/workflows/{quote(wid, safe='')}/signal/"
                        f"{quote('sïg ✓', safe='')}", json={"v": wid}, timeout=10)
    assert sig.status_code == 200, sig.text


def test_an_id_with_a_slash_is_refused_or_addressable(engine_server: EngineServer) -> None:
    """A workflow id with ``/`` can be started, but a path segment cannot carry it (see
    docs/security.md): the engine answers a clean JSON 404, never a 5xx or another workflow."""
    r = requests.post(f"{engine_server.api_url}/workflows", timeout=10,
                      json={"workflow_type": "T", "workflow_id": "team/a"})
    assert r.status_code == 201
    got = requests.get(f"{engine_server.api_url}/workflows/team%2Fa", timeout=10)
    assert got.status_code in (200, 404) and isinstance(got.json(), dict)
    if got.status_code == 200:
        assert got.json()["id"] == "team/a"
    listed = requests.get(f"{engine_server.api_url}/workflows", timeout=10).json()
    assert "team/a" in [w["id"] for w in listed]
