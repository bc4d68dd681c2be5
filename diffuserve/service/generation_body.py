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
from diffuserve.service.generate_schemas import BODY_BY_MODE, GenerateBody
from diffuserve.service.images import ImageRef, asset_ref, parse_image_ref
from diffuserve.service.wire_fields import unknown_fields
from diffuserve.service.wire_types import validate_model


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
    # `ipAdapters` (several sets at once): each set's references, in order; fields["ipAdapters"] has their types.
    ip_adapter_sets: tuple[tuple[ImageRef, ...], ...] = ()


def read_body(mode: Mode, body: Mapping[str, Any] | GenerateBody) -> GenerateBody:
    """The mode's wire model from a JSON object (or the model itself, as FastAPI already parsed it)."""
    model = BODY_BY_MODE[mode]
    if isinstance(body, model):
        return body
    if isinstance(body, GenerateBody):
        body = body.model_dump(exclude_unset=True)
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object", field="body")
    return validate_model(model, body)


def _concepts(body: GenerateBody) -> list[dict[str, Any]]:
    concepts = []
    for item in getattr(body, "concepts", None) or []:
        concept: dict[str, Any] = {"modelId": item.modelId, "scale": item.scale}
        if item.modelEpoch:
            concept["modelEpoch"] = item.modelEpoch
        concepts.append(concept)
    return concepts


def _image(
    value: str | None, asset_id: str | None, mode: Mode, names: tuple[str, str], what: str, reason: str
) -> ImageRef:
    """Rules 1 and 2: the inline field (data URL or asset id) wins over the id field; one is required."""
    image = _optional_image(value, asset_id, names)
    if image is None:
        inline, by_id = names
        raise InvalidRequest(
            f"{mode.value} needs {what}: {inline} (a data URL or an asset id) or {by_id}", field=inline, reason=reason
        )
    return image


def _optional_image(value: str | None, asset_id: str | None, names: tuple[str, str]) -> ImageRef | None:
    """An image a mode may take: the inline field wins over the id field; neither is fine."""
    if value:
        return parse_image_ref(value, field=names[0])
    return asset_ref(asset_id, field=names[1]) if asset_id else None


def check_ip_image_count(count: int, *, field: str) -> None:
    """The engine's limit on IP-Adapter images, checked before any of them is decoded or fetched."""
    if count > MAX_IP_IMAGES:
        raise InvalidRequest(f"ipAdapterImages allows at most {MAX_IP_IMAGES} images, got {count}", field=field)


def _ip_images(body: Any, mode: Mode) -> tuple[ImageRef, ...]:
    """Rule 3: ipAdapterImages > ipAdapterImageIds > ipAdapterImage > ipAdapterImageId."""
    single, single_id = body.ipAdapterImage, body.ipAdapterImageId
    if single and single_id:
        raise InvalidRequest(
            "ipAdapterImageId cannot be set when ipAdapterImage is provided; send one of them",
            field="ipAdapterImageId",
            reason="conflicting_fields",
        )
    if body.ipAdapterImages:
        check_ip_image_count(len(body.ipAdapterImages), field="ipAdapterImages")
        return tuple(parse_image_ref(v, field=f"ipAdapterImages[{i}]") for i, v in enumerate(body.ipAdapterImages))
    if body.ipAdapterImageIds:
        check_ip_image_count(len(body.ipAdapterImageIds), field="ipAdapterImageIds")
        return tuple(asset_ref(v, field=f"ipAdapterImageIds[{i}]") for i, v in enumerate(body.ipAdapterImageIds))
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


SINGLE_SET_FIELDS = ("ipAdapterImages", "ipAdapterImageIds", "ipAdapterImage", "ipAdapterImageId")


