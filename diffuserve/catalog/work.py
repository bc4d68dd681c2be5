"""What a request costs the GPU, in megapixel-steps: images x pixels x denoising steps actually run. The unit of
the per-request budget and of the per-project hourly quota (one SDXL image at 1024x1024 and 30 steps is 31.5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from diffuserve.catalog.types import ResolvedRequest

MEGA = 1_000_000


def megapixel_steps(*, images: int, width: int, height: int, steps: int, strength: float = 1.0) -> float:
    """img2img and inpaint run only the last strength x steps steps."""
    run = max(1, math.floor(steps * strength)) if strength < 1.0 else steps
    return images * width * height * run / MEGA


def work_of(resolved: ResolvedRequest) -> float:
    strength = resolved.strength if resolved.request.mode.uses_image else 1.0
    return megapixel_steps(
        images=resolved.request.num_samples,
        width=resolved.width,
        height=resolved.height,
        steps=resolved.num_inference_steps,
        strength=strength,
    )


def stored_work(stored: Mapping[str, Any]) -> float:
    """The work of a stored job input (every default resolved at submission)."""
    try:
        return megapixel_steps(
            images=int(stored["numSamples"]),
            width=int(stored["width"]),
            height=int(stored["height"]),
            steps=int(stored["numInferenceSteps"]),
            strength=float(stored.get("strength") or 1.0),
        )
    except (KeyError, TypeError, ValueError):
        return 0.0
