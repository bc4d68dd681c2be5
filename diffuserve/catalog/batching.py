"""Batch keys: requests with equal keys run in one pipeline call, each row with its own prompt, seed and images.

The key holds everything the pipeline call shares: model and mode (so variant and pipeline class), size, steps,
scheduler, guidance, strength, the LoRA set with scales, and the IP-Adapter set, type, reference count and
scales. Prompts, negative prompts, seeds, input images, masks and reference images stay per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diffuserve.catalog.types import Concept, Mode, ResolvedRequest


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
    concepts: tuple[tuple[str, float], ...]
    ip_adapter_type: str | None
    ip_adapter_scales: tuple[float, ...]

    def __str__(self) -> str:
        """A short stable text form, for logs and queue names."""
        return (
            f"{self.model_id}/{self.mode.value}/{self.width}x{self.height}/{self.steps}/{self.scheduler}"
            f"/g{self.guidance:g}/s{self.strength if self.strength is None else f'{self.strength:g}'}"
            f"/l{list(self.concepts)}/ip{self.ip_adapter_type}{list(self.ip_adapter_scales)}"
        )


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
        ip_adapter_type=r.ip_adapter_type.value,
        ip_adapter_scales=resolved.ip_adapter_scales,
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
        concepts=tuple(Concept(str(c["modelId"]), float(c["scale"])) for c in stored.get("concepts") or ()),
        ip_adapter_type=stored.get("ipAdapterType"),
        ip_adapter_scales=tuple(float(s) for s in stored.get("ipAdapterScales") or ()),
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
    ip_adapter_type: str | None,
    ip_adapter_scales: tuple[float, ...],
) -> BatchKey:
    return BatchKey(
        model_id=model_id,
        mode=mode,
        width=width,
        height=height,
        steps=steps,
        scheduler=scheduler,
        guidance=guidance,
        strength=strength if mode.uses_image else None,
        concepts=tuple((c.model_id, c.scale) for c in concepts),
        ip_adapter_type=ip_adapter_type if mode.uses_ip_adapter else None,
        ip_adapter_scales=ip_adapter_scales if mode.uses_ip_adapter else (),
    )
