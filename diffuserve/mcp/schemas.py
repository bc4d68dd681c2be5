"""The tools' arguments as pydantic models, with Scenario's flattened field names, and their JSON Schemas.

The models check types and unknown names; ranges, enums and cross-field rules are advertised in the schema
(`minimum`, `maximum`, `enum`) but checked by the service layer, so a bad value gets exactly the REST API's
error text. `json_schema.input_schema()` turns a model into the clean schema the tool list shows.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from diffuserve.catalog.types import IpAdapterType
from diffuserve.catalog.validation import (
    DEFAULT_IP_SCALE,
    DEFAULT_STEPS,
    DEFAULT_STRENGTH,
    LIMITS,
    MAX_CONCEPTS,
    MAX_GUIDANCE,
    MAX_IP_IMAGES,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
)
from diffuserve.storage.records import JobStatus

# How long a generate tool waits for its job by default: below the 60 s request timeout of common clients.
DEFAULT_WAIT_S = 50.0
MAX_WAIT_S = 600.0
MCP_DEFAULT_SAMPLES = 4  # Scenario's default, as over REST
MIN_SIZE = min(limits.min_size for limits in LIMITS.values())
MAX_SIZE = max(limits.max_size for limits in LIMITS.values())
# Arguments that steer the MCP call itself; everything else is the REST body.
CALL_ARGUMENTS = frozenset({"dryRun", "originalAssets", "waitSeconds"})


def _bounds(minimum: float, maximum: float, **extra: Any) -> dict[str, Any]:
    return {"minimum": minimum, "maximum": maximum, **extra}


def _seed_text(value: Any) -> Any:
    """Scenario types seed as a string; agents often send a number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _size_doc(axis: str) -> str:
    per_family = "; ".join(
        f"{family}: {lim.min_size}-{lim.max_size}, default {lim.default_size}" for family, lim in LIMITS.items()
    )
    return (
        f"Output {axis} in pixels, a multiple of 8. Allowed range and default depend on the model family "
        f"({per_family}). With an input image the default is that image's own {axis} (rounded down to a "
        f"multiple of 8). Larger images take longer: time grows with width x height."
    )


def _guidance_doc() -> str:
    defaults = ", ".join(f"{family} {lim.default_guidance:g}" for family, lim in LIMITS.items())
    return (
        "Classifier-free guidance: how strictly the image follows the prompt. Higher = more literal, less "
        f"varied; below 1 the negative prompt is ignored. Default depends on the model family ({defaults})."
    )


