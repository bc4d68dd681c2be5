"""demo-shapes is registered from the package, first, and asks for the size it was trained at."""

from __future__ import annotations

from pathlib import Path

from diffuserve.catalog import validation
from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import GenerationRequest, Mode
from diffuserve.demo_shapes.catalog import MODEL_IDS, demo_shapes_specs, shipped


def test_the_weights_ship_with_the_package() -> None:
    assert shipped()
    assert [s.id for s in demo_shapes_specs()] == list(MODEL_IDS)


def test_requests_without_a_size_get_the_trained_size_and_others_keep_the_family_default(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models.yaml")
    for spec in demo_shapes_specs():
        registry.add(spec)
    resolved = validation.validate(registry, GenerationRequest(mode=Mode.TXT2IMG, model_id="demo-shapes", prompt="a"))
    assert (resolved.width, resolved.height) == (64, 64)
    lora = validation.validate(registry, GenerationRequest(mode=Mode.TXT2IMG, model_id="demo-shapes-lora", prompt="a"))
    assert (lora.width, lora.height) == (64, 64)
    asked = GenerationRequest(mode=Mode.TXT2IMG, model_id="demo-shapes", prompt="a", width=128, height=96)
    assert (validation.validate(registry, asked).width, validation.validate(registry, asked).height) == (128, 96)
