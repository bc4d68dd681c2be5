"""The tools' arguments as pydantic models, with Scenario's flattened field names, and their JSON Schemas.

The generate, post-asset and job-action tools take the REST body models themselves (service/generate_schemas,
service/request_schemas: unknown names become warnings, as over REST); the other tools refuse unknown names.
Model-dependent ranges and cross-field rules are advertised in the schema (`minimum`, `maximum`, `enum`) but
checked by the service layer, so a bad value gets exactly the REST API's error text. `json_schema.input_schema()`
turns a model into the clean schema the tool list shows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from diffuserve.service.generate_schemas import (
    Img2ImgCreate,
    Img2ImgIpAdapterCreate,
    InpaintCreate,
    InpaintIpAdapterCreate,
    Txt2ImgCreate,
    Txt2ImgIpAdapterCreate,
)
from diffuserve.service.request_schemas import AssetCreate, JobAction
from diffuserve.storage.records import JobStatus

# How long a generate tool waits for its job by default: below the 60 s request timeout of common clients.
DEFAULT_WAIT_S = 50.0
MAX_WAIT_S = 600.0
# Arguments that steer the MCP call itself; everything else is the REST body.
CALL_ARGUMENTS = frozenset({"dryRun", "originalAssets", "waitSeconds"})


def _bounds(minimum: float, maximum: float, **extra: Any) -> dict[str, Any]:
    return {"minimum": minimum, "maximum": maximum, **extra}


class ToolArguments(BaseModel):
    """Base of every tool's arguments: unknown names are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class CallOptions(BaseModel):
    """MCP-only options of the generate tools (`dryRun` and `originalAssets` are REST query parameters)."""

    dryRun: bool = Field(
        default=False,
        description="true: only validate the request and return {creativeUnitsCost}; no job, no assets, no GPU "
        "time. Use it to check arguments cheaply before a large request.",
    )
    originalAssets: bool = Field(
        default=False,
        description="Accepted for Scenario compatibility; every asset URL already serves the original, "
        "untransformed file, so it changes nothing.",
    )
    waitSeconds: float = Field(
        default=DEFAULT_WAIT_S,
        description="How long to wait for the job to finish before answering, in seconds. While waiting the "
        "server sends progress notifications. If the job is still running when the time is up you get its "
        "jobId and status and should call get-job-id. 0 = answer at once with the queued job. Keep it below "
        "your client's request timeout (often 60 s).",
        ge=0,
        le=MAX_WAIT_S,
        allow_inf_nan=False,
    )


# The generate tools take the REST body (one model for both, service/generate_schemas) plus the call options,
# which come last in the schema.
class Txt2ImgArguments(CallOptions, Txt2ImgCreate):
    pass


class Txt2ImgIpAdapterArguments(CallOptions, Txt2ImgIpAdapterCreate):
    pass


class Img2ImgArguments(CallOptions, Img2ImgCreate):
    pass


class Img2ImgIpAdapterArguments(CallOptions, Img2ImgIpAdapterCreate):
    pass


class InpaintArguments(CallOptions, InpaintCreate):
    pass


class InpaintIpAdapterArguments(CallOptions, InpaintIpAdapterCreate):
    pass


_JOB_WAIT_DOC = (
    "Seconds to wait for the job to finish before answering (progress notifications meanwhile). Returns at "
    "once if the job has already ended. 0 = just read its current state."
)


class GetJobArguments(ToolArguments):
    jobId: str = Field(description="The job id (job_...) returned by a generate tool or get-jobs.")
    waitSeconds: float = Field(
        default=DEFAULT_WAIT_S, description=_JOB_WAIT_DOC, ge=0, le=MAX_WAIT_S, allow_inf_nan=False
    )


class JobActionArguments(JobAction):
    """The REST body (one model for both) plus the job's id, the path parameter over REST."""

    jobId: str = Field(description="The id (job_...) of the queued or running job.")


class GetJobsArguments(ToolArguments):
    status: str | None = Field(
        default=None,
        description="Only jobs in this status: " + ", ".join(s.value for s in JobStatus) + ". Several may be "
        "given comma-separated (e.g. 'queued,in-progress' for unfinished jobs).",
        json_schema_extra={"examples": [s.value for s in JobStatus]},
    )
    type: str | None = Field(default=None, description="Only jobs of this type (generation jobs are 'inference').")
    types: str | None = Field(default=None, description="Comma-separated job types; wins over `type`.")
    authorId: str | None = Field(default=None, description="Only jobs created by this API key id.")
    hideResults: bool | None = Field(
        default=None, description="false: leave out jobs that were created with hideResults=true."
    )
    pageSize: int = Field(default=10, description="Jobs per page, newest first.", json_schema_extra=_bounds(1, 200))
    paginationToken: str | None = Field(
        default=None, description="nextPaginationToken of the previous page, to read the next one."
    )


class GetAssetArguments(ToolArguments):
    assetId: str = Field(description="The asset id (asset_...).")
    includePreview: bool = Field(
        default=True, description="true: also return a small preview (at most 256 px) of the image itself."
    )
    originalAssets: bool = Field(
        default=False, description="Accepted for Scenario compatibility; URLs always serve the original file."
    )


class GetAssetsArguments(ToolArguments):
    inferenceId: str | None = Field(
        default=None, description="Only the outputs of this job (the job id is the inference id)."
    )
    modelId: str | None = Field(default=None, description="Only images generated with this model.")
    parentAssetId: str | None = Field(default=None, description="Only direct children of this asset.")
    rootAssetId: str | None = Field(default=None, description="Only descendants of this root asset.")
    authorId: str | None = Field(default=None, description="Only assets created by this API key id.")
    type: str | None = Field(
        default=None,
        description="Only this asset type: 'uploaded' or 'inference-<mode>' (e.g. inference-txt2img).",
    )
    types: str | None = Field(default=None, description="Comma-separated asset types; cannot be combined with `type`.")
    tags: str | None = Field(default=None, description="Comma-separated tags; only assets that have all of them.")
    createdAfter: str | None = Field(
        default=None, description="Only assets created after this ISO-8601 time, e.g. 2026-11-22T18:00:00Z."
    )
    createdBefore: str | None = Field(default=None, description="Only assets created before this ISO-8601 time.")
    updatedAfter: str | None = Field(default=None, description="Only assets updated after this ISO-8601 time.")
    updatedBefore: str | None = Field(default=None, description="Only assets updated before this ISO-8601 time.")
    sortBy: str = Field(
        default="createdAt",
        description="Which date to sort by: creation or last update.",
        json_schema_extra={"enum": ["createdAt", "updatedAt"]},
    )
    sortDirection: str = Field(
        default="desc",
        description="desc = newest first, asc = oldest first.",
        json_schema_extra={"enum": ["asc", "desc"]},
    )
    pageSize: int = Field(default=50, description="Assets per page.", json_schema_extra=_bounds(1, 100))
    paginationToken: str | None = Field(
        default=None, description="nextPaginationToken of the previous page, to read the next one."
    )
    originalAssets: bool = Field(
        default=False, description="Accepted for Scenario compatibility; URLs always serve the original file."
    )


class PostAssetArguments(AssetCreate):
    """The REST body (one model for both: unknown names become warnings, as over REST) plus a call option."""

    originalAssets: bool = Field(
        default=False, description="Accepted for Scenario compatibility; URLs always serve the original file."
    )


class NoArguments(ToolArguments):
    pass


class GetModelArguments(ToolArguments):
    modelId: str = Field(description="The model id, as listed by get-models (e.g. tiny-sd15).")
