"""The shipped demo-shapes weights, registered and run through the real engine (nothing mocked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diffuserve.catalog.registry import Registry
from diffuserve.config import Settings
from diffuserve.demo_shapes.catalog import demo_shapes_specs
from diffuserve.engine.engine import Engine


@pytest.fixture(scope="session")
def shapes_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine whose registry holds demo-shapes (folder and single file) and its LoRA, from the package."""
    data: Path = tmp_path_factory.mktemp("demo-shapes-data")
    settings = Settings(data_dir=data, demo_models=False, max_batch_images=8)
    registry = Registry(settings.resolved_registry_path)
    for spec in demo_shapes_specs():
        registry.add(spec)
    yield Engine(registry, settings)
