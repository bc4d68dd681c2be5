"""A fresh diffusers scheduler per request, of one of the API's 15 classes (names in the catalog)."""

from __future__ import annotations

from typing import Any

import diffusers

from diffuserve.catalog.schedulers import SCHEDULER_NAMES


def make_scheduler(name: str, base_config: Any) -> Any:
    """A new scheduler of class `name` configured like the model's own (betas, timestep spacing, offsets)."""
    if name not in SCHEDULER_NAMES:
        raise ValueError(f"unknown scheduler {name!r}")
    cls = getattr(diffusers, name)
    return cls.from_config(base_config)
