"""What a model takes through `POST /generate/custom/{modelId}`: its `inputs`, under Scenario's field names, derived
from the catalog (family limits, scheduler names, capabilities, IP-Adapter sets, the LoRAs that fit), and which
generation mode a set of given inputs means (an image: img2img; an image and a mask: inpaint; reference images:
the -ip-adapter variant; none of them: txt2img)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from diffuserve.catalog.families import rules_for
from diffuserve.catalog.registry import ModelSpec, ModelType, Registry
from diffuserve.catalog.schedulers import SCHEDULER_NAMES, default_scheduler_name
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
    TypeLimits,
    base_model,
    lora_fits,
)
from diffuserve.errors import InvalidRequest

InputType = Literal["boolean", "file", "file_array", "model_array", "number", "number_array", "string"]

IMAGE = "image"
MASK = "mask"
IP_ADAPTER_IMAGES = "ipAdapterImages"
CONCEPTS = "concepts"
# Inputs that only refine another one; without it they change nothing (and are left out, with a warning).
REFINES: dict[str, str] = {
    "strength": IMAGE,
    "disableMerging": MASK,
    "ipAdapterScales": IP_ADAPTER_IMAGES,
    "ipAdapterType": IP_ADAPTER_IMAGES,
}
CONCEPT_SCALE = (-2.0, 2.0)


@dataclass(frozen=True)
class ModelInput:
    """One input of a model, as Scenario's ModelInput describes it (`name`, `type`, `min`, `allowedValues`, ...)."""

    name: str
    type: InputType
    label: str
    description: str
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    allowed_values: tuple[str, ...] = ()
    required: bool = False
    # Required when another input is given: (that input, the message).
    required_if_defined: tuple[tuple[str, str], ...] = ()
    # For arrays: at most this many items.
    max_items: int | None = None
    kind: Literal["image"] | None = None
    mask_from: str | None = None
    parent: bool = False
    prompt: bool = False
    cost_impact: bool = False
    model_types: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class _Shape:
    """What a model's inputs depend on; the union of every model's when `families` holds both."""

    families: tuple[TypeLimits, ...]
    modes: frozenset[Mode]
    ip_types: tuple[str, ...]
    scheduler: str | None
    loras: tuple[str, ...]
    lora_types: tuple[str, ...]
    bases: tuple[str, ...] | None  # a LoRA model id: its registered compliant bases; other models: None
    default_samples: int
    epochs: tuple[str, ...] = ()  # a LoRA trained in epochs: their names
    max_references: int = 0  # FLUX.2: reference images it takes itself (input image included)


def select_mode(*, image: bool, mask: bool, ip_adapter: bool) -> Mode:
    """The mode the given inputs ask for: a mask repaints part of the image, so it needs one."""
    if mask and not image:
        raise InvalidRequest(
            "mask needs image: the mask marks what to repaint in the input image; add image or leave mask out",
            field=IMAGE,
            reason="missing_image",
        )
    mode = Mode.INPAINT if mask else Mode.IMG2IMG if image else Mode.TXT2IMG
    return Mode(f"{mode.value}-ip-adapter") if ip_adapter else mode


def model_inputs(registry: Registry, model: ModelSpec, *, default_samples: int) -> tuple[ModelInput, ...]:
    """The inputs of one registered model (a LoRA model id: those of the base it runs on)."""
    base: ModelSpec | None = model
    if model.type.runs_on_base:
        try:
            base = base_model(registry, model)
        except InvalidRequest:
            base = None
    target = base or model
    registered = registry.list()
    modes = frozenset(Mode(c.replace("_", "-")) for c in model.capabilities)
    ip_modes = any(m.uses_ip_adapter for m in modes)
    known = {m.id for m in registered}
    limits = LIMITS[model.type.family]
    shape = _Shape(
        families=(limits if target.type.runs_on_base else rules_for(target),),
        modes=modes,
        ip_types=tuple(t.value for t in model.ip_adapters) if ip_modes else (),
        scheduler=target.default_scheduler or default_scheduler_name(target),
        loras=tuple(m.id for m in registered if m.type.is_lora and m.id != model.id and lora_fits(m, target)),
        lora_types=_lora_types([model.type.family]),
        bases=tuple(b for b in model.compliant_model_ids if b in known) if model.type.runs_on_base else None,
        default_samples=default_samples,
        epochs=model.epoch_names,
        max_references=limits.max_references if ip_modes else 0,
    )
    return _inputs(shape)


def all_inputs(*, default_samples: int) -> tuple[ModelInput, ...]:
    """Every input any model can have, with the ranges of every family: what a front end can document up front."""
    shape = _Shape(
        families=tuple(LIMITS.values()),
        modes=frozenset(Mode),
        ip_types=tuple(t.value for t in IpAdapterType),
        scheduler=None,
        loras=(),
        lora_types=_lora_types(LIMITS),
        bases=(),
        default_samples=default_samples,
    )
    return _inputs(shape)


