"""A fresh diffusers scheduler per request, of a class some family accepts (names in the catalog)."""

from __future__ import annotations

from typing import Any

import diffusers

from diffuserve.catalog.families import FAMILIES


def make_scheduler(name: str, base_config: Any) -> Any:
    """A new scheduler of class `name` configured like the model's own (betas, timestep spacing, offsets)."""
    if not any(name in rules.schedulers for rules in FAMILIES.values()):
        raise ValueError(f"unknown scheduler {name!r}")
    cls = getattr(diffusers, name)
    return cls.from_config(base_config)
