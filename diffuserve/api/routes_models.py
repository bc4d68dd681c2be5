"""GET /v1/models, GET /v1/models/{modelId}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.service.query_schemas import ModelQuery
from diffuserve.service.response_schemas import ModelList, ModelResponse, documented

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=None, responses=documented(ModelList))
def list_models(query: Annotated[ModelQuery, Query()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.models.list(query)


@router.get("/{modelId}", response_model=None, responses=documented(ModelResponse))
def get_model(modelId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.models.get(modelId)
