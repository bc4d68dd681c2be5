"""The Creative Units cost of a request: deterministic, from the resolved parameters.

    per image = max(1, ceil(rate * steps / 30 * (width * height) / native²))
    cost      = numSamples * per image

rate: 5 CU for SDXL models (native 1024²), 3 CU for SD 1.5 models (native 512²); so a default SDXL image
(30 steps, 1024²) costs 5 CU, as Scenario's "5,000 CU for 1,000 SDXL images", and IP-Adapter, LoRA and the
mode add nothing.
"""

from __future__ import annotations

import math

from diffuserve.catalog.types import ResolvedRequest

RATES = {"sd15": (3.0, 512), "sdxl": (5.0, 1024)}
REFERENCE_STEPS = 30


def creative_units(resolved: ResolvedRequest) -> int:
    family = "sdxl" if resolved.model_type.startswith("sd-xl") else "sd15"
    rate, native = RATES[family]
    scale = resolved.num_inference_steps / REFERENCE_STEPS * (resolved.width * resolved.height) / (native * native)
    per_image = max(1, math.ceil(round(rate * scale, 6)))
    return per_image * resolved.request.num_samples
