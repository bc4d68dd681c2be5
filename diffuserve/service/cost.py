"""The Creative Units cost of a request: deterministic, from the resolved parameters.

    per image = max(1, ceil(rate * steps / 30 * (width * height) / native²))
    cost      = numSamples * per image

rate and native size per family (`catalog.families`): 5 CU for SDXL (native 1024²), 3 CU for SD 1.5 (512²),
8 for FLUX.1 and 10 for FLUX.2 (1024²); so a default SDXL image (30 steps, 1024²) costs 5 CU, as Scenario's
"5,000 CU for 1,000 SDXL images", and IP-Adapter, LoRA and the mode add nothing; FLUX's true CFG (a negative
prompt strength > 0) doubles the work, and the cost.
"""

from __future__ import annotations

import math

from diffuserve.catalog.families import FAMILIES
from diffuserve.catalog.registry import ModelType
from diffuserve.catalog.types import ResolvedRequest

RATES = {name: (rules.cost_rate, rules.native_size) for name, rules in FAMILIES.items()}
REFERENCE_STEPS = 30


def creative_units(resolved: ResolvedRequest) -> int:
    rate, native = RATES[ModelType(resolved.model_type).family]
    passes = 2 if resolved.negative_prompt_strength > 0 else 1
    scale = resolved.num_inference_steps / REFERENCE_STEPS * (resolved.width * resolved.height) / (native * native)
    scale *= passes
    per_image = max(1, math.ceil(round(rate * scale, 6)))
    return per_image * resolved.request.num_samples
