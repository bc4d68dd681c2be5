"""GET /models, GET /models/{modelId}: the registry as Scenario Model objects, each with its `inputs`."""

from __future__ import annotations

from typing import Any

from diffuserve.catalog.registry import ModelSpec, Registry
from diffuserve.service.custom_generation import model_inputs_wire
from diffuserve.service.wire import model_wire


class ModelService:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def list(self) -> dict[str, Any]:
        return {"models": [self._wire(m) for m in self.registry.list()]}

    def get(self, model_id: str) -> dict[str, Any]:
        return {"model": self._wire(self.registry.get(model_id))}

    def _wire(self, model: ModelSpec) -> dict[str, Any]:
        return {**model_wire(model), "inputs": model_inputs_wire(self.registry, model)}
