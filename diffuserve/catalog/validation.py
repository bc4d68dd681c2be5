"""Checking a request against the model it names, before any work; filling in every default.

Each failure raises InvalidRequest with the field and a message saying what was wrong and what is allowed.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from diffuserve.catalog.families import FAMILIES, FamilyRules, rules_for
from diffuserve.catalog.registry import ModelSpec, ModelType, Registry
from diffuserve.catalog.schedulers import default_scheduler_name
from diffuserve.catalog.types import (
    Concept,
    GenerationRequest,
    IpAdapterUse,
    Mode,
    ResolvedIpAdapter,
    ResolvedRequest,
)
from diffuserve.errors import InvalidRequest, NotFound

# Defaults and ranges that depend on the model family (spec §3.1), by family name.
TypeLimits = FamilyRules
LIMITS: dict[str, FamilyRules] = FAMILIES
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
    """The model a LoRA (or composition) model id runs on: its first registered compliant base."""
    for base_id in lora.compliant_model_ids:
        try:
            return registry.get(base_id)
        except NotFound:
            continue
    what = "composition" if lora.type.is_composition else "LoRA model"
    raise InvalidRequest(
        f"{what} {lora.id!r} has no registered base model (compliantModelIds: {list(lora.compliant_model_ids)})",
        field="modelId",
        reason="model_without_base",
    )


def resolve_model(registry: Registry, request: GenerationRequest) -> tuple[ModelSpec, GenerationRequest]:
    """The base model that runs the request. A LoRA model id runs its base (`baseModelId`, or its first
    registered compliant base) with the LoRA at scale 1 (`modelEpoch`: which epoch); a composition runs its base
    with its LoRAs, before the request's own concepts."""
    model = registry.get(request.model_id)
    if not model.type.runs_on_base:
        if request.base_model_id:
            raise InvalidRequest(
                f"baseModelId applies when modelId is a LoRA model; {model.id!r} is a {model.type.value} model",
                field="baseModelId",
            )
        resolve_epoch(model, request.model_epoch, "modelEpoch")
        return model, request
    if request.base_model_id:
        if request.base_model_id not in model.compliant_model_ids:
            raise InvalidRequest(
                f"baseModelId {request.base_model_id!r} is not a base of {model.type.value} model {model.id!r}; "
                f"allowed: {list(model.compliant_model_ids)}",
                field="baseModelId",
            )
        base = registry.get(request.base_model_id)
    else:
        base = base_model(registry, model)
    if model.type.is_composition:
        resolve_epoch(model, request.model_epoch, "modelEpoch")
        own = tuple(Concept(c.model_id, c.scale, c.model_epoch) for c in model.concepts)
    else:
        own = (Concept(model.id, 1.0, resolve_epoch(model, request.model_epoch, "modelEpoch")),)
    return base, replace(request, model_id=base.id, concepts=(*own, *request.concepts))


def resolve_epoch(model: ModelSpec, epoch: str | None, field: str) -> str | None:
    """The training epoch of a LoRA that runs: the one asked for, else its last; None for models without epochs."""
    names = model.epoch_names
    if not names:
        if epoch:
            raise InvalidRequest(
                f"model {model.id!r} has no training epochs to choose from; leave {field} out", field=field
            )
        return None
    if epoch is None or epoch == "":
        return names[-1]
    if epoch not in names:
        raise InvalidRequest(
            f"{field} {epoch!r} is not an epoch of LoRA {model.id!r}; available: {list(names)} (default: the last)",
            field=field,
            reason="unknown_epoch",
        )
    return epoch


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
    step = limits.size_multiple
    if value % step or not limits.min_size <= value <= limits.max_size:
        raise InvalidRequest(
            f"{field} must be a multiple of {step} in [{limits.min_size}, {limits.max_size}] for {model_type.value} "
            f"models, got {value}",
            field=field,
        )


def _default_size(request: GenerationRequest, limits: TypeLimits) -> tuple[int, int]:
    """Without width/height, an input image keeps its own size (rounded down to the size step, clamped)."""
    if request.image is None:
        return limits.default_size, limits.default_size
    w, h = request.image.size

    def fit(v: int) -> int:
        return max(limits.min_size, min(limits.max_size, v - v % limits.size_multiple))

    return fit(w), fit(h)


