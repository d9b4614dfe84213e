"""Routes of the dashboard: ``/`` and ``/workflow`` redirect to ``/workflow/``, which serves the
page; ``/workflow/<asset>`` the static files; ``/favicon.ico`` the icon.

Like assay's (engine-api §1.8): every response says ``Cache-Control: no-cache, no-store,
must-revalidate``, the page's ``__ASSETV__`` marks become the process start time (so a new
version is never mixed with cached files), and the favicons are SVG. The routes are open under
auth: the files carry no data, and every data call the page makes goes through the
authenticated API. A Content-Security-Policy allows only this origin, so the page runs no
script but its own.
"""

from __future__ import annotations

import time
from importlib import resources
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from importlib.abc import Traversable

PREFIX = "/workflow"
INDEX = "index.html"

#: The page's paths below ``/workflow/`` (each serves the same HTML; the script routes).
PAGES = frozenset({"", "schedules", "workers", "queues", "settings"})
#: ``/workflow/workflows/<id>``: one workflow.
DETAIL_PREFIX = "workflows/"

HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            out.update(_walk(entry, name + "/"))
        elif any(name.endswith(ext) for ext in MEDIA_TYPES):
            out[name] = entry.read_bytes()
    return out


def load_assets() -> dict[str, bytes]:
    """Every static file by its path below ``static/`` (read once; they are small)."""
    return _walk(resources.files("bridge.engine.dashboard").joinpath("static"))


ASSETS = load_assets()
#: Replaces ``__ASSETV__`` in the page: the start of this process, in epoch seconds.
ASSET_VERSION = str(int(time.time()))
PAGE = ASSETS.pop(INDEX).replace(b"__ASSETV__", ASSET_VERSION.encode())


def _file(name: str, body: bytes) -> Response:
    suffix = name[name.rfind("."):]
    return Response(body, media_type=MEDIA_TYPES[suffix], headers=HEADERS)


def _not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain", headers=HEADERS)


async def to_dashboard(request: Request) -> Response:
    """``/`` and ``/workflow`` -> 308 ``/workflow/``."""
    return RedirectResponse(PREFIX + "/", status_code=308, headers=HEADERS)


async def dashboard(request: Request) -> Response:
    """``/workflow/<path>``: a static asset, or the page for one of the dashboard's paths."""
    path: str = request.path_params["path"]
    body = ASSETS.get(path)
    if body is not None:
        return _file(path, body)
    if path in PAGES or (path.startswith(DETAIL_PREFIX) and len(path) > len(DETAIL_PREFIX)):
        return _file(INDEX, PAGE)
    return _not_found()


async def favicon(request: Request) -> Response:
    """``/favicon.ico``: the SVG icon."""
    return _file("favicon.svg", ASSETS["favicon.svg"])


DASHBOARD_ROUTES: list[Route] = [
    Route("/", to_dashboard, methods=["GET"]),
    Route(PREFIX, to_dashboard, methods=["GET"]),
    Route(PREFIX + "/{path:path}", dashboard, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
]