class ToolArguments(BaseModel):
    """Base of every tool's arguments: unknown names are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class Concept(ToolArguments):
    """One LoRA to stack on the model."""

    modelId: str = Field(description="Id of a LoRA model (type ending in -lora, see get-models).")
    scale: float = Field(
        description="LoRA weight: 1 = as trained, 0 = off, negative values push away from the LoRA's style.",
        json_schema_extra=_bounds(-2.0, 2.0),
    )
    modelEpoch: str | None = Field(
        default=None,
        description="A training epoch of the LoRA (Flux LoRAs trained with several epochs); the SD LoRAs served "
        "here have none, so setting it is an error.",
    )


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


class _Core(BaseModel):
    modelId: str = Field(
        description="Id of the model to run (see get-models; its `capabilities` must include this tool's mode). "
        "The built-in demo model is demo-shapes (64x64 flat shapes, e.g. 'a red circle on a blue background'); "
        "tiny-sd15 and tiny-sdxl have random weights."
    )
    prompt: str = Field(
        description="What the image should show, in plain words (e.g. 'a watercolor fox in a snowy forest')."
    )
    baseModelId: str | None = Field(
        default=None,
        description="When modelId is a LoRA: which of its compliantModelIds (see get-models) it runs on. Default: "
        "its first registered one. An error for any other model.",
    )
    modelEpoch: str | None = Field(
        default=None,
        description="A training epoch of a LoRA modelId (Flux LoRAs trained with several epochs); the models "
        "served here have none, so setting it is an error.",
    )


class _Generation(BaseModel):
    negativePrompt: str | None = Field(
        default=None,
        description="What the image should avoid (e.g. 'blurry, text, watermark'). Ignored when guidance < 1.",
    )
    negativePromptStrength: float | None = Field(
        default=None,
        description="Flux models only: weight of the negative prompt (true classifier-free guidance). SD 1.5 and "
        "SDXL always apply the negative prompt through guidance, so here it is checked (0-10) and changes "
        "nothing.",
        json_schema_extra=_bounds(0.0, 10.0),
    )
    seed: Annotated[str | None, BeforeValidator(_seed_text)] = Field(
        default=None,
        description=f"Integer seed in [0, {MAX_SEED}], as a string (a JSON number is accepted too). The same "
        "seed and arguments reproduce the same images; image i of a job uses seed + i. Default: random; the "
        "job's metadata.input.seed tells which one was used.",
    )
    numSamples: int = Field(
        default=MCP_DEFAULT_SAMPLES,
        description="Number of images to generate (default 4, as in Scenario's API). Every image adds "
        "generation time and a preview to the response: ask for 1 when variations are not wanted. Images are "
        "denoised in batches, so 4 images take roughly 2-4x as long as 1.",
        json_schema_extra=_bounds(1, MAX_SAMPLES),
    )
    numInferenceSteps: int = Field(
        default=DEFAULT_STEPS,
        description="Denoising steps. More steps = more detail and proportionally more time; 20-30 is typical, "
        "below 10 looks rough on standard models.",
        json_schema_extra=_bounds(1, MAX_STEPS),
    )
    guidance: float | None = Field(
        default=None, description=_guidance_doc(), json_schema_extra=_bounds(0.0, MAX_GUIDANCE)
    )
    width: int | None = Field(
        default=None, description=_size_doc("width"), json_schema_extra=_bounds(MIN_SIZE, MAX_SIZE, multipleOf=8)
    )
    height: int | None = Field(
        default=None,
        description=_size_doc("height"),
        json_schema_extra=_bounds(MIN_SIZE, MAX_SIZE, multipleOf=8),
    )
    scheduler: str | None = Field(
        default=None,
        description="Sampler (a diffusers scheduler class) overriding the model's default; leave unset unless "
        "you know you want another one (e.g. EulerAncestralDiscreteScheduler for more variety).",
        json_schema_extra={"enum": list(SCHEDULER_NAMES)},
    )
    concepts: list[Concept] | None = Field(
        default=None,
        description="LoRAs to apply on top of the model, each {modelId, scale}; the LoRA must fit the model's "
        "family (see its compliantModelIds in get-models).",
        json_schema_extra={"maxItems": MAX_CONCEPTS},
    )
    hideResults: bool = Field(
        default=False,
        description="true: the generated assets are left out of get-assets listings (still readable by id).",
    )
    intermediateImages: bool = Field(
        default=False,
        description="true: while the job runs, job.metadata.output.intermediateImages holds URLs of preview "
        "images of the denoising so far (visible through get-job-id). Slightly slower.",
    )


class _AspectRatio(BaseModel):
    aspectRatio: str | None = Field(
        default=None,
        description="Only used by the model flux.1.1-pro-ultra; checked against the allowed ratios and otherwise "
        "without effect here (set width and height instead).",
        json_schema_extra={"enum": ["16:9", "1:1", "21:9", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "9:21"]},
    )


class _InputImage(BaseModel):
    image: str | None = Field(
        default=None,
        description="The input image (this or imageId is required): a data URL (data:image/png;base64,...), an "
        "asset id (asset_...) from post-asset or an earlier generation, or - only when the server runs over "
        "stdio - an absolute local file path. Its size is the default output size.",
    )
    imageId: str | None = Field(
        default=None, description="Deprecated: the input image as an asset id; `image` wins when both are given."
    )
    imageParentId: str | None = Field(
        default=None,
        description="When `image` is a data URL or file, the asset id to record as the parent of the new "
        "input asset (for lineage in get-assets parentAssetId).",
    )
    imageHide: bool = Field(
        default=False,
        description="When `image` is a data URL or file, hide the new input asset from get-assets listings.",
    )
    strength: float = Field(
        default=DEFAULT_STRENGTH,
        description="How much of the input image is repainted: 0.01 keeps it almost unchanged, 1.0 ignores it "
        "entirely. 0.3-0.5 = light touch-up, 0.6-0.8 = restyle keeping the composition. Only the last "
        "strength x numInferenceSteps steps run, so low strength is also faster; strength x "
        "numInferenceSteps must be at least 1.",
        json_schema_extra=_bounds(0.01, 1.0),
    )


class _OptionalMask(BaseModel):
    mask: str | None = Field(
        default=None,
        description="Optional black-and-white mask, same aspect as `image`: only the WHITE area may change, "
        "BLACK pixels are copied back from the input. A data URL, an asset id, or (stdio only) an absolute "
        "local file path.",
    )
    maskId: str | None = Field(default=None, description="Deprecated: the mask as an asset id; `mask` wins.")


class _Mask(BaseModel):
    mask: str | None = Field(
        default=None,
        description="Black-and-white mask (this or maskId is required), same aspect as `image`: WHITE = area to "
        "replace, BLACK = keep. A data URL, an asset id, or (stdio only) an absolute local file path.",
    )
    maskId: str | None = Field(default=None, description="Deprecated: the mask as an asset id; `mask` wins.")
    disableMerging: bool = Field(
        default=False,
        description="false (default): pixels outside the white area are copied back from the input, so only "
        "the masked region changes. true: the whole image may change slightly (blends better for a crop "
        "of a larger picture, but the unmasked area is not pixel-identical).",
    )


class _IpAdapter(BaseModel):
    ipAdapterImages: list[str] | None = Field(
        default=None,
        description="Reference images whose style or character guides the result: data URLs, asset ids, or "
        "(stdio only) absolute local file paths. One or more; wins over the deprecated ipAdapterImageIds, "
        "ipAdapterImage and ipAdapterImageId (one of the four is required).",
        json_schema_extra={"minItems": 1, "maxItems": MAX_IP_IMAGES},
    )
    ipAdapterImageIds: list[str] | None = Field(
        default=None,
        description="Deprecated: reference images as asset ids.",
        json_schema_extra={"minItems": 1, "maxItems": MAX_IP_IMAGES},
    )
    ipAdapterImage: str | None = Field(default=None, description="Deprecated: one reference image (as above).")
    ipAdapterImageId: str | None = Field(default=None, description="Deprecated: one reference image's asset id.")
    ipAdapterScale: float | None = Field(
        default=None,
        description="Deprecated: one influence for every reference image; ipAdapterScales wins.",
        json_schema_extra=_bounds(0.0, 1.0),
    )
    ipAdapterScales: list[float] | None = Field(
        default=None,
        description=f"Influence of each reference image, one number per image in the same order (0 = none, "
        f"1 = strongest; default {DEFAULT_IP_SCALE:g} each). A single number applies to all images; with fewer "
        "numbers than images the rest get the default; more numbers than images is an error.",
        json_schema_extra={
            "items": {"type": "number", "minimum": 0.0, "maximum": 1.0},
            "maxItems": MAX_IP_IMAGES,
        },
    )
    ipAdapterType: str = Field(
        default=IpAdapterType.STYLE.value,
        description="style: borrow colors, medium and mood from the references. character: keep the identity "
        "of the person or character in the references (faces). The model must have that IP-Adapter.",
        json_schema_extra={"enum": [t.value for t in IpAdapterType]},
    )


# Bases are listed last-first: pydantic orders fields from the last base to the first, so the schema reads
# model and prompt, then the input images, then the generation settings, then the call options.
class Txt2ImgArguments(CallOptions, _AspectRatio, _Generation, _Core, ToolArguments):
    pass


class Txt2ImgIpAdapterArguments(CallOptions, _AspectRatio, _Generation, _IpAdapter, _Core, ToolArguments):
    pass


class Img2ImgArguments(CallOptions, _Generation, _InputImage, _Core, ToolArguments):
    pass


class Img2ImgIpAdapterArguments(CallOptions, _Generation, _IpAdapter, _OptionalMask, _InputImage, _Core, ToolArguments):
    pass


class InpaintArguments(CallOptions, _Generation, _Mask, _InputImage, _Core, ToolArguments):
    pass


class InpaintIpAdapterArguments(CallOptions, _Generation, _IpAdapter, _Mask, _InputImage, _Core, ToolArguments):
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


class JobActionArguments(ToolArguments):
    jobId: str = Field(description="The id (job_...) of the queued or running job.")
    action: str = Field(description="The action to run; only cancel exists.", json_schema_extra={"enum": ["cancel"]})


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


class PostAssetArguments(ToolArguments):
    name: str = Field(description="File name to record for the asset, e.g. 'sketch.png'.")
    image: str = Field(
        description="The image: a data URL, bare base64 (PNG, JPEG or WebP), or - only when the server runs "
        "over stdio - an absolute local file path (then `name` may be anything)."
    )
    hide: bool = Field(default=False, description="true: leave the asset out of get-assets listings.")
    parentId: str | None = Field(default=None, description="Asset id to record as this asset's parent.")
    originalAssets: bool = Field(
        default=False, description="Accepted for Scenario compatibility; URLs always serve the original file."
    )


class NoArguments(ToolArguments):
    pass


class GetModelArguments(ToolArguments):
    modelId: str = Field(description="The model id, as listed by get-models (e.g. tiny-sd15).")