def _lora_types(families: Iterable[str]) -> tuple[str, ...]:
    wanted = set(families)
    return tuple(dict.fromkeys(t.wire_type for t in ModelType if t.is_lora and t.family in wanted))


def _one(values: set[float]) -> float | None:
    return next(iter(values)) if len(values) == 1 else None


def _inputs(shape: _Shape) -> tuple[ModelInput, ...]:
    modes = shape.modes
    inputs = [
        ModelInput(
            "prompt",
            "string",
            "Prompt",
            "What the image should show, in plain words.",
            required=True,
            prompt=True,
        ),
    ]
    if any(f.negative_prompt for f in shape.families):
        inputs.append(
            ModelInput(
                "negativePrompt",
                "string",
                "Negative prompt",
                "What the image should avoid (e.g. 'blurry, text'). Ignored when guidance is below 1.",
            )
        )
    if any(m.uses_image for m in modes):
        inputs += _image_inputs(modes)
    if shape.ip_types:
        inputs += _ip_adapter_inputs(shape.ip_types)
    elif shape.max_references:
        inputs.append(_reference_input(shape.max_references))
    inputs += _settings(shape)
    inputs += _extras(shape)
    return tuple(inputs)


def _image_inputs(modes: frozenset[Mode]) -> list[ModelInput]:
    has_mask = any(m.uses_mask for m in modes)
    image = ModelInput(
        IMAGE,
        "file",
        "Input image",
        "An image to transform: a data URL (data:image/png;base64,...) or an asset id. Given: img2img"
        + (", or inpaint with a mask" if has_mask else "")
        + ". Without width and height the output keeps its size (rounded down to a multiple of 8).",
        required_if_defined=((MASK, "image is required with a mask: the mask marks what to repaint in it"),)
        if has_mask
        else (),
        kind="image",
        parent=True,
        cost_impact=True,
        group="inputImage",
    )
    strength = ModelInput(
        "strength",
        "number",
        "Strength",
        "Used with image: how much of it is repainted, from 0.01 (almost unchanged) to 1 (ignored). Only the last "
        "strength x numInferenceSteps steps run.",
        default=DEFAULT_STRENGTH,
        minimum=0.01,
        maximum=1.0,
        step=0.01,
        group="inputImage",
    )
    if not has_mask:
        return [image, strength]
    mask = ModelInput(
        MASK,
        "file",
        "Mask",
        "Used with image: a black-and-white mask (data URL or asset id); WHITE = repaint, BLACK = keep. Given: "
        "inpaint.",
        kind="image",
        mask_from=IMAGE,
        group="inputImage",
    )
    merging = ModelInput(
        "disableMerging",
        "boolean",
        "Disable merging",
        "Used with mask: false copies the unmasked pixels back unchanged; true lets the whole image change a little.",
        default=False,
        group="inputImage",
    )
    return [image, strength, mask, merging]


def _reference_input(max_references: int) -> ModelInput:
    return ModelInput(
        IP_ADAPTER_IMAGES,
        "file_array",
        "Reference images",
        f"FLUX.2 multi-reference editing: images (data URLs or asset ids) the result draws on, as tokens beside "
        f"its own, after the input image when there is one; at most {max_references} images with the input "
        "image; no scale (ipAdapterScales other than 1 are an error). Refer to them in the prompt by order. "
        "Given: the -ip-adapter variant of the mode.",
        max_items=min(MAX_IP_IMAGES, max_references),
        kind="image",
        group="ipAdapter",
    )


def _ip_adapter_inputs(ip_types: tuple[str, ...]) -> list[ModelInput]:
    default_type = IpAdapterType.STYLE.value if IpAdapterType.STYLE.value in ip_types else ip_types[0]
    return [
        ModelInput(
            IP_ADAPTER_IMAGES,
            "file_array",
            "Reference images",
            "Reference images (data URLs or asset ids) whose style or character guides the result (IP-Adapter). "
            "Given: the -ip-adapter variant of the mode.",
            max_items=MAX_IP_IMAGES,
            kind="image",
            group="ipAdapter",
        ),
        ModelInput(
            "ipAdapterScales",
            "number_array",
            "Reference influence",
            f"Used with ipAdapterImages: the influence of each reference image, in order, from 0 (none) to 1; "
            f"default {DEFAULT_IP_SCALE:g} each. One value applies to all; more values than images is an error.",
            minimum=0.0,
            maximum=1.0,
            max_items=MAX_IP_IMAGES,
            group="ipAdapter",
        ),
        ModelInput(
            "ipAdapterType",
            "string",
            "Reference type",
            "Used with ipAdapterImages: style borrows colors, medium and mood; character keeps the identity of a "
            "person or character.",
            default=default_type,
            allowed_values=ip_types,
            group="ipAdapter",
        ),
    ]


