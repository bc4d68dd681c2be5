"""Model families, one module each; `family(name)` gives the one a model type names (`ModelType.family`)."""

from __future__ import annotations

import importlib

from diffuserve.engine.families.base import Family, Variant

__all__ = ["Family", "Variant", "family"]

# Family name -> module under diffuserve.engine.families that defines FAMILY.
MODULES = {
    "sd15": "sd15",
    "sdxl": "sdxl",
    "flux1": "flux1",
    "flux1-kontext": "kontext",
    "flux2": "flux2",
    "flux2-dev": "flux2_dev",
}


def family(name: str) -> Family:
    """The engine half of family `name`, imported on first use (a family's pipelines load only when used)."""
    module = importlib.import_module(f"diffuserve.engine.families.{MODULES[name]}")
    found: Family = module.FAMILY
    return found
