"""Checking a request against the model it names, before any work; filling in every default.

Each failure raises InvalidRequest with the field and a message saying what was wrong and what is allowed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from diffuserve.catalog.registry import ModelSpec, ModelType, Registry
from diffuserve.catalog.schedulers import SCHEDULER_NAMES, default_scheduler_name
from diffuserve.catalog.types import Concept, GenerationRequest, Mode, ResolvedRequest
from diffuserve.errors import InvalidRequest, NotFound


@dataclass(frozen=True)
class TypeLimits:
    """Defaults and ranges that depend on the model family (spec §3.1)."""

    default_guidance: float
    default_size: int
    min_size: int
    max_size: int


LIMITS = {
    "sd15": TypeLimits(default_guidance=7.5, default_size=512, min_size=64, max_size=1024),
    "sdxl": TypeLimits(default_guidance=6.0, default_size=1024, min_size=512, max_size=2048),
}
MAX_SAMPLES = 128
MAX_STEPS = 150
MAX_GUIDANCE = 20.0
MAX_SEED = 2**63 - 1 - MAX_SAMPLES
MAX_IP_IMAGES = 8
MAX_CONCEPTS = 8
DEFAULT_STEPS = 30
DEFAULT_STRENGTH = 0.75
DEFAULT_IP_SCALE = 0.9


def base_model(registry: Registry, lora: ModelSpec) -> ModelSpec:
    """The model a LoRA model id runs on: its first registered compliant base."""
    for base_id in lora.compliant_model_ids:
        try:
            return registry.get(base_id)
        except NotFound:
            continue
    raise InvalidRequest(
        f"LoRA model {lora.id!r} has no registered base model (compliantModelIds: {list(lora.compliant_model_ids)})",
        field="modelId",
        reason="model_without_base",
    )


def resolve_model(registry: Registry, request: GenerationRequest) -> tuple[ModelSpec, GenerationRequest]:
    """The base model that runs the request; a LoRA model id runs its base (`baseModelId`, or its first
    registered compliant base) with the LoRA at scale 1."""
    model = registry.get(request.model_id)
    _check_epoch(model, request.model_epoch, "modelEpoch")
    if not model.type.is_lora:
        if request.base_model_id:
            raise InvalidRequest(
                f"baseModelId applies when modelId is a LoRA model; {model.id!r} is a {model.type.value} model",
                field="baseModelId",
            )
        return model, request
    if request.base_model_id:
        if request.base_model_id not in model.compliant_model_ids:
            raise InvalidRequest(
                f"baseModelId {request.base_model_id!r} is not a base of LoRA {model.id!r}; allowed: "
                f"{list(model.compliant_model_ids)}",
                field="baseModelId",
            )
        base = registry.get(request.base_model_id)
    else:
        base = base_model(registry, model)
    return base, replace(request, model_id=base.id, concepts=(Concept(model.id, 1.0), *request.concepts))


def _check_epoch(model: ModelSpec, epoch: str | None, field: str) -> None:
    """Training epochs exist for LoRAs trained with several (the Flux LoRAs); the models served here have none."""
    if epoch:
        raise InvalidRequest(
            f"model {model.id!r} has no training epochs to choose from; leave {field} out", field=field
        )


def _check_capability(model: ModelSpec, mode: Mode) -> None:
    if mode.capability not in model.capabilities:
        raise InvalidRequest(
            f"model {model.id!r} cannot run {mode.capability}; its capabilities are {list(model.capabilities)}",
            field="modelId",
            reason="unsupported_capability",
        )


def _check_range(field: str, value: float, low: float, high: float, what: str = "a number") -> None:
    if not low <= value <= high:
        raise InvalidRequest(f"{field} must be {what} in [{_num(low)}, {_num(high)}], got {_num(value)}", field=field)


def _num(value: float) -> str:
    """Integers exactly (seeds are long), other numbers short."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_size(field: str, value: int, limits: TypeLimits, model_type: ModelType) -> None:
    if value % 8 or not limits.min_size <= value <= limits.max_size:
        raise InvalidRequest(
            f"{field} must be a multiple of 8 in [{limits.min_size}, {limits.max_size}] for {model_type.value} "
            f"models, got {value}",
            field=field,
        )


def _default_size(request: GenerationRequest, limits: TypeLimits) -> tuple[int, int]:
    """Without width/height, an input image keeps its own size (rounded down to 8, clamped to the range)."""
    if request.image is None:
        return limits.default_size, limits.default_size
    w, h = request.image.size

    def fit(v: int) -> int:
        return max(limits.min_size, min(limits.max_size, v - v % 8))

    return fit(w), fit(h)


def _resolve_ip_scales(request: GenerationRequest) -> tuple[float, ...]:
    n = len(request.ip_adapter_images)
    scales = request.ip_adapter_scales
    if len(scales) > n:
        raise InvalidRequest(
            f"ipAdapterScales has {len(scales)} values but there are {n} IP-Adapter images; give one scale per "
            "image, or one for all",
            field="ipAdapterScales",
        )
    for i, s in enumerate(scales):
        _check_range(f"ipAdapterScales[{i}]", s, 0.0, 1.0)
    if len(scales) == 1:
        return scales * n
    return scales + (DEFAULT_IP_SCALE,) * (n - len(scales))


