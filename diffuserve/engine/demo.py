"""The built-in demo models: built on first use, registered where the registry lacks them."""

from __future__ import annotations

import logging
from pathlib import Path

from diffuserve.catalog.registry import Registry
from diffuserve.engine.quiet import quiet_libraries

log = logging.getLogger(__name__)


def register_demo_models(registry: Registry, root: Path) -> list[str]:
    """Build the tiny demo models under `root` if needed and add the ones the registry lacks; returns added ids."""
    from diffuserve.engine.tiny import build_demo_models

    quiet_libraries()
    known = {m.id for m in registry.list()}
    added: list[str] = []
    for spec in build_demo_models(root):
        if spec.id not in known:
            registry.add(spec)
            added.append(spec.id)
    if added:
        log.info("demo models registered ids=%s root=%s", ",".join(added), root)
    return added
