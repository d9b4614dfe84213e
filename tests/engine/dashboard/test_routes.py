"""The dashboard's routes on a real engine under API-key auth: redirects, the page, its assets,
assay's Cache-Control, and no data without a key."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from bridge.engine.dashboard import routes
from bridge.testing import EngineServer

NO_STORE = "no-cache, no-store, must-revalidate"


@pytest.fixture(scope="module")
def server() -> Iterator[EngineServer]:
    with EngineServer(poll_wait_s=0, auth_api_key=True) as engine:
        yield engine


@pytest.mark.parametrize("path", ["/", "/workflow"])
def test_root_and_bare_prefix_redirect_to_the_dashboard(server: EngineServer, path: str) -> None:
    r = requests.get(server.url + path, allow_redirects=False, timeout=10)
    assert r.status_code == 308
    assert r.headers["location"] == "/workflow/"


@pytest.mark.parametrize("path", ["/workflow/", "/workflow/schedules", "/workflow/workers",
                                  "/workflow/queues", "/workflow/settings",
                                  "/workflow/workflows/order%2F42"])
def test_every_page_path_serves_the_page_without_a_key(server: EngineServer, path: str) -> None:
    r = requests.get(server.url + path, timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == NO_STORE
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert '<script type="module" src="/workflow/app.js?v=' in r.text
    # every asset link carries the same version: the engine process's start time
    versions = set(re.findall(r"\?v=([^\"]*)\"", r.text))
    assert len(versions) == 1 and versions.pop().isdigit() and "__ASSETV__" not in r.text


@pytest.mark.parametrize("path, media", [
    ("/workflow/app.js", "text/javascript"), ("/workflow/lib.js", "text/javascript"),
    ("/workflow/components/detail.js", "text/javascript"), ("/workflow/style.css", "text/css"),
    ("/workflow/favicon.svg", "image/svg+xml"), ("/favicon.ico", "image/svg+xml"),
])
def test_assets_are_served_with_their_type_and_no_store(server: EngineServer, path: str,
                                                        media: str) -> None:
    r = requests.get(server.url + path, timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert r.headers["cache-control"] == NO_STORE
    assert r.content


@pytest.mark.parametrize("path", ["/workflow/nope.js", "/workflow/workflows/", "/workflow/../pyproject.toml",
                                  "/workflow/index.html"])
def test_unknown_dashboard_paths_are_404(server: EngineServer, path: str) -> None:
    assert requests.get(server.url + path, timeout=10).status_code == 404


def test_the_data_the_pages_read_still_needs_a_key(server: EngineServer) -> None:
    for path in ("/workflows", "/schedules", "/workers", "/queues", "/namespaces", "/events/stream"):
        assert requests.get(server.api_url + path, timeout=10).status_code == 401, path


def test_no_asset_loads_anything_from_another_origin() -> None:
    for name, body in routes.ASSETS.items():
        text = body.decode().replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "http://" not in text and "https://" not in text, name
    assert b"http" not in routes.PAGE
