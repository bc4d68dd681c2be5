"""The 15 schedulers of the Scenario API, by diffusers class name; a fresh instance per request."""

from __future__ import annotations

from typing import Any

import diffusers

SCHEDULER_NAMES: tuple[str, ...] = (
    "DDIMScheduler",
    "DDPMScheduler",
    "DEISMultistepScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "EulerAncestralDiscreteScheduler",
    "EulerDiscreteScheduler",
    "HeunDiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "LCMScheduler",
    "LMSDiscreteScheduler",
    "PNDMScheduler",
    "TCDScheduler",
    "UniPCMultistepScheduler",
)


def make_scheduler(name: str, base_config: Any) -> Any:
    """A new scheduler of class `name` configured like the model's own (betas, timestep spacing, offsets)."""
    if name not in SCHEDULER_NAMES:
        raise ValueError(f"unknown scheduler {name!r}")
    cls = getattr(diffusers, name)
    return cls.from_config(base_config)