def lora_fits(lora: ModelSpec, model: ModelSpec) -> bool:
    """Whether a LoRA can be stacked on `model`: listed in its compliantModelIds, or of the same family."""
    if lora.compliant_model_ids:
        return model.id in lora.compliant_model_ids
    return lora.type.family == model.type.family


def _check_concepts(registry: Registry, model: ModelSpec, concepts: tuple[Concept, ...]) -> None:
    if len(concepts) > MAX_CONCEPTS:
        raise InvalidRequest(f"concepts allows at most {MAX_CONCEPTS} LoRAs, got {len(concepts)}", field="concepts")
    seen: set[str] = set()
    for i, concept in enumerate(concepts):
        field = f"concepts[{i}]"
        _check_range(f"{field}.scale", concept.scale, -2.0, 2.0)
        if concept.model_id in seen:
            raise InvalidRequest(f"{field}.modelId {concept.model_id!r} is given twice", field=field)
        seen.add(concept.model_id)
        lora = registry.get(concept.model_id)
        _check_epoch(lora, concept.model_epoch, f"{field}.modelEpoch")
        if not lora.type.is_lora:
            raise InvalidRequest(
                f"{field}.modelId {lora.id!r} is a {lora.type.value} model, not a LoRA (sd-1_5-lora or sd-xl-lora)",
                field=f"{field}.modelId",
            )
        if not lora_fits(lora, model):
            raise InvalidRequest(
                f"{field}.modelId {lora.id!r} does not fit model {model.id!r}; it fits "
                f"{list(lora.compliant_model_ids) or lora.type.family}",
                field=f"{field}.modelId",
            )


def validate(registry: Registry, request: GenerationRequest) -> ResolvedRequest:
    """Check every rule and fill every default; raise InvalidRequest or NotFound on the first broken rule."""
    _check_capability(registry.get(request.model_id), request.mode)  # a LoRA model id: its own capabilities
    model, request = resolve_model(registry, request)
    _check_capability(model, request.mode)
    mode = request.mode
    limits = LIMITS[model.type.family]
    if model.default_size is not None:
        limits = replace(limits, default_size=model.default_size)

    if not request.prompt.strip():
        raise InvalidRequest("prompt must not be empty", field="prompt")
    _check_range("numSamples", request.num_samples, 1, MAX_SAMPLES, "an integer")

    steps = DEFAULT_STEPS if request.num_inference_steps is None else request.num_inference_steps
    _check_range("numInferenceSteps", steps, 1, MAX_STEPS, "an integer")
    guidance = limits.default_guidance if request.guidance is None else request.guidance
    _check_range("guidance", guidance, 0.0, MAX_GUIDANCE)

    default_w, default_h = _default_size(request, limits)
    width = default_w if request.width is None else request.width
    height = default_h if request.height is None else request.height
    _check_size("width", width, limits, model.type)
    _check_size("height", height, limits, model.type)

    seed = secrets.randbelow(2**32) if request.seed is None else request.seed
    _check_range("seed", seed, 0, MAX_SEED, "an integer")

    scheduler = request.scheduler or model.default_scheduler or default_scheduler_name(model)
    if scheduler not in SCHEDULER_NAMES:
        raise InvalidRequest(
            f"scheduler must be one of {', '.join(SCHEDULER_NAMES)}; got {scheduler!r}", field="scheduler"
        )

    strength = DEFAULT_STRENGTH if request.strength is None else request.strength
    if mode.uses_image:
        if request.image is None:
            raise InvalidRequest(f"{mode.value} needs an input image (image or imageId)", field="image")
        _check_range("strength", strength, 0.01, 1.0)
        if int(steps * strength) < 1:
            raise InvalidRequest(
                f"numInferenceSteps x strength must be at least 1 (it is {steps} x {strength:g}); raise either",
                field="strength",
            )
    if mode.uses_mask and request.mask is None:
        raise InvalidRequest(f"{mode.value} needs a mask (mask or maskId); white marks what to replace", field="mask")

    ip_scales: tuple[float, ...] = ()
    if mode.uses_ip_adapter:
        n = len(request.ip_adapter_images)
        if n == 0:
            raise InvalidRequest(
                f"{mode.value} needs at least one IP-Adapter image (ipAdapterImages or ipAdapterImageIds)",
                field="ipAdapterImages",
            )
        if n > MAX_IP_IMAGES:
            raise InvalidRequest(
                f"ipAdapterImages allows at most {MAX_IP_IMAGES} images, got {n}", field="ipAdapterImages"
            )
        if request.ip_adapter_type not in model.ip_adapters:
            raise InvalidRequest(
                f"model {model.id!r} has no {request.ip_adapter_type.value!r} IP-Adapter; it has "
                f"{[t.value for t in model.ip_adapters]}",
                field="ipAdapterType",
            )
        ip_scales = _resolve_ip_scales(request)

    _check_concepts(registry, model, request.concepts)
    return ResolvedRequest(
        request=request,
        model_type=model.type.value,
        num_inference_steps=int(steps),
        guidance=float(guidance),
        width=int(width),
        height=int(height),
        seed=int(seed),
        scheduler=scheduler,
        strength=float(strength),
        ip_adapter_scales=ip_scales,
        concepts=request.concepts,
    )
