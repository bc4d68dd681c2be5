"""POST /v1/generate/{mode}: the six generation endpoints; POST /v1/generate/custom/{modelId}: any of them by the
model's inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from diffuserve.api.deps import AuthorDep, ServicesDep
from diffuserve.api.schemas import BODY_BY_MODE, body_schema
from diffuserve.catalog.types import Mode
from diffuserve.service.coerce import query_flag
from diffuserve.service.custom_generation import dry_run_flag, submit_custom

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


CUSTOM_BODY = {
    "type": "object",
    "additionalProperties": True,
    "description": "The model's inputs by name (GET /v1/models/{modelId} lists them): an image means img2img, an "
    "image and a mask inpaint, ipAdapterImages the -ip-adapter variant; none of them txt2img.",
}


@router.post(
    "/custom/{modelId}",
    summary="Generate images with a model's inputs",
    operation_id="post_generate_custom",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": CUSTOM_BODY}}}},
    responses={269: {"description": "Dry run: {creativeUnitsCost}"}},
)
def generate_custom(
    modelId: str,
    body: Annotated[dict[str, Any], Body()],
    services: ServicesDep,
    author: AuthorDep,
    dryRun: Annotated[str | None, Query(description=DRY_RUN_DOC + ' ("api" too)')] = None,
    originalAssets: Annotated[str | None, Query(description=ORIGINAL_DOC)] = None,
) -> JSONResponse:
    status, content = submit_custom(
        services.inference,
        modelId,
        body,
        dry_run=dry_run_flag(dryRun),
        original_assets=query_flag(originalAssets),
        author_id=author,
    )
    return JSONResponse(content, status_code=status)
