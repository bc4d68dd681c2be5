"""The one place where errors become HTTP responses: {"reason", "message"} bodies, never a 500 for bad input.

InvalidRequest -> 400   Unauthorized -> 401   Forbidden -> 403   NotFound -> 404   Conflict, GenerationCanceled -> 409
RateLimited -> 429 with Retry-After (whole seconds, rounded up)
ModelLoadError, ConfigError -> 500 (the server's files or settings are wrong, not the request)
Unavailable, and a database that cannot be reached -> 503 with Retry-After (nothing was lost; retry)
FastAPI's RequestValidationError (bad JSON, wrong types) -> 400 naming the field
"""

from __future__ import annotations

import logging
import math
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
    Forbidden,
    GenerationCanceled,
    InvalidRequest,
    ModelLoadError,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from diffuserve.service.wire_types import describe

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[DiffuserveError], int], ...] = (
    (InvalidRequest, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (RateLimited, 429),
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
    if status in (429, 503):
        wait = getattr(exc, "retry_after_s", None) or RETRY_AFTER_S
        headers = {"Retry-After": str(max(1, math.ceil(wait)))}
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


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    """A body or parameter FastAPI could not read, worded as the service words it (wire_types.describe)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    error = (
        describe(errors[0], skip=("body", "query", "path", "header"))
        if errors
        else InvalidRequest("invalid request", field="body")
    )
    return JSONResponse(error_body(error.reason, error.message, error.field), status_code=400)


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
