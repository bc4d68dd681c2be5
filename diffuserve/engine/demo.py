"""The built-in demo models: built on first use, registered where the registry lacks them."""

from __future__ import annotations

import logging
from pathlib import Path

from diffuserve.catalog.demo import demo_specs, is_built
from diffuserve.catalog.registry import ModelSpec, Registry
from diffuserve.demo_shapes.catalog import demo_shapes_specs, shipped

log = logging.getLogger(__name__)


def register_demo_models(registry: Registry, root: Path) -> list[str]:
    """Build the tiny demo models under `root` if needed and add the ones the registry lacks; returns added ids.
    Only building imports torch: a start that finds them built stays light."""
    specs = demo_specs(root) if is_built(root.resolve()) else _build(root)
    if shipped():
        specs = [*demo_shapes_specs(), *specs]  # trained weights in the package; first, so front ends pick it
    known = {m.id for m in registry.list()}
    added: list[str] = []
    for spec in specs:
        if spec.id not in known:
            registry.add(spec)
            added.append(spec.id)
    if added:
        log.info("demo models registered ids=%s root=%s", ",".join(added), root)
    return added


def _build(root: Path) -> list[ModelSpec]:
    from diffuserve.engine.quiet import quiet_libraries

    quiet_libraries()  # before the builders import the pipelines
    from diffuserve.engine.tiny import build_demo_models

    return build_demo_models(root)
