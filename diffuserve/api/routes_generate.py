"""POST /v1/generate/{mode}: the six generation endpoints; POST /v1/generate/custom/{modelId}: any of them by the
model's inputs."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.catalog.types import Mode
from diffuserve.service.custom_generation import submit_custom
from diffuserve.service.generate_schemas import BODY_BY_MODE
from diffuserve.service.response_schemas import DryRunResponse, GenerateResponse
from diffuserve.service.wire_types import DryRun, QueryFlag

router = APIRouter(prefix="/v1/generate", tags=["generate"])

DRY_RUN_DOC = "true: answer HTTP 269 with {creativeUnitsCost} and queue nothing"
ORIGINAL_DOC = "Accepted; every URL already serves the original file"


GENERATED: dict[int | str, dict[str, Any]] = {269: {"model": DryRunResponse, "description": "Dry run: the cost only"}}


def _endpoint(mode: Mode) -> Callable[..., JSONResponse]:
    body_model = BODY_BY_MODE[mode]

    def generate(
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
        services: ServicesDep,
        caller: CallerDep,
        dryRun: Annotated[QueryFlag, Query(description=DRY_RUN_DOC)] = False,
        originalAssets: Annotated[QueryFlag, Query(description=ORIGINAL_DOC)] = False,
    ) -> JSONResponse:
        status, content = services.inference.submit(
            mode,
            body,
            dry_run=dryRun,
            original_assets=originalAssets,
            caller=caller,
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
        response_model=GenerateResponse,
        responses=GENERATED,
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
    response_model=GenerateResponse,
    responses=GENERATED,
)
def generate_custom(
    modelId: str,
    body: Annotated[dict[str, Any], Body()],
    services: ServicesDep,
    caller: CallerDep,
    dryRun: Annotated[DryRun, Query(description=DRY_RUN_DOC + ' ("api" too)')] = False,
    originalAssets: Annotated[QueryFlag, Query(description=ORIGINAL_DOC)] = False,
) -> JSONResponse:
    status, content = submit_custom(
        services.inference,
        modelId,
        body,
        dry_run=dryRun,
        original_assets=originalAssets,
        caller=caller,
    )
    return JSONResponse(content, status_code=status)