def _resolve_ip_scales(use: IpAdapterUse, field: str, *, references: bool) -> tuple[float, ...]:
    n = len(use.images)
    scales = use.scales
    if len(scales) > n:
        raise InvalidRequest(
            f"{field} has {len(scales)} values but there are {n} IP-Adapter images; give one scale per "
            "image, or one for all",
            field=field,
        )
    for i, s in enumerate(scales):
        _check_range(f"{field}[{i}]", s, 0.0, 1.0)
        if references and s != 1.0:
            raise InvalidRequest(
                f"{field}[{i}] must be 1 (or left out): FLUX.2 conditions on reference images directly, as "
                f"tokens beside the image's, with no IP-Adapter and no weight; got {_num(s)}",
                field=f"{field}[{i}]",
                reason="reference_scale_unsupported",
            )
    default = 1.0 if references else DEFAULT_IP_SCALE
    if len(scales) == 1:
        return scales * n
    return scales + (default,) * (n - len(scales))


def _resolve_ip_adapters(
    model: ModelSpec, request: GenerationRequest, limits: FamilyRules
) -> tuple[ResolvedIpAdapter, ...]:
    """Each IP-Adapter set in use with one scale per image; the single-set fields report under their own names.

    On a family that takes references itself (FLUX.2) the images are references: no adapter is needed, every
    scale is 1, and the input image counts towards the family's limit."""
    mode = request.mode
    if request.ip_adapters and request.ip_adapter_images:
        raise InvalidRequest(
            "give the IP-Adapter images either per set (ipAdapters) or as ipAdapterImages, not both",
            field="ipAdapters",
        )
    uses = request.ip_adapter_uses()
    multi = bool(request.ip_adapters)
    images_field = "ipAdapters" if multi else "ipAdapterImages"
    references = limits.max_references > 0
    total = sum(len(u.images) for u in uses)
    if total == 0 or any(not u.images for u in uses):
        raise InvalidRequest(
            f"{mode.value} needs at least one IP-Adapter image (ipAdapterImages or ipAdapterImageIds)"
            + (" in every ipAdapters entry" if multi else ""),
            field=images_field,
        )
    if total > MAX_IP_IMAGES:
        raise InvalidRequest(f"ipAdapterImages allows at most {MAX_IP_IMAGES} images, got {total}", field=images_field)
    if references and total + mode.uses_image > limits.max_references:
        raise InvalidRequest(
            f"{limits.label} takes at most {limits.max_references} reference images (the input image and the "
            f"IP-Adapter images together), got {total + mode.uses_image}",
            field=images_field,
            reason="too_many_references",
        )
    resolved: list[ResolvedIpAdapter] = []
    for k, use in enumerate(uses):
        prefix = f"ipAdapters[{k}]." if multi else "ipAdapter"
        if use.type not in model.ip_adapters and not references:
            raise InvalidRequest(
                f"model {model.id!r} has no {use.type.value!r} IP-Adapter; it has "
                f"{[t.value for t in model.ip_adapters]}",
                field=f"{prefix}type" if multi else "ipAdapterType",
                reason="unknown_ip_adapter",
            )
        if any(r.type is use.type for r in resolved):
            raise InvalidRequest(
                f"ipAdapters[{k}].type {use.type.value!r} is given twice; put all its images in one entry",
                field=f"ipAdapters[{k}].type",
            )
        scales = _resolve_ip_scales(use, f"{prefix}scales" if multi else "ipAdapterScales", references=references)
        resolved.append(ResolvedIpAdapter(use.type, scales))
    return tuple(resolved)


def lora_fits(lora: ModelSpec, model: ModelSpec) -> bool:
    """Whether a LoRA can be stacked on `model`: listed in its compliantModelIds, or of the same family."""
    if lora.compliant_model_ids:
        return model.id in lora.compliant_model_ids
    return lora.type.family == model.type.family


def _check_concepts(registry: Registry, model: ModelSpec, concepts: tuple[Concept, ...]) -> tuple[Concept, ...]:
    """Checks every concept; returns them with each LoRA's epoch resolved (its last unless one is asked)."""
    if len(concepts) > MAX_CONCEPTS:
        raise InvalidRequest(f"concepts allows at most {MAX_CONCEPTS} LoRAs, got {len(concepts)}", field="concepts")
    seen: set[str] = set()
    resolved: list[Concept] = []
    for i, concept in enumerate(concepts):
        field = f"concepts[{i}]"
        _check_range(f"{field}.scale", concept.scale, -2.0, 2.0)
        if concept.model_id in seen:
            raise InvalidRequest(f"{field}.modelId {concept.model_id!r} is given twice", field=field)
        seen.add(concept.model_id)
        lora = registry.get(concept.model_id)
        if not lora.type.is_lora:
            lora_types = ", ".join(t.value for t in ModelType if t.is_lora and t.family == model.type.family)
            raise InvalidRequest(
                f"{field}.modelId {lora.id!r} is a {lora.type.value} model, not a LoRA ({lora_types})",
                field=f"{field}.modelId",
            )
        epoch = resolve_epoch(lora, concept.model_epoch, f"{field}.modelEpoch")
        if not lora_fits(lora, model):
            raise InvalidRequest(
                f"{field}.modelId {lora.id!r} does not fit model {model.id!r}; it fits "
                f"{list(lora.compliant_model_ids) or lora.type.family}",
                field=f"{field}.modelId",
            )
        resolved.append(Concept(concept.model_id, concept.scale, epoch))
    return tuple(resolved)


