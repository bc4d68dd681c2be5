"""Arguments of the task-level tools, with the snake_case names and shapes of Scenario's hosted MCP server
(mcp.scenario.com/docs/tools). Descriptions are short on purpose: every byte of them is read by the agent on
every connection."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from diffuserve.mcp.schemas import DEFAULT_WAIT_S, MAX_WAIT_S, ToolArguments
from diffuserve.service.request_schemas import MAX_FILE_BYTES, TARGET_FORMATS
from diffuserve.service.wire_types import Timestamp
from diffuserve.storage.records import JobStatus

MAX_WAIT_JOBS = 32  # as the hosted jobs_wait
SEARCH_TARGETS = ("all", "models", "assets", "jobs")
DISPLAY_FORMATS = ("display", "viewer", "json", "markdown")
# Arguments the hosted server takes on (nearly) every tool that mean nothing here: accepted and dropped, and left
# out of the schemas, where they would cost every connection ~2 KB. One scope here, all models its own, JSON only.
IGNORED_ARGUMENTS = frozenset({"team_id", "project_id", "response_format", "public"})


class TaskArguments(ToolArguments):
    """Base of the task-level tools' arguments: unknown names are refused, the hosted-only ones dropped."""

    @model_validator(mode="before")
    @classmethod
    def _drop_ignored(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in IGNORED_ARGUMENTS}
        return data


def _bounds(minimum: float, maximum: float) -> dict[str, Any]:
    return {"minimum": minimum, "maximum": maximum}


class ModelRunArguments(TaskArguments):
    model_id: str = Field(description="Model to run (from search). Call model_schema_get first for its parameters.")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The model's inputs as a JSON object, by the names model_schema_get lists (prompt, width, "
        "numSamples, ...). Images (image, mask, ipAdapterImages): asset ids from upload_asset or a run, or data "
        "URLs; over stdio also absolute file paths.",
    )
    wait: bool = Field(
        default=True,
        description=f"true: wait up to {DEFAULT_WAIT_S:g} s for the job, then return its job_id if still running. "
        "false: return the job_id at once.",
    )
    dry_run: bool = Field(default=False, description="true: validate and price only; nothing runs.")


class ModelSchemaGetArguments(TaskArguments):
    model_id: str = Field(description="Model to describe (from search).")


class JobsWaitArguments(TaskArguments):
    job_ids: list[str] = Field(
        description=f"Job ids to wait for (1 to {MAX_WAIT_JOBS}), e.g. pending_job_ids of the previous call.",
        min_length=1,
        max_length=MAX_WAIT_JOBS,
    )
    timeout_seconds: float = Field(
        default=DEFAULT_WAIT_S,
        description="How long to wait before returning the jobs still running as pending_job_ids. Keep it below "
        "your client's request timeout.",
        ge=0,
        le=MAX_WAIT_S,
        allow_inf_nan=False,
    )


class JobGetArguments(TaskArguments):
    job_id: str = Field(description="The job id (job_...).")
    verbose: bool = Field(default=False, description="true: the full job, with its input and output metadata.")


class JobsListArguments(TaskArguments):
    status: str | None = Field(
        default=None,
        description="Only jobs in these statuses, comma-separated: " + ", ".join(s.value for s in JobStatus) + ".",
    )
    limit: int = Field(default=20, description="Jobs per page, newest first.", json_schema_extra=_bounds(1, 100))
    pagination_token: str | None = Field(default=None, description="next_pagination_token of the previous page.")


class JobCancelArguments(TaskArguments):
    job_id: str = Field(description="The queued or running job to cancel.")


class AssetGetArguments(TaskArguments):
    asset_id: str = Field(description="The asset id (asset_...).")


class AssetDisplayArguments(TaskArguments):
    asset_id: str = Field(description="The asset to show (asset_...).")
    format: str = Field(
        default="display",
        description="display: the image inline plus its link. viewer, markdown: link only. json: metadata only.",
        json_schema_extra={"enum": list(DISPLAY_FORMATS)},
    )


class AssetDownloadArguments(TaskArguments):
    asset_id: str = Field(description="The asset to download (asset_...).")
    format: str | None = Field(
        default=None,
        description="Convert the image to this format; leave out for the original PNG.",
        json_schema_extra={"enum": list(TARGET_FORMATS)},
    )


class AssetDownloadLocalArguments(AssetDownloadArguments):
    """Over stdio the server shares the client's disk, so it can write the file itself."""

    save_to: str | None = Field(
        default=None,
        description="Absolute path of a file (or existing folder) to write the image to, instead of only "
        "returning its URL. An existing file is not overwritten.",
    )


class UploadAssetArguments(TaskArguments):
    file_name: str = Field(description="File name to record, e.g. 'sketch.png'.")
    content_type: str | None = Field(
        default=None,
        description="MIME type of data: image/png, image/jpeg or image/webp.",
        json_schema_extra={"enum": ["image/png", "image/jpeg", "image/webp"]},
    )
    kind: str = Field(
        default="image", description="What the file is; only images here.", json_schema_extra={"enum": ["image"]}
    )
    data: str | None = Field(default=None, description="The file as base64 or a data URL.")
    file_size: int | None = Field(
        default=None,
        description="Size in bytes, without data: a multipart upload (part URLs to PUT, then upload_asset_complete).",
        json_schema_extra=_bounds(1, MAX_FILE_BYTES),
    )


class UploadAssetLocalArguments(UploadAssetArguments):
    path: str | None = Field(default=None, description="Absolute path of a local image file, instead of data.")


class UploadAssetCompleteArguments(TaskArguments):
    upload_id: str = Field(description="upload_id returned by upload_asset.")


class SearchFilters(TaskArguments):
    model_id: str | None = Field(default=None, description="Assets or jobs made with this model.")
    capability: str | None = Field(default=None, description="Models with this capability, e.g. txt2img, inpaint.")
    status: str | None = Field(default=None, description="Jobs in this status, e.g. success or in-progress.")
    tags: list[str] | None = Field(default=None, description="Assets with all of these tags.")
    created_after: Timestamp = Field(default=None, description="Assets or jobs created after this ISO-8601 time.")
    created_before: Timestamp = Field(default=None, description="Assets or jobs created before this time.")
    kind: str | None = Field(default=None, description="Asset kind; only image here.")


class SearchArguments(TaskArguments):
    query: str | None = Field(
        default=None, description="Words to match in ids, names, prompts and tags (all must match). Empty: newest."
    )
    target: str = Field(
        default="all",
        description="What to search: models, assets, jobs, or all.",
        json_schema_extra={"enum": list(SEARCH_TARGETS)},
    )
    filters: SearchFilters | None = Field(default=None, description="Narrow the results; ANDed with query.")
    limit: int = Field(default=10, description="Results per kind.", json_schema_extra=_bounds(1, 50))
