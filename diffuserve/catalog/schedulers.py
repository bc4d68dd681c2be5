"""The 15 schedulers of the Scenario API by diffusers class name, and a model's default one (no torch here)."""

from __future__ import annotations

import json
from pathlib import Path

from diffuserve.catalog.families import SCENARIO_SCHEDULERS, rules_for
from diffuserve.catalog.registry import ModelSpec

SCHEDULER_NAMES: tuple[str, ...] = SCENARIO_SCHEDULERS


def default_scheduler_name(model: ModelSpec) -> str:
    """The scheduler class the model's own config names (when its family accepts it), or the family's usual one."""
    rules = rules_for(model)
    source = model.source
    folder = None if source is None else source.path if source.kind == "folder" else source.config
    config = Path(folder).expanduser() / "scheduler" / "scheduler_config.json" if folder else None
    if config is not None and config.is_file():
        try:
            name = str(json.loads(config.read_text())["_class_name"])
            if name in rules.schedulers:
                return name
        except (OSError, ValueError, KeyError):
            pass
    return rules.default_scheduler
