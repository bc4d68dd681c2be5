"""A job's stored input (wire names, images as asset ids) to the engine's GenerationRequest, and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, IpAdapterUse, Mode


@dataclass(frozen=True)
class InputImages:
    """The decoded images a request uses."""

    image: Image.Image | None = None
    mask: Image.Image | None = None
    ip_adapter_images: tuple[Image.Image, ...] = ()
    # Per entry of `ipAdapters` (several IP-Adapter sets at once): that set's reference images.
    ip_adapter_sets: tuple[tuple[Image.Image, ...], ...] = ()


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _ip_adapter_uses(fields: Mapping[str, Any], images: InputImages) -> tuple[IpAdapterUse, ...]:
    """`ipAdapters`: [{type, scales}] with the images of entry k in `images.ip_adapter_sets[k]`."""
    entries = fields.get("ipAdapters") or ()
    if len(entries) != len(images.ip_adapter_sets):
        raise ValueError(f"ipAdapters has {len(entries)} entries but {len(images.ip_adapter_sets)} image sets")
    return tuple(
        IpAdapterUse(
            type=IpAdapterType(entry.get("type") or IpAdapterType.STYLE.value),
            images=tuple(refs),
            scales=tuple(float(s) for s in entry.get("scales") or ()),
        )
        for entry, refs in zip(entries, images.ip_adapter_sets, strict=True)
    )


def build_request(mode: Mode, fields: Mapping[str, Any], images: InputImages) -> GenerationRequest:
    """`fields` holds typed values under their wire names (seed may be a numeric string)."""
    seed = fields.get("seed")
    return GenerationRequest(
        mode=mode,
        model_id=str(fields["modelId"]),
        prompt=str(fields["prompt"]),
        negative_prompt=fields.get("negativePrompt"),
        num_samples=int(fields.get("numSamples", 1)),
        num_inference_steps=_opt_int(fields.get("numInferenceSteps")),
        guidance=_opt_float(fields.get("guidance")),
        width=_opt_int(fields.get("width")),
        height=_opt_int(fields.get("height")),
        seed=None if seed is None else int(seed),
        scheduler=fields.get("scheduler"),
        strength=_opt_float(fields.get("strength")) if mode.uses_image else None,
        image=images.image,
        mask=images.mask,
        disable_merging=bool(fields.get("disableMerging", False)),
        ip_adapter_images=images.ip_adapter_images,
        ip_adapter_scales=tuple(float(s) for s in fields.get("ipAdapterScales") or ()),
        ip_adapter_type=IpAdapterType(fields.get("ipAdapterType") or IpAdapterType.STYLE.value),
        ip_adapters=_ip_adapter_uses(fields, images),
        concepts=tuple(
            Concept(str(c["modelId"]), float(c["scale"]), c.get("modelEpoch")) for c in fields.get("concepts") or ()
        ),
        intermediate_images=bool(fields.get("intermediateImages", False)),
        base_model_id=fields.get("baseModelId"),
        model_epoch=fields.get("modelEpoch"),
        negative_prompt_strength=_opt_float(fields.get("negativePromptStrength")),
    )
