"""API-key auth over HTTP (engine_server-api §4, compat-policy: health stays open)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import requests

from bridge.testing import EngineServer
from tests.engine.http.api import Api
from tests.helpers import new_id


def test_auth_on_requires_a_valid_bearer_key_except_on_open_paths(
    engine_factory: Callable[..., EngineServer],
) -> None:
    server = engine_factory(auth_api_key=True, poll_wait_s=0)
    key = server.create_api_key(label="pytest")
    assert key.startswith("assay_")
    with Api(server) as anonymous, Api(server, token=key) as authed, \
            Api(server, token="assay_" + "0" * 64) as wrong:
        missing = anonymous.get("/workflows")
        assert missing.status_code == 401 and "error" in missing.json()
        assert wrong.get("/workflows").status_code == 401
        assert anonymous.get("/events/stream", stream=True).status_code == 401
        for open_path in ("/health", "/version", "/openapi.json", "/docs"):
            assert anonymous.get(open_path).status_code == 200, open_path
        assert authed.get("/workflows").status_code == 200
        assert authed.start(new_id())["status"] == "PENDING"
        raw = requests.get(server.api_url + "/workflows", timeout=5,
                           headers={"Authorization": key})  # no "Bearer "
        assert raw.status_code == 401
    listed = subprocess.run(
        [sys.executable, "-m", "bridge", "serve", "list-api-keys", "--backend", server.backend_url],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "pytest" in listed.stdout and key not in listed.stdout
    assert re.search(r"\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\t", listed.stdout), listed.stdout


def test_auth_off_accepts_requests_without_a_key(api: Api) -> None:
    assert api.get("/workflows").status_code == 200