def _resolve_negative_strength(rules: FamilyRules, model: ModelSpec, request: GenerationRequest) -> float:
    """FLUX.1: a negative prompt works through true classifier-free guidance, weighted by negativePromptStrength;
    FLUX.2 [dev] has no negative prompt; other families ignore the strength (their guidance is classifier-free
    already)."""
    if request.negative_prompt and not rules.negative_prompt:
        raise InvalidRequest(
            f"{model.type.value} models take no negativePrompt: {rules.label} has guidance distilled into the model "
            "and its pipeline no negative branch; leave negativePrompt out",
            field="negativePrompt",
            reason="negative_prompt_unsupported",
        )
    if not rules.true_cfg_modes:
        return 0.0
    strength = request.negative_prompt_strength or 0.0
    if request.negative_prompt and strength <= 0:
        raise InvalidRequest(
            f"negativePrompt on {model.type.value} models needs negativePromptStrength > 0 (true classifier-free "
            "guidance, in (0, 10]; it doubles the work per step); add it or leave negativePrompt out",
            field="negativePromptStrength",
            reason="negative_prompt_without_strength",
        )
    return strength if request.mode in rules.true_cfg_modes else 0.0


def validate(registry: Registry, request: GenerationRequest) -> ResolvedRequest:
    """Check every rule and fill every default; raise InvalidRequest or NotFound on the first broken rule."""
    _check_capability(registry.get(request.model_id), request.mode)  # a LoRA model id: its own capabilities
    model, request = resolve_model(registry, request)
    _check_capability(model, request.mode)
    mode = request.mode
    limits = rules_for(model)

    if not request.prompt.strip():
        raise InvalidRequest("prompt must not be empty", field="prompt")
    _check_range("numSamples", request.num_samples, 1, MAX_SAMPLES, "an integer")

    steps = limits.default_steps if request.num_inference_steps is None else request.num_inference_steps
    _check_range("numInferenceSteps", steps, 1, MAX_STEPS, "an integer")
    guidance = limits.default_guidance if request.guidance is None else request.guidance
    _check_range("guidance", guidance, 0.0, limits.max_guidance)
    if not limits.uses_guidance:
        guidance = 0.0  # timestep-distilled: the model has no guidance input

    default_w, default_h = _default_size(request, limits)
    width = default_w if request.width is None else request.width
    height = default_h if request.height is None else request.height
    _check_size("width", width, limits, model.type)
    _check_size("height", height, limits, model.type)

    seed = secrets.randbelow(2**32) if request.seed is None else request.seed
    _check_range("seed", seed, 0, MAX_SEED, "an integer")

    scheduler = request.scheduler or model.default_scheduler or default_scheduler_name(model)
    if scheduler not in limits.schedulers:
        if limits.schedulers == LIMITS["sd15"].schedulers:
            message = f"scheduler must be one of {', '.join(limits.schedulers)}; got {scheduler!r}"
        else:
            message = (
                f"scheduler {scheduler!r} does not work with {model.type.value} models ({limits.label} is a "
                f"flow-matching model); use one of {', '.join(limits.schedulers)}"
            )
        raise InvalidRequest(message, field="scheduler", reason="unsupported_scheduler")

    strength = DEFAULT_STRENGTH if request.strength is None else request.strength
    if mode.uses_image:
        if request.image is None:
            raise InvalidRequest(f"{mode.value} needs an input image (image or imageId)", field="image")
        _check_range("strength", strength, 0.01, 1.0)
        if limits.uses_strength and int(steps * strength) < 1:
            raise InvalidRequest(
                f"numInferenceSteps x strength must be at least 1 (it is {steps} x {strength:g}); raise either",
                field="strength",
            )
    if mode.uses_mask and request.mask is None:
        raise InvalidRequest(f"{mode.value} needs a mask (mask or maskId); white marks what to replace", field="mask")

    negative_strength = _resolve_negative_strength(limits, model, request)
    ip_adapters = _resolve_ip_adapters(model, request, limits) if mode.uses_ip_adapter else ()
    concepts = _check_concepts(registry, model, request.concepts)
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
        ip_adapter_scales=tuple(s for a in ip_adapters for s in a.scales),
        concepts=concepts,
        ip_adapters=ip_adapters,
        negative_prompt_strength=float(negative_strength),
    )
