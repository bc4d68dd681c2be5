"""The built-in web page: `/` and its static files under `/web/{name}`.

The page itself needs no credentials: it is plain static files, and every call it makes goes through the
public REST API under /v1 with the key and secret the user types in (or none, in open mode from loopback).
The files live in `diffuserve/web/` (package data, one flat folder).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from diffuserve.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
INDEX = "index.html"

# Only these kinds of files are served; anything else in the folder stays private.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# Small files that change with the package: let the browser revalidate (ETag) rather than keep stale copies.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

router = APIRouter(tags=["web"], include_in_schema=False)


def _file(name: str) -> FileResponse:
    path = (WEB_DIR / name).resolve()
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or path.parent != WEB_DIR or not path.is_file():
        raise NotFound(f"no such file: /web/{name}")
    return FileResponse(path, media_type=media_type, headers=HEADERS)


@router.api_route("/", methods=["GET", "HEAD"])
def index() -> FileResponse:
    """The page; its script and style are under /web/."""
    return _file(INDEX)


@router.api_route("/web/{name}", methods=["GET", "HEAD"])
def static_file(name: str) -> FileResponse:
    return _file(name)