def _settings(shape: _Shape) -> list[ModelInput]:
    families = shape.families
    low = min(f.min_size for f in families)
    high = max(f.max_size for f in families)
    size = _one({f.default_size for f in families})
    guidance = _one({f.default_guidance for f in families})
    steps = _one({f.default_steps for f in families})
    size_step = min(f.size_multiple for f in families)
    schedulers = tuple(dict.fromkeys(n for f in families for n in f.schedulers))
    if set(schedulers) <= set(SCHEDULER_NAMES):
        schedulers = SCHEDULER_NAMES
    sizes = "; ".join(f"{f.min_size}-{f.max_size}, default {f.default_size}" for f in families)
    return [
        ModelInput(
            "numSamples",
            "number",
            "Number of images",
            "How many images to generate; image i uses seed + i.",
            default=shape.default_samples,
            minimum=1,
            maximum=MAX_SAMPLES,
            step=1,
            cost_impact=True,
        ),
        ModelInput(
            "numInferenceSteps",
            "number",
            "Steps",
            "Denoising steps: more is more detail and proportionally more time.",
            default=DEFAULT_STEPS if steps is None else steps,
            minimum=1,
            maximum=MAX_STEPS,
            step=1,
            cost_impact=True,
        ),
        ModelInput(
            "guidance",
            "number",
            "Guidance",
            "How strictly the image follows the prompt (classifier-free guidance)"
            + ("." if guidance is not None else "; the default depends on the model family (7.5 SD 1.5, 6 SDXL)."),
            default=guidance,
            minimum=0.0,
            maximum=max(MAX_GUIDANCE if len(families) > 1 else 0.0, *(f.max_guidance for f in families)),
            step=0.1,
        ),
        *(
            ModelInput(
                axis,
                "number",
                axis.capitalize(),
                f"Output {axis} in pixels, a multiple of 8 ({sizes}); with an input image its own {axis}.",
                default=size,
                minimum=low,
                maximum=high,
                step=size_step,
                cost_impact=True,
            )
            for axis in ("width", "height")
        ),
        ModelInput(
            "scheduler",
            "string",
            "Scheduler",
            "The sampler (a diffusers scheduler class)"
            + (f"; default {shape.scheduler}, the model's own." if shape.scheduler else "; default: the model's own."),
            default=shape.scheduler,
            allowed_values=schedulers,
        ),
        ModelInput(
            "seed",
            "number",
            "Seed",
            "Makes the result reproducible: the same seed and inputs give the same images. Random when left out "
            "(the job's metadata.input.seed tells which). A string of digits is accepted too.",
            minimum=0,
            maximum=MAX_SEED,
            step=1,
        ),
    ]


def _extras(shape: _Shape) -> list[ModelInput]:
    concepts = ModelInput(
        CONCEPTS,
        "model_array",
        "LoRAs",
        f"LoRA models to stack on this one: each a LoRA model id (scale 1) or {{modelId, scale}} with scale in "
        f"[{CONCEPT_SCALE[0]:g}, {CONCEPT_SCALE[1]:g}].",
        allowed_values=shape.loras,
        max_items=MAX_CONCEPTS,
        model_types=shape.lora_types,
    )
    inputs = [concepts]
    if any(f.true_cfg_modes for f in shape.families):
        inputs.append(
            ModelInput(
                "negativePromptStrength",
                "number",
                "Negative prompt strength",
                "FLUX: the weight of negativePrompt (true classifier-free guidance, twice the work per step); must "
                "be > 0 when a negative prompt is given. Used in txt2img and img2img.",
                default=0.0,
                minimum=0.0,
                maximum=10.0,
                step=0.1,
            )
        )
    if shape.epochs:
        inputs.append(
            ModelInput(
                "modelEpoch",
                "string",
                "Training epoch",
                "Which training epoch of this LoRA runs (default: the last).",
                default=shape.epochs[-1],
                allowed_values=shape.epochs,
            )
        )
    if shape.bases is not None:
        inputs.append(
            ModelInput(
                "baseModelId",
                "string",
                "Base model",
                "Only for a LoRA model: which of its compliant base models it runs on (default: the first registered).",
                default=shape.bases[0] if shape.bases else None,
                allowed_values=shape.bases,
            )
        )
    inputs += [
        ModelInput(
            "hideResults",
            "boolean",
            "Hide results",
            "true: the generated assets are left out of asset listings (still readable by id).",
            default=False,
        ),
        ModelInput(
            "intermediateImages",
            "boolean",
            "Previews",
            "true: while the job runs, job.metadata.output.intermediateImages holds URLs of previews.",
            default=False,
        ),
    ]
    return inputs
