"""Batch keys: requests with equal keys run in one pipeline call, each row with its own prompt, seed and images.

The key holds everything the pipeline call shares: model and mode (so variant and pipeline class), size, steps,
scheduler, guidance, the negative prompt's strength (FLUX true CFG), strength, the LoRA set with scales and
epochs, and the IP-Adapter sets with their reference counts and scales. Prompts, negative prompts, seeds, input
images, masks and reference images stay per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diffuserve.catalog.types import Concept, IpAdapterType, Mode, ResolvedIpAdapter, ResolvedRequest

IpKey = tuple[tuple[str, tuple[float, ...]], ...]


@dataclass(frozen=True)
class BatchKey:
    model_id: str
    mode: Mode
    width: int
    height: int
    steps: int
    scheduler: str
    guidance: float
    strength: float | None
    concepts: tuple[tuple[object, ...], ...]  # (model id, scale[, epoch])
    ip_adapter_type: str | None  # the sets in use joined by "+", e.g. "character+style"
    ip_adapter_scales: tuple[float, ...]  # every set's scales end to end
    ip_adapters: IpKey = ()  # (set, scales) per set: tells [2 style, 1 character] from [1 style, 2 character]
    negative_prompt_strength: float = 0.0

    def __str__(self) -> str:
        """A short stable text form, for logs and queue names."""
        text = (
            f"{self.model_id}/{self.mode.value}/{self.width}x{self.height}/{self.steps}/{self.scheduler}"
            f"/g{self.guidance:g}/s{self.strength if self.strength is None else f'{self.strength:g}'}"
            f"/l{list(self.concepts)}/ip{self.ip_adapter_type}{list(self.ip_adapter_scales)}"
        )
        if len(self.ip_adapters) > 1:
            text += f"/ips{[list(s) for _, s in self.ip_adapters]}"
        if self.negative_prompt_strength:
            text += f"/n{self.negative_prompt_strength:g}"
        return text


def batch_key(resolved: ResolvedRequest) -> BatchKey:
    """The key of a validated request (its model id is the base model a LoRA model id runs on)."""
    r = resolved.request
    return _key(
        model_id=r.model_id,
        mode=r.mode,
        width=resolved.width,
        height=resolved.height,
        steps=resolved.num_inference_steps,
        scheduler=resolved.scheduler,
        guidance=resolved.guidance,
        strength=resolved.strength,
        concepts=resolved.concepts,
        ip_adapters=resolved.ip_adapters,
        negative_prompt_strength=resolved.negative_prompt_strength,
    )


def stored_ip_adapters(stored: Mapping[str, Any]) -> tuple[ResolvedIpAdapter, ...]:
    """The IP-Adapter sets of a stored job input: `ipAdapters` [{type, imageIds, scales}], or the single-set
    `ipAdapterType` + `ipAdapterScales`."""
    if stored.get("ipAdapters"):
        return tuple(
            ResolvedIpAdapter(IpAdapterType(a["type"]), tuple(float(s) for s in a.get("scales") or ()))
            for a in stored["ipAdapters"]
        )
    if stored.get("ipAdapterType") is None and not stored.get("ipAdapterScales"):
        return ()
    return (
        ResolvedIpAdapter(
            IpAdapterType(stored.get("ipAdapterType") or IpAdapterType.STYLE.value),
            tuple(float(s) for s in stored.get("ipAdapterScales") or ()),
        ),
    )


def stored_batch_key(mode: Mode, stored: Mapping[str, Any]) -> BatchKey:
    """The key of a stored job input, whose every default is already resolved (no images needed).

    A job that names a LoRA model as `modelId` keys by that id, so it batches with jobs naming the same LoRA."""
    return _key(
        model_id=str(stored["modelId"]),
        mode=mode,
        width=int(stored["width"]),
        height=int(stored["height"]),
        steps=int(stored["numInferenceSteps"]),
        scheduler=str(stored["scheduler"]),
        guidance=float(stored["guidance"]),
        strength=float(stored["strength"]) if stored.get("strength") is not None else None,
        concepts=tuple(
            Concept(str(c["modelId"]), float(c["scale"]), c.get("modelEpoch")) for c in stored.get("concepts") or ()
        ),
        ip_adapters=stored_ip_adapters(stored),
        negative_prompt_strength=float(stored.get("negativePromptStrength") or 0.0),
        model_epoch=stored.get("modelEpoch"),
    )


def _key(
    *,
    model_id: str,
    mode: Mode,
    width: int,
    height: int,
    steps: int,
    scheduler: str,
    guidance: float,
    strength: float | None,
    concepts: tuple[Concept, ...],
    ip_adapters: tuple[ResolvedIpAdapter, ...],
    negative_prompt_strength: float,
    model_epoch: str | None = None,
) -> BatchKey:
    used = ip_adapters if mode.uses_ip_adapter else ()
    concept_key: list[tuple[object, ...]] = [
        (c.model_id, c.scale) if c.model_epoch is None else (c.model_id, c.scale, c.model_epoch) for c in concepts
    ]
    if model_epoch:  # a stored LoRA model id with its epoch
        concept_key.insert(0, ("modelEpoch", 0.0, model_epoch))
    return BatchKey(
        model_id=model_id,
        mode=mode,
        width=width,
        height=height,
        steps=steps,
        scheduler=scheduler,
        guidance=guidance,
        strength=strength if mode.uses_image else None,
        concepts=tuple(concept_key),
        ip_adapter_type="+".join(a.type.value for a in used) if used else None,
        ip_adapter_scales=tuple(s for a in used for s in a.scales),
        ip_adapters=tuple((a.type.value, a.scales) for a in used),
        negative_prompt_strength=negative_prompt_strength,
    )
