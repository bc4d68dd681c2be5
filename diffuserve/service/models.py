"""GET /models, GET /models/{modelId}: the registry as Scenario Model objects, each with its `inputs`."""

from __future__ import annotations

from typing import Any

from diffuserve.catalog.registry import ModelSpec, Registry
from diffuserve.errors import InvalidRequest
from diffuserve.service.custom_generation import model_inputs_wire
from diffuserve.service.query_schemas import ModelQuery
from diffuserve.service.wire import model_wire


class ModelService:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def list(self, query: ModelQuery | None = None) -> dict[str, Any]:
        """One page of the registry (only its models get their `inputs` worked out); the token of the next page is
        the id of its first model."""
        q = query or ModelQuery()
        found = [m for m in self.registry.list() if _matches(model_wire(m), q)]
        start = 0
        if q.paginationToken is not None:
            ids = [m.id for m in found]
            if q.paginationToken not in ids:
                raise InvalidRequest(
                    "paginationToken is not one this listing gave (or its model was removed); start again without it",
                    field="paginationToken",
                )
            start = ids.index(q.paginationToken)
        body: dict[str, Any] = {"models": [self._wire(m) for m in found[start : start + q.pageSize]]}
        if start + q.pageSize < len(found):
            body["nextPaginationToken"] = found[start + q.pageSize].id
        return body

    def get(self, model_id: str) -> dict[str, Any]:
        return {"model": self._wire(self.registry.get(model_id))}

    def _wire(self, model: ModelSpec) -> dict[str, Any]:
        return {**model_wire(model), "inputs": model_inputs_wire(self.registry, model)}


def _matches(model: dict[str, Any], query: ModelQuery) -> bool:
    if query.collectionId is not None:
        return False  # no collections here
    if model.get("privacy") != query.privacy:
        return False
    return query.status is None or model.get("status") == query.status
