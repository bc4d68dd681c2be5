"""Schedulers, progress, previews and cancellation during a run."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from diffuserve.catalog.types import Callbacks, GenerationRequest, Mode, Progress
from diffuserve.engine.engine import Engine
from diffuserve.errors import GenerationCanceled


def txt2img(**overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "mode": Mode.TXT2IMG,
        "model_id": "tiny-sd15",
        "prompt": "a lighthouse",
        "num_inference_steps": 3,
        "width": 64,
        "height": 64,
        "seed": 1,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def test_there_are_fifteen_schedulers_as_in_the_api_enum() -> None:
    assert len(SCHEDULER_NAMES) == 15 == len(set(SCHEDULER_NAMES))


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_every_scheduler_runs(engine: Engine, name: str) -> None:
    result = engine.generate(txt2img(scheduler=name, num_inference_steps=4))
    assert result.resolved.scheduler == name
    assert result.images[0].image.size == (64, 64)


def test_schedulers_change_the_image_and_leave_the_model_default_alone(engine: Engine) -> None:
    default = engine.generate(txt2img()).images[0].image.tobytes()
    euler = engine.generate(txt2img(scheduler="EulerAncestralDiscreteScheduler")).images[0].image.tobytes()
    again = engine.generate(txt2img()).images[0].image.tobytes()
    assert default != euler
    assert default == again


def test_progress_rises_to_the_total_across_batches(engine: Engine) -> None:
    seen: list[Progress] = []
    engine.generate(txt2img(num_samples=3), Callbacks(on_progress=seen.append))  # 2 batches of max 2
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert seen[-1].done == seen[-1].total
    assert seen[-1].total == 2 * (seen[-1].total // 2) and seen[-1].total >= 6


def test_previews_arrive_when_asked_and_not_otherwise(engine: Engine) -> None:
    previews: list[list[Image.Image]] = []
    engine.generate(
        txt2img(num_inference_steps=4, intermediate_images=True, num_samples=2),
        Callbacks(on_preview=previews.append),
    )
    assert previews, "no preview arrived"
    assert all(len(batch) == 2 and batch[0].size == (8, 8) for batch in previews)
    quiet: list[list[Image.Image]] = []
    engine.generate(txt2img(num_inference_steps=4), Callbacks(on_preview=quiet.append))
    assert quiet == []


def test_cancel_stops_a_long_run_within_one_step(engine: Engine) -> None:
    steps: list[int] = []
    flag = {"cancel": False}

    def on_progress(p: Progress) -> None:
        steps.append(p.done)
        if p.done == 2:
            flag["cancel"] = True

    started = time.perf_counter()
    with pytest.raises(GenerationCanceled):
        engine.generate(
            txt2img(num_inference_steps=150, num_samples=4),
            Callbacks(on_progress=on_progress, should_cancel=lambda: flag["cancel"]),
        )
    assert steps == [1, 2]
    assert time.perf_counter() - started < 30
    # The engine is free and unchanged afterwards.
    assert engine.generate(txt2img()).images[0].image.size == (64, 64)


def test_loading_is_announced_once_per_model(engine: Engine) -> None:
    engine.cache.get(engine.registry.get("tiny-sd15"))  # make sure it is loaded
    calls: list[int] = []
    engine.generate(txt2img(), Callbacks(on_loading=lambda: calls.append(1)))
    assert calls == []
    assert engine.is_loaded("tiny-sd15")
