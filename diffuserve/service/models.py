"""GET /models, GET /models/{modelId}: the registry as Scenario Model objects."""

from __future__ import annotations

from typing import Any

from diffuserve.catalog.registry import Registry
from diffuserve.service.wire import model_wire


class ModelService:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def list(self) -> dict[str, Any]:
        return {"models": [model_wire(m) for m in self.registry.list()]}

    def get(self, model_id: str) -> dict[str, Any]:
        return {"model": model_wire(self.registry.get(model_id))}