def _ip_sets(body: Any) -> tuple[tuple[ImageRef, ...], ...]:
    """`ipAdapters`: several sets, each with its own images; the single-set image fields cannot come too."""
    for name in SINGLE_SET_FIELDS:
        if getattr(body, name):
            raise InvalidRequest(
                f"{name} cannot be set together with ipAdapters; give every set's images in ipAdapters[k].images",
                field=name,
                reason="conflicting_fields",
            )
    check_ip_image_count(sum(len(s.images) for s in body.ipAdapters), field="ipAdapters")
    sets = []
    for k, entry in enumerate(body.ipAdapters):
        if not entry.images:
            raise InvalidRequest(f"ipAdapters[{k}].images needs at least one image", field=f"ipAdapters[{k}].images")
        sets.append(tuple(parse_image_ref(v, field=f"ipAdapters[{k}].images[{i}]") for i, v in enumerate(entry.images)))
    return tuple(sets)


def _ip_scales(body: Any) -> list[float]:
    """Rule 4: ipAdapterScales > ipAdapterScale > 0.9 each (broadcast and range checks are the engine's)."""
    if body.ipAdapterScales:
        return list(body.ipAdapterScales)
    return [body.ipAdapterScale] if body.ipAdapterScale is not None else []


def parse_generation(mode: Mode, raw: Mapping[str, Any] | GenerateBody) -> ParsedGeneration:
    """Reads the fields the mode uses; fields it does not know come back as warnings."""
    body = read_body(mode, raw)
    if not body.modelId:
        raise InvalidRequest("modelId is required", field="modelId", reason="missing_field")
    b: Any = body  # the mode's model: which optional groups of fields it has follows from `mode`
    fields: dict[str, Any] = {
        "modelId": body.modelId,
        "prompt": body.prompt,
        "negativePrompt": b.negativePrompt or None,
        "seed": b.seed,
        "numSamples": b.numSamples,
        "numInferenceSteps": b.numInferenceSteps,
        "guidance": b.guidance,
        "width": b.width,
        "height": b.height,
        "scheduler": b.scheduler or None,
        "concepts": _concepts(body),
        "intermediateImages": b.intermediateImages,
    }
    if b.negativePromptStrength is not None:
        fields["negativePromptStrength"] = b.negativePromptStrength
    if getattr(b, "aspectRatio", None) is not None:
        fields["aspectRatio"] = b.aspectRatio
    for name in ("baseModelId", "modelEpoch"):
        if getattr(b, name):
            fields[name] = getattr(b, name)
    image = mask = None
    ip_images: tuple[ImageRef, ...] = ()
    if mode.uses_image:
        image = _image(b.image, b.imageId, mode, ("image", "imageId"), "an input image", "missing_image")
        fields["strength"] = b.strength
    if mode.uses_mask:
        mask = _image(b.mask, b.maskId, mode, ("mask", "maskId"), "a mask (white = area to replace)", "missing_mask")
        fields["disableMerging"] = b.disableMerging
    elif mode.uses_image:
        mask = _optional_image(b.mask, b.maskId, ("mask", "maskId"))  # img2img: the change stays inside the mask
    ip_sets: tuple[tuple[ImageRef, ...], ...] = ()
    if mode.uses_ip_adapter and b.ipAdapters:
        ip_sets = _ip_sets(b)
        fields["ipAdapters"] = [{"type": s.type, "scales": list(s.scales or [])} for s in b.ipAdapters]
    elif mode.uses_ip_adapter:
        ip_images = _ip_images(b, mode)
        fields["ipAdapterScales"] = _ip_scales(b)
        fields["ipAdapterType"] = b.ipAdapterType or IpAdapterType.STYLE.value
    return ParsedGeneration(
        fields=fields,
        image=image,
        mask=mask,
        ip_adapter_images=ip_images,
        image_parent_id=getattr(b, "imageParentId", None) or None,
        image_hide=bool(getattr(b, "imageHide", False)),
        hide_results=b.hideResults,
        warnings=tuple(unknown_fields(body, mode.value)),
        ip_adapter_sets=ip_sets,
    )
