"""The response bodies as pydantic models, for the OpenAPI document: Scenario's Job, Asset and Model objects
(spec §4), the generate answers, and the error body. The service builds the dicts (service/wire.py); these say
what they hold. Extra keys are allowed, as Scenario adds fields over time."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from diffuserve.storage.records import JobStatus


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(_Out):
    """Every error: a stable machine-readable `reason`, a sentence for people, and the field it concerns."""

    reason: str = Field(description="e.g. invalid_request, missing_field, not_found, rate_limited")
    message: str
    field: str | None = Field(default=None, description="The request field at fault (`concepts[0].scale`)")


class FieldWarning(_Out):
    """A request field that was not understood and was ignored (strict mode refuses it instead)."""

    field: str
    message: str
    closest: str | None = Field(default=None, description="The known field it most likely meant")


class StatusChange(_Out):
    status: JobStatus
    date: str


class JobMetadata(_Out):
    input: dict[str, Any] = Field(description="The stored request, defaults filled in")
    output: dict[str, Any] = Field(description="Outputs so far; intermediateImages while running")
    assetIds: list[str]


class JobPublic(_Out):
    jobId: str
    jobType: str = Field(description="inference for generations")
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    metadata: JobMetadata
    statusHistory: list[StatusChange]
    createdAt: str
    updatedAt: str
    authorId: str
    ownerId: str


class AssetProperties(_Out):
    size: int
    width: int | None = None
    height: int | None = None


class AssetPublic(_Out):
    id: str
    url: str = Field(description="Signed; readable without credentials until it expires")
    mimeType: str
    kind: Literal["image"]
    metadata: dict[str, Any]
    properties: AssetProperties
    source: str
    status: str
    privacy: str
    tags: list[str]
    collectionIds: list[str]
    editCapabilities: list[str]
    ownerId: str
    authorId: str
    createdAt: str
    updatedAt: str
    outputIndex: int | None = None


class ModelInputPublic(_Out):
    name: str
    type: str
    label: str | None = None
    description: str | None = None
    required: dict[str, Any] | None = Field(default=None, description="{always: true} or {ifDefined: {...}}")


class ModelPublic(_Out):
    id: str
    name: str
    type: str = Field(description="sd-1_5, sd-xl, their -lora types, ...")
    status: str
    capabilities: list[str] = Field(description="The generate modes it runs (txt2img, img2img_ip_adapter, ...)")
    compliantModelIds: list[str] | None = Field(default=None, description="LoRAs: the bases they run on")
    inputs: list[ModelInputPublic] | None = Field(
        default=None, description="What POST /v1/generate/custom/{modelId} takes (single model reads only)"
    )


class GenerateResponse(_Out):
    job: JobPublic
    inference: dict[str, Any] = Field(description="The stored request, input images as signed URLs")
    creativeUnitsCost: float
    warnings: list[FieldWarning] | None = None


class DryRunResponse(_Out):
    creativeUnitsCost: float
    warnings: list[FieldWarning] | None = None


class JobResponse(_Out):
    job: JobPublic


class JobList(_Out):
    jobs: list[JobPublic]
    nextPaginationToken: str | None = None


class AssetResponse(_Out):
    asset: AssetPublic


class AssetList(_Out):
    assets: list[AssetPublic]
    nextPaginationToken: str | None = None


class ModelResponse(_Out):
    model: ModelPublic


class ModelList(_Out):
    models: list[ModelPublic]
    nextPaginationToken: str | None = None


def documented(model: type[BaseModel], description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that returns a plain dict: the 200 body documented, not re-validated."""
    return {200: {"model": model, "description": description}}
