"""The OpenAPI document as clients and fuzzers read it: every status the API answers is documented with the error
body, no 422 (bad input is a 400 here), HTTP Basic as the security scheme, and no reference left dangling."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from diffuserve.service.response_schemas import ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
# Status -> what it means; 409 and 413 only where a request changes something.
ERRORS = {
    400: "Bad input: `reason`, `message` and the `field` at fault",
    401: "Missing or wrong credentials (HTTP Basic: key id and secret)",
    403: "The key's role does not allow this (read-only keys read; only admins manage keys)",
    404: "Not found (or not visible to this key's project)",
    409: "Conflicts with the resource's state (e.g. cancelling a finished job)",
    413: "The body is larger than the server accepts",
    429: "Too many requests or failed sign-ins for now; see Retry-After",
    503: "The queue is full or the database is away for a moment; see Retry-After",
}
PUBLIC_PATHS = ("/healthz", "/readyz", "/metrics")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    wanted = [400, 401, 404, 429, 503]  # 404 also for ids named in a body (modelId, asset ids)
    if method in ("post", "put", "patch", "delete"):
        wanted += [403, 409, 413]
    if path.startswith(PUBLIC_PATHS):
        wanted = [503]
    if "/content" in path or "/previews/" in path:
        wanted = [404]
    return wanted


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> Any:
    """Schemas given by hand (openapi_extra) keep their `$defs`: move them to components and point there."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            schemas.setdefault(name, _hoist_defs(definition, schemas))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, schemas)
    return node


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = {
        "basicAuth": {"type": "http", "scheme": "basic", "description": "Key id as user name, secret as password"}
    }
    document["security"] = [{"basicAuth": []}]
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("422", None)
            for status in _statuses(path, method, operation):
                responses.setdefault(
                    str(status), {"description": ERRORS[status], "content": {"application/json": {"schema": ERROR_REF}}}
                )
            if path.startswith(PUBLIC_PATHS) or "/content" in path or "/previews/" in path:
                operation["security"] = []
    _hoist_defs(document, schemas)
    return document


def install_openapi(app: FastAPI) -> None:
    """Replace FastAPI's generator with ours (built once, on first request of /openapi.json)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented way to customise the document
