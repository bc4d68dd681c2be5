"""The one place where errors become HTTP responses: {"reason", "message"} bodies, never a 500 for bad input.

InvalidRequest -> 400   Unauthorized -> 401   NotFound -> 404   Conflict, GenerationCanceled -> 409
RateLimited -> 429 with Retry-After (whole seconds, rounded up)
ModelLoadError, ConfigError -> 500 (the server's files or settings are wrong, not the request)
Unavailable, and a database that cannot be reached -> 503 with Retry-After (nothing was lost; retry)
FastAPI's RequestValidationError (bad JSON, wrong types) -> 400 naming the field
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from diffuserve.errors import (
    ConfigError,
    Conflict,
    DiffuserveError,
    GenerationCanceled,
    InvalidRequest,
    ModelLoadError,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[DiffuserveError], int], ...] = (
    (InvalidRequest, 400),
    (Unauthorized, 401),
    (NotFound, 404),
    (Conflict, 409),
    (GenerationCanceled, 409),
    (RateLimited, 429),
    (ModelLoadError, 500),
    (ConfigError, 500),
    (Unavailable, 503),
)
RETRY_AFTER_S = 5


def error_body(reason: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": reason, "message": message}
    if field:
        body["field"] = field
    return body


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DiffuserveError)
    status = next((code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": 'Basic realm="diffuserve"'} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    if status >= 500:
        logger.error("request failed path=%s reason=%s message=%s", request.url.path, exc.reason, exc.message)
    return JSONResponse(
        error_body(exc.reason, exc.message, getattr(exc, "field", None)), status_code=status, headers=headers
    )


def _database(request: Request, exc: Exception) -> JSONResponse:
    """The database went away (restart, failover, network): the request did nothing; the client retries."""
    logger.warning("database unavailable path=%s error=%s", request.url.path, str(exc).splitlines()[0])
    return _domain(
        request, Unavailable("the database cannot be reached right now; retry", reason="database_unavailable")
    )


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    field = _location(first.get("loc", ("body",)))
    if first.get("type") == "json_invalid":
        field, message = "body", "the body is not valid JSON"
    elif first.get("type") in ("dict_type", "model_attributes_type"):
        message = f"{field} must be a JSON object"
    else:
        message = f"{field}: {first.get('msg', 'invalid value')}"
    return JSONResponse(error_body("invalid_request", message, field), status_code=400)


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    reason = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "error")
    return JSONResponse(
        error_body(reason, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DiffuserveError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(InterfaceError, _database)
