"""The training script runs end to end, and the shipped weights are what its recorded configuration made."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import GenerationRequest, Mode
from diffuserve.config import Settings
from diffuserve.demo_shapes import catalog
from diffuserve.demo_shapes.stages import STAGES, ready
from diffuserve.demo_shapes.tokenizer import vocab
from diffuserve.demo_shapes.train import RECORD, TrainConfig, file_hashes, main, train
from diffuserve.engine.engine import Engine


@pytest.fixture(scope="module")
def record() -> dict[str, object]:
    path = catalog.WEIGHTS / RECORD
    assert path.is_file(), "the shipped weights have no training record"
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


def test_the_shipped_weights_are_the_recorded_run_of_the_default_configuration(record: dict[str, object]) -> None:
    assert record["config"] == asdict(TrainConfig())
    assert record["files"] == file_hashes(catalog.WEIGHTS)
    stages = record["stages"]
    assert isinstance(stages, dict)
    for stage in STAGES[:-1]:  # all but export
        assert stages[stage]["steps"] == getattr(TrainConfig(), f"{stage}_steps")


def test_the_shipped_tokenizer_is_the_grammar_tokenizer() -> None:
    shipped = json.loads((catalog.WEIGHTS / catalog.FOLDER / "tokenizer" / "vocab.json").read_text())
    assert shipped == vocab()


def test_a_quick_training_run_writes_every_format_and_the_engine_loads_them(tmp_path: Path) -> None:
    out = tmp_path / "weights"
    record = train(TrainConfig().quick(), tmp_path / "work", out)
    written = json.loads(record.read_text())
    assert written["config"]["base_steps"] == 2
    assert catalog.shipped(out)
    configs = list(out.rglob("config.json"))
    assert configs and not any("_name_or_path" in c.read_text() for c in configs)  # no build folder's path
    settings = Settings(data_dir=tmp_path / "data", demo_models=False)
    registry = Registry(settings.resolved_registry_path)
    for spec in catalog.demo_shapes_specs(out):
        registry.add(spec)
    engine = Engine(registry, settings)
    request = GenerationRequest(
        mode=Mode.TXT2IMG,
        model_id="demo-shapes-lora",
        prompt="a red circle",
        num_inference_steps=1,
        width=64,
        height=64,
        seed=1,
    )
    assert engine.generate(request).images[0].image.size == (64, 64)


def test_side_by_side_stages_start_when_what_they_need_is_done() -> None:
    chosen = set(STAGES)
    assert ready(STAGES, set(), chosen) == ["vae"]
    assert ready(["decoder", "base", "refine"], {"vae"}, chosen) == ["decoder", "base"]
    assert ready(["inpaint", "clip", "ip", "lora", "export"], {"polish"}, chosen) == ["inpaint", "clip", "lora"]
    assert ready(["export"], {"inpaint", "ip", "lora"}, chosen) == []  # the decoder is not done
    assert ready(["ip", "export"], set(), {"ip", "export"}) == ["ip"]  # stages not asked for are in the work folder


def test_a_quick_run_with_stages_side_by_side_writes_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "weights"
    assert main(["--quick", "--jobs", "2", "--work", str(tmp_path / "work"), "--out", str(out)]) == 0
    assert catalog.shipped(out)
    written = json.loads((out / RECORD).read_text())
    assert list(written["stages"]) == list(STAGES[:-1])
    assert all(stage["steps"] == 2 for stage in written["stages"].values())
