"""A generate request body (spec §3) to typed fields and image references, applying the §3.3 precedence rules.

Model-dependent rules (ranges per model type, capabilities, scheduler names, concepts) are the engine's
(`Engine.validate`); this module checks what the wire itself says: types, required fields, which of two fields
wins, and combinations that are not allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diffuserve.catalog.types import IpAdapterType, Mode
from diffuserve.catalog.validation import MAX_IP_IMAGES
from diffuserve.errors import InvalidRequest
from diffuserve.service import coerce
from diffuserve.service.images import ImageRef, asset_ref, parse_image_ref
from diffuserve.service.wire_fields import unknown_fields

ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "9:21")
MAX_NEGATIVE_PROMPT_STRENGTH = 10.0

DEFAULT_NUM_SAMPLES = 4  # spec S1 default (guides say 1; the published OpenAPI wins)


@dataclass(frozen=True)
class ParsedGeneration:
    """Typed fields under wire names (for jobs.inputs.build_request) and the image inputs still to load."""

    fields: dict[str, Any]
    image: ImageRef | None
    mask: ImageRef | None
    ip_adapter_images: tuple[ImageRef, ...]
    image_parent_id: str | None
    image_hide: bool
    hide_results: bool
    # Fields the request sent that this mode does not know: {field, message, closest?} each.
    warnings: tuple[dict[str, str], ...] = ()


def _concepts(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("concepts")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest("concepts must be an array of {modelId, scale}", field="concepts")
    concepts = []
    for i, item in enumerate(raw):
        name = f"concepts[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequest(f"{name} must be an object {{modelId, scale}}", field=name)
        model_id = coerce.as_str(item, "modelId")
        scale = coerce.as_float(item, "scale")
        if not model_id:
            raise InvalidRequest(f"{name}.modelId is required", field=f"{name}.modelId")
        if scale is None:
            raise InvalidRequest(f"{name}.scale is required (a number in [-2, 2])", field=f"{name}.scale")
        concept: dict[str, Any] = {"modelId": model_id, "scale": scale}
        epoch = coerce.as_str(item, "modelEpoch")
        if epoch:
            concept["modelEpoch"] = epoch
        concepts.append(concept)
    return concepts


def _image(body: Mapping[str, Any], mode: Mode, inline: str, by_id: str, *, what: str, reason: str) -> ImageRef:
    """Rules 1 and 2: the inline field (data URL or asset id) wins over the id field; one is required."""
    value = coerce.as_str(body, inline)
    if value:
        return parse_image_ref(value, field=inline)
    asset_id = coerce.as_str(body, by_id)
    if asset_id:
        return asset_ref(asset_id, field=by_id)
    raise InvalidRequest(
        f"{mode.value} needs {what}: {inline} (a data URL or an asset id) or {by_id}", field=inline, reason=reason
    )


def _optional_image(body: Mapping[str, Any], inline: str, by_id: str) -> ImageRef | None:
    """An image a mode may take: the inline field wins over the id field; neither is fine."""
    value = coerce.as_str(body, inline)
    if value:
        return parse_image_ref(value, field=inline)
    asset_id = coerce.as_str(body, by_id)
    return asset_ref(asset_id, field=by_id) if asset_id else None


def _flux_fields(body: Mapping[str, Any], fields: dict[str, Any]) -> None:
    """Fields Scenario defines for Flux models: checked here; the model rules (engine) say what they do."""
    strength = coerce.as_float(body, "negativePromptStrength")
    if strength is not None:
        if not 0.0 <= strength <= MAX_NEGATIVE_PROMPT_STRENGTH:
            raise InvalidRequest(
                f"negativePromptStrength must be a number in [0, {MAX_NEGATIVE_PROMPT_STRENGTH:g}], got {strength:g}",
                field="negativePromptStrength",
            )
        fields["negativePromptStrength"] = strength
    ratio = coerce.as_str(body, "aspectRatio")
    if ratio is not None:
        if ratio not in ASPECT_RATIOS:
            raise InvalidRequest(
                f"aspectRatio must be one of {', '.join(ASPECT_RATIOS)}; got {ratio!r}", field="aspectRatio"
            )
        fields["aspectRatio"] = ratio
    for name in ("baseModelId", "modelEpoch"):
        value = coerce.as_str(body, name)
        if value:
            fields[name] = value


def check_ip_image_count(count: int, *, field: str) -> None:
    """The engine's limit on IP-Adapter images, checked before any of them is decoded or fetched."""
    if count > MAX_IP_IMAGES:
        raise InvalidRequest(f"ipAdapterImages allows at most {MAX_IP_IMAGES} images, got {count}", field=field)


