"""The imagepipeline-style API: POST /{sd,sdxl}/text2image/v1 and GET …/status/{id} (ids resolve globally)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.service.imagepipeline_schemas import ImagePipelineCreate

router = APIRouter(tags=["imagepipeline"])


# Async: image URLs are fetched on the event loop; the checks and the storing run on threads (service).
@router.post("/sd/text2image/v1")
async def post_sd(
    body: Annotated[ImagePipelineCreate, Body()], services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    return await services.imagepipeline.submit("sd15", body, caller=caller)


@router.post("/sdxl/text2image/v1")
async def post_sdxl(
    body: Annotated[ImagePipelineCreate, Body()], services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    return await services.imagepipeline.submit("sdxl", body, caller=caller)


@router.get("/sd/text2image/v1/status/{task_id}")
@router.get("/sdxl/text2image/v1/status/{task_id}")
def get_status(task_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.imagepipeline.status(task_id, caller=caller)
