"""GET /v1/models, GET /v1/models/{modelId}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from diffuserve.api.deps import AuthorDep, ServicesDep

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("")
def list_models(services: ServicesDep, _author: AuthorDep) -> dict[str, Any]:
    return services.models.list()


@router.get("/{modelId}")
def get_model(modelId: str, services: ServicesDep, _author: AuthorDep) -> dict[str, Any]:
    return services.models.get(modelId)
