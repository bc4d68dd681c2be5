"""POST /v1/generate/{mode}: the six generation endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from diffuserve.api.deps import AuthorDep, ServicesDep
from diffuserve.api.schemas import BODY_BY_MODE, body_schema
from diffuserve.catalog.types import Mode
from diffuserve.service.coerce import query_flag

router = APIRouter(prefix="/v1/generate", tags=["generate"])

DRY_RUN_DOC = "true: answer HTTP 269 with {creativeUnitsCost} and queue nothing"
ORIGINAL_DOC = "Accepted; every URL already serves the original file"


def _endpoint(mode: Mode) -> Callable[..., JSONResponse]:
    def generate(
        body: Annotated[dict[str, Any], Body()],
        services: ServicesDep,
        author: AuthorDep,
        dryRun: Annotated[str | None, Query(description=DRY_RUN_DOC)] = None,
        originalAssets: Annotated[str | None, Query(description=ORIGINAL_DOC)] = None,
    ) -> JSONResponse:
        status, content = services.inference.submit(
            mode,
            body,
            dry_run=query_flag(dryRun),
            original_assets=query_flag(originalAssets),
            author_id=author,
        )
        return JSONResponse(content, status_code=status)

    generate.__name__ = f"post_{mode.capability}_inferences"
    return generate


for _mode in Mode:
    router.add_api_route(
        f"/{_mode.value}",
        _endpoint(_mode),
        methods=["POST"],
        summary=f"Generate images: {_mode.value}",
        operation_id=f"post_{_mode.capability}_inferences",
        openapi_extra=body_schema(BODY_BY_MODE[_mode]),
        responses={269: {"description": "Dry run: {creativeUnitsCost}"}},
    )
