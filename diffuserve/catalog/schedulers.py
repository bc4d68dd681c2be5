"""The 15 schedulers of the Scenario API by diffusers class name, and a model's default one (no torch here)."""

from __future__ import annotations

import json
from pathlib import Path

from diffuserve.catalog.registry import ModelSpec

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
_FAMILY_SCHEDULER = {"sd15": "PNDMScheduler", "sdxl": "EulerDiscreteScheduler"}


def default_scheduler_name(model: ModelSpec) -> str:
    """The scheduler class the model's own config names, or the family's usual one."""
    folder = model.source.path if model.source.kind == "folder" else model.source.config
    config = Path(folder, "scheduler", "scheduler_config.json") if folder else None
    if config is not None and config.is_file():
        try:
            return str(json.loads(config.read_text())["_class_name"])
        except (OSError, ValueError, KeyError):
            pass
    return _FAMILY_SCHEDULER[model.type.family]
