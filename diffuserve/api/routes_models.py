"""GET /v1/models, GET /v1/models/{modelId}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.service.response_schemas import ModelList, ModelResponse, documented

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=None, responses=documented(ModelList))
def list_models(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.models.list()


@router.get("/{modelId}", response_model=None, responses=documented(ModelResponse))
def get_model(modelId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.models.get(modelId)
