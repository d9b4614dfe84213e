"""The service's own routes: health and version (engine-api §1.8), open under auth."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge._version import __version__

#: The assay engine version whose wire protocol this engine speaks.
ASSAY_COMPAT_VERSION = "0.11.2"


async def health(request: Request) -> Response:
    """GET /api/v1/health -> 200 ``{"status":"ok","service":"assay-workflow"}``; open under auth."""
    return JSONResponse({"status": "ok", "service": "assay-workflow"})


async def version(request: Request) -> Response:
    """GET /api/v1/version -> 200 ``{service, version, assay_compat}``; open under auth."""
    return JSONResponse(
        {"service": "assay-bridge", "version": __version__, "assay_compat": ASSAY_COMPAT_VERSION}
    )