def _ip_images(body: Mapping[str, Any], mode: Mode) -> tuple[ImageRef, ...]:
    """Rule 3: ipAdapterImages > ipAdapterImageIds > ipAdapterImage > ipAdapterImageId."""
    single = coerce.as_str(body, "ipAdapterImage")
    single_id = coerce.as_str(body, "ipAdapterImageId")
    if single and single_id:
        raise InvalidRequest(
            "ipAdapterImageId cannot be set when ipAdapterImage is provided; send one of them",
            field="ipAdapterImageId",
            reason="conflicting_fields",
        )
    images = coerce.as_str_list(body, "ipAdapterImages")
    if images:
        check_ip_image_count(len(images), field="ipAdapterImages")
        return tuple(parse_image_ref(v, field=f"ipAdapterImages[{i}]") for i, v in enumerate(images))
    ids = coerce.as_str_list(body, "ipAdapterImageIds")
    if ids:
        check_ip_image_count(len(ids), field="ipAdapterImageIds")
        return tuple(asset_ref(v, field=f"ipAdapterImageIds[{i}]") for i, v in enumerate(ids))
    if single:
        return (parse_image_ref(single, field="ipAdapterImage"),)
    if single_id:
        return (asset_ref(single_id, field="ipAdapterImageId"),)
    raise InvalidRequest(
        f"{mode.value} needs at least one IP-Adapter image: ipAdapterImages (data URLs or asset ids), "
        "ipAdapterImageIds, ipAdapterImage or ipAdapterImageId",
        field="ipAdapterImages",
        reason="missing_ip_adapter_image",
    )


def _ip_scales(body: Mapping[str, Any]) -> list[float]:
    """Rule 4: ipAdapterScales > ipAdapterScale > 0.9 each (broadcast and range checks are the engine's)."""
    scales = coerce.as_float_list(body, "ipAdapterScales")
    if scales:
        return scales
    scale = coerce.as_float(body, "ipAdapterScale")
    if scale is not None:
        if not 0.0 <= scale <= 1.0:
            raise InvalidRequest(f"ipAdapterScale must be a number in [0, 1], got {scale:g}", field="ipAdapterScale")
        return [scale]
    return []


def parse_generation(mode: Mode, body: Mapping[str, Any]) -> ParsedGeneration:
    """Reads the fields the mode uses; fields it does not know come back as warnings."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object", field="body")
    model_id = coerce.as_str(body, "modelId")
    if not model_id:
        raise InvalidRequest("modelId is required", field="modelId", reason="missing_field")
    prompt = coerce.as_str(body, "prompt")
    if prompt is None:
        raise InvalidRequest("prompt is required", field="prompt", reason="missing_field")
    num_samples = coerce.as_int(body, "numSamples")
    fields: dict[str, Any] = {
        "modelId": model_id,
        "prompt": prompt,
        "negativePrompt": coerce.as_str(body, "negativePrompt") or None,
        "seed": coerce.as_seed(body),
        "numSamples": DEFAULT_NUM_SAMPLES if num_samples is None else num_samples,
        "numInferenceSteps": coerce.as_int(body, "numInferenceSteps"),
        "guidance": coerce.as_float(body, "guidance"),
        "width": coerce.as_int(body, "width"),
        "height": coerce.as_int(body, "height"),
        "scheduler": coerce.as_str(body, "scheduler") or None,
        "concepts": _concepts(body),
        "intermediateImages": coerce.as_bool(body, "intermediateImages"),
    }
    _flux_fields(body, fields)
    image = mask = None
    ip_images: tuple[ImageRef, ...] = ()
    if mode.uses_image:
        image = _image(body, mode, "image", "imageId", what="an input image", reason="missing_image")
        fields["strength"] = coerce.as_float(body, "strength")
    if mode.uses_mask:
        mask = _image(body, mode, "mask", "maskId", what="a mask (white = area to replace)", reason="missing_mask")
        fields["disableMerging"] = coerce.as_bool(body, "disableMerging")
    elif mode.uses_image:
        mask = _optional_image(body, "mask", "maskId")  # img2img: the change stays inside the mask
    if mode.uses_ip_adapter:
        ip_images = _ip_images(body, mode)
        fields["ipAdapterScales"] = _ip_scales(body)
        ip_type = coerce.as_str(body, "ipAdapterType") or IpAdapterType.STYLE.value
        if ip_type not in {t.value for t in IpAdapterType}:
            raise InvalidRequest(
                f"ipAdapterType must be one of style, character; got {ip_type!r}", field="ipAdapterType"
            )
        fields["ipAdapterType"] = ip_type
    return ParsedGeneration(
        fields=fields,
        image=image,
        mask=mask,
        ip_adapter_images=ip_images,
        image_parent_id=coerce.as_str(body, "imageParentId") or None,
        image_hide=coerce.as_bool(body, "imageHide"),
        hide_results=coerce.as_bool(body, "hideResults"),
        warnings=tuple(unknown_fields(mode, body)),
    )
