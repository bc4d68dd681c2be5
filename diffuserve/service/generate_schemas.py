"""The generate request bodies (spec §3) as pydantic models with Scenario's field names: one source for FastAPI
(the OpenAPI document), the MCP tools' argument schemas, and the service, which reads a body through them.

Lenient where Scenario is (see wire_types). Unknown fields are kept (`model_extra`) so the response can name them
as warnings and a client of a newer Scenario version keeps working. Precedence between fields (§3.3) and the
model-dependent ranges are read by generation_body and the catalog's validation, which word the errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from diffuserve.catalog.types import IpAdapterType, Mode
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
from diffuserve.service.wire_types import Integer, Number, Seed, Text, in_range, one_of

ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "9:21")
MAX_NEGATIVE_PROMPT_STRENGTH = 10.0
DEFAULT_NUM_SAMPLES = 4  # spec S1 default (guides say 1; the published OpenAPI wins)
MIN_SIZE = min(limits.min_size for limits in LIMITS.values())
MAX_SIZE = max(limits.max_size for limits in LIMITS.values())


def _bounds(minimum: float, maximum: float, **extra: Any) -> dict[str, Any]:
    return {"minimum": minimum, "maximum": maximum, **extra}


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


class _Body(BaseModel):
    """Unknown names are kept, not refused: the response lists them as warnings (strict mode: a 400)."""

    model_config = ConfigDict(extra="allow")


class ConceptIn(_Body):
    """One LoRA to stack on the model."""

    modelId: Text = Field(description="Id of a LoRA model (type ending in -lora, see GET /v1/models or get-models).")
    scale: Number = Field(
        description="LoRA weight: 1 = as trained, 0 = off, negative values push away from the LoRA's style.",
        json_schema_extra=_bounds(-2.0, 2.0),
    )
    modelEpoch: Text | None = Field(
        default=None,
        description="A training epoch of the LoRA (Flux LoRAs trained with several epochs); the SD LoRAs served "
        "here have none, so setting it is an error.",
    )


class _Core(_Body):
    modelId: Text = Field(
        description="Id of the model to run (GET /v1/models or get-models; its `capabilities` must include this "
        "mode). The built-in demo model is demo-shapes (64x64 flat shapes, e.g. 'a red circle on a blue "
        "background'); tiny-sd15 and tiny-sdxl have random weights."
    )
    prompt: Text = Field(
        description="What the image should show, in plain words (e.g. 'a watercolor fox in a snowy forest')."
    )
    baseModelId: Text | None = Field(
        default=None,
        description="When modelId is a LoRA: which of its compliantModelIds (GET /v1/models or get-models) it "
        "runs on. Default: its first registered one. An error for any other model.",
    )
    modelEpoch: Text | None = Field(
        default=None,
        description="A training epoch of a LoRA modelId (Flux LoRAs trained with several epochs); the models "
        "served here have none, so setting it is an error.",
    )


class _Generation(_Body):
    negativePrompt: Text | None = Field(
        default=None,
        description="What the image should avoid (e.g. 'blurry, text, watermark'). Ignored when guidance < 1. "
        "FLUX.1 applies it only with negativePromptStrength > 0; FLUX.2 [dev] takes none (an error).",
    )
    negativePromptStrength: Annotated[Number | None, in_range(0, MAX_NEGATIVE_PROMPT_STRENGTH)] = Field(
        default=None,
        description="FLUX.1 models only: weight of the negative prompt (true classifier-free guidance). SD 1.5, "
        "SDXL and FLUX.2 [klein] always apply the negative prompt through guidance, and FLUX.2 [dev] has no "
        "negative prompt (its guidance is distilled), so there it is checked (0-10) and changes nothing.",
        json_schema_extra=_bounds(0.0, 10.0),
    )
    seed: Seed = Field(
        default=None,
        description=f"Integer seed in [0, {MAX_SEED}], as a string (a JSON number is accepted too). The same "
        "seed and arguments reproduce the same images; image i of a job uses seed + i. Default: random; the "
        "job's metadata.input.seed tells which one was used.",
    )
    numSamples: Integer = Field(
        default=DEFAULT_NUM_SAMPLES,
        description="Number of images to generate (default 4, as in Scenario's API). Every image adds "
        "generation time and a preview to the response: ask for 1 when variations are not wanted. Images are "
        "denoised in batches, so 4 images take roughly 2-4x as long as 1.",
        json_schema_extra=_bounds(1, MAX_SAMPLES),
    )
    numInferenceSteps: Integer | None = Field(
        default=None,
        description="Denoising steps. More steps = more detail and proportionally more time; 20-30 is typical, "
        f"below 10 looks rough on standard models. Default: the model's ({DEFAULT_STEPS} for SD 1.5 and SDXL).",
        json_schema_extra=_bounds(1, MAX_STEPS),
    )
    guidance: Number | None = Field(
        default=None, description=_guidance_doc(), json_schema_extra=_bounds(0.0, MAX_GUIDANCE)
    )
    width: Integer | None = Field(
        default=None, description=_size_doc("width"), json_schema_extra=_bounds(MIN_SIZE, MAX_SIZE, multipleOf=8)
    )
    height: Integer | None = Field(
        default=None,
        description=_size_doc("height"),
        json_schema_extra=_bounds(MIN_SIZE, MAX_SIZE, multipleOf=8),
    )
    scheduler: Text | None = Field(
        default=None,
        description="Sampler (a diffusers scheduler class) overriding the model's default; leave unset unless "
        "you know you want another one (e.g. EulerAncestralDiscreteScheduler for more variety).",
        json_schema_extra={"enum": list(SCHEDULER_NAMES)},
    )
    concepts: list[ConceptIn] | None = Field(
        default=None,
        description="LoRAs to apply on top of the model, each {modelId, scale}; the LoRA must fit the model's "
        "family (see its compliantModelIds in GET /v1/models).",
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


class _AspectRatio(_Body):
    aspectRatio: Annotated[Text | None, one_of(ASPECT_RATIOS)] = Field(
        default=None,
        description="Only used by the model flux.1.1-pro-ultra; checked against the allowed ratios and otherwise "
        "without effect here (set width and height instead).",
        json_schema_extra={"enum": list(ASPECT_RATIOS)},
    )


class _InputImage(_Body):
    image: Text | None = Field(
        default=None,
        description="The input image (this or imageId is required): a data URL (data:image/png;base64,...), an "
        "asset id (asset_...) from POST /v1/assets (post-asset) or an earlier generation, or - only when the "
        "server runs over stdio - an absolute local file path. Its size is the default output size.",
    )
    imageId: Text | None = Field(
        default=None, description="Deprecated: the input image as an asset id; `image` wins when both are given."
    )
    imageParentId: Text | None = Field(
        default=None,
        description="When `image` is a data URL or file, the asset id to record as the parent of the new "
        "input asset (for lineage in get-assets parentAssetId).",
    )
    imageHide: bool = Field(
        default=False,
        description="When `image` is a data URL or file, hide the new input asset from get-assets listings.",
    )
    strength: Number = Field(
        default=DEFAULT_STRENGTH,
        description="How much of the input image is repainted: 0.01 keeps it almost unchanged, 1.0 ignores it "
        "entirely. 0.3-0.5 = light touch-up, 0.6-0.8 = restyle keeping the composition. Only the last "
        "strength x numInferenceSteps steps run, so low strength is also faster; strength x numInferenceSteps "
        "must be at least 1.",
        json_schema_extra=_bounds(0.01, 1.0),
    )


class _OptionalMask(_Body):
    mask: Text | None = Field(
        default=None,
        description="Optional black-and-white mask, same aspect as `image`: only the WHITE area may change, "
        "BLACK pixels are copied back from the input. A data URL, an asset id, or (stdio only) an absolute "
        "local file path.",
    )
    maskId: Text | None = Field(default=None, description="Deprecated: the mask as an asset id; `mask` wins.")


class _Mask(_Body):
    mask: Text | None = Field(
        default=None,
        description="Black-and-white mask (this or maskId is required), same aspect as `image`: WHITE = area to "
        "replace, BLACK = keep. A data URL, an asset id, or (stdio only) an absolute local file path.",
    )
    maskId: Text | None = Field(default=None, description="Deprecated: the mask as an asset id; `mask` wins.")
    disableMerging: bool = Field(
        default=False,
        description="false (default): pixels outside the white area are copied back from the input, so only "
        "the masked region changes. true: the whole image may change slightly (blends better for a crop "
        "of a larger picture, but the unmasked area is not pixel-identical).",
    )


class IpAdapterIn(_Body):
    """One of several IP-Adapter sets guiding a request at once (a diffuserve extension; Scenario's API has one)."""

    type: Annotated[Text, one_of(t.value for t in IpAdapterType)] = Field(
        description="style or character: which of the model's IP-Adapter sets",
        json_schema_extra={"enum": [t.value for t in IpAdapterType]},
    )
    images: list[Text] = Field(
        description="This set's reference images: data URLs or asset ids.",
        json_schema_extra={"minItems": 1, "maxItems": MAX_IP_IMAGES},
    )
    scales: list[Number] | None = Field(
        default=None,
        description=f"Influence of each image (0-1; one value applies to all; default {DEFAULT_IP_SCALE:g}).",
        json_schema_extra={"items": {"type": "number", "minimum": 0.0, "maximum": 1.0}, "maxItems": MAX_IP_IMAGES},
    )


class _IpAdapter(_Body):
    ipAdapterImages: list[Text] | None = Field(
        default=None,
        description="Reference images whose style or character guides the result: data URLs, asset ids, or "
        "(stdio only) absolute local file paths. One or more; wins over the deprecated ipAdapterImageIds, "
        "ipAdapterImage and ipAdapterImageId (one of the four is required). On FLUX.2 models (no IP-Adapter) "
        "they are the references of multi-reference editing, read by the model itself, after the input image "
        "and in this order: at most 4 images in all on FLUX.2 [klein], 10 on FLUX.2 [dev].",
        json_schema_extra={"minItems": 1, "maxItems": MAX_IP_IMAGES},
    )
    ipAdapterImageIds: list[Text] | None = Field(
        default=None,
        description="Deprecated: reference images as asset ids.",
        json_schema_extra={"minItems": 1, "maxItems": MAX_IP_IMAGES},
    )
    ipAdapterImage: Text | None = Field(default=None, description="Deprecated: one reference image (as above).")
    ipAdapterImageId: Text | None = Field(default=None, description="Deprecated: one reference image's asset id.")
    ipAdapterScale: Annotated[Number | None, in_range(0, 1)] = Field(
        default=None,
        description="Deprecated: one influence for every reference image; ipAdapterScales wins.",
        json_schema_extra=_bounds(0.0, 1.0),
    )
    ipAdapterScales: list[Number] | None = Field(
        default=None,
        description=f"Influence of each reference image, one number per image in the same order (0 = none, "
        f"1 = strongest; default {DEFAULT_IP_SCALE:g} each). A single number applies to all images; with fewer "
        "numbers than images the rest get the default; more numbers than images is an error. FLUX.2 "
        "references have no weight: there each must be 1 (the default) or the request is refused.",
        json_schema_extra={
            "items": {"type": "number", "minimum": 0.0, "maximum": 1.0},
            "maxItems": MAX_IP_IMAGES,
        },
    )
    ipAdapters: list[IpAdapterIn] | None = Field(
        default=None,
        description="diffuserve extension: several IP-Adapter sets at once, e.g. a face (character) and a style, "
        "each {type, images, scales}. Instead of the ipAdapterImage* / ipAdapterScale* / ipAdapterType fields.",
        json_schema_extra={"maxItems": 2},
    )
    ipAdapterType: Annotated[Text, one_of(t.value for t in IpAdapterType)] = Field(
        default=IpAdapterType.STYLE.value,
        description="style: borrow colors, medium and mood from the references. character: keep the identity "
        "of the person or character in the references (faces). The model must have that IP-Adapter.",
        json_schema_extra={"enum": [t.value for t in IpAdapterType]},
    )


# Bases are listed last-first: pydantic orders fields from the last base to the first, so the schema reads
# model and prompt, then the input images, then the generation settings.
class Txt2ImgCreate(_AspectRatio, _Generation, _Core):
    """POST /v1/generate/txt2img"""


class Txt2ImgIpAdapterCreate(_AspectRatio, _Generation, _IpAdapter, _Core):
    """POST /v1/generate/txt2img-ip-adapter"""


class Img2ImgCreate(_Generation, _OptionalMask, _InputImage, _Core):
    """POST /v1/generate/img2img (a mask is optional: the change stays inside it)"""


class Img2ImgIpAdapterCreate(_Generation, _IpAdapter, _OptionalMask, _InputImage, _Core):
    """POST /v1/generate/img2img-ip-adapter"""


class InpaintCreate(_Generation, _Mask, _InputImage, _Core):
    """POST /v1/generate/inpaint"""


class InpaintIpAdapterCreate(_Generation, _IpAdapter, _Mask, _InputImage, _Core):
    """POST /v1/generate/inpaint-ip-adapter"""


GenerateBody = _Core
BODY_BY_MODE: dict[Mode, type[_Core]] = {
    Mode.TXT2IMG: Txt2ImgCreate,
    Mode.TXT2IMG_IP_ADAPTER: Txt2ImgIpAdapterCreate,
    Mode.IMG2IMG: Img2ImgCreate,
    Mode.IMG2IMG_IP_ADAPTER: Img2ImgIpAdapterCreate,
    Mode.INPAINT: InpaintCreate,
    Mode.INPAINT_IP_ADAPTER: InpaintIpAdapterCreate,
}
