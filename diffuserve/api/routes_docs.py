"""Interactive API docs that work offline: Swagger UI at /docs and ReDoc at /redoc, their scripts and styles
served from an installed package (fastapi-offline vendors swagger-ui-dist and redoc) instead of a CDN.

FastAPI's own /docs and /redoc load their JavaScript from cdn.jsdelivr.net, so without internet they are blank;
create_app turns those off and includes this router instead.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from diffuserve.errors import NotFound

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/assets"
FAVICON_URL = "/web/favicon.svg"
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

# The only files served from the package folder, with their types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}
# The files change only with the pinned package: let browsers keep them for a day.
HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    """The prefix the app is mounted under (behind a proxy), so the pages' links keep working there."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=root + OPENAPI_URL,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=root + FAVICON_URL,
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
    )


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_redoc_html(
        openapi_url=root + OPENAPI_URL,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=root + FAVICON_URL,
        with_google_fonts=False,
    )


@router.get(ASSETS_URL + "/{name}")
def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None or not (ASSETS_DIR / name).is_file():
        raise NotFound(f"no such file: {ASSETS_URL}/{name}")
    return FileResponse(ASSETS_DIR / name, media_type=media_type, headers=HEADERS)
