"""Batches: requests that share a batch key run in shared pipeline calls, and each image is what it would be alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import torch
from PIL import Image

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import (
    Callbacks,
    Concept,
    GenerationRequest,
    GenerationResult,
    IpAdapterType,
    Mode,
    Progress,
)
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.errors import GenerationCanceled, InvalidRequest
from tests.engine.helpers import center_mask, max_diff, picture


@pytest.fixture(scope="module")
def batching(registry: Registry, session_settings: Settings) -> Iterator[Engine]:
    """An engine whose pipeline calls take up to 8 images (the session engine's take 2)."""
    yield Engine(registry, session_settings.model_copy(update={"max_batch_images": 8}))


def request(mode: Mode, i: int, **overrides: object) -> GenerationRequest:
    """Request number i of a batch: its own prompt, seed, input image, mask and reference image."""
    fields: dict[str, object] = {
        "mode": mode,
        "model_id": "tiny-sd15",
        "prompt": ["a red fox", "a blue lighthouse at dusk", "an orange cat"][i % 3],
        "negative_prompt": "blurry" if i == 1 else None,
        "num_samples": 1 + i % 2,
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        "seed": 1000 * (i + 1),
    }
    if mode.uses_image:
        fields["image"] = picture(64, seed=i)
    if mode.uses_mask:
        fields["mask"] = center_mask(64, margin=10 + 4 * i)
    if mode.uses_ip_adapter:
        fields["ip_adapter_images"] = (picture(32, seed=50 + i),)
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def results(outcomes: list[GenerationResult | BaseException]) -> list[GenerationResult]:
    assert all(isinstance(o, GenerationResult) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, GenerationResult)]


def assert_batched_equals_alone(engine: Engine, requests: list[GenerationRequest]) -> None:
    batched = results(engine.generate_batch([(r, Callbacks()) for r in requests]))
    for req, got in zip(requests, batched, strict=True):
        alone = engine.generate(req)
        assert [im.seed for im in got.images] == [im.seed for im in alone.images]
        for a, b in zip(got.images, alone.images, strict=True):
            assert max_diff(a.image, b.image) <= 1  # batched kernels round differently: 1/255 at most


@pytest.mark.parametrize("mode", list(Mode))
def test_batched_equals_alone_in_every_mode(batching: Engine, mode: Mode, caplog: pytest.LogCaptureFixture) -> None:
    requests = [request(mode, i) for i in range(3)]
    with caplog.at_level(logging.INFO, logger="diffuserve.engine.engine"):
        assert_batched_equals_alone(batching, requests)
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("batch started")]
    assert "requests=3 images=4" in started[0]  # one run for the three requests


def test_character_adapter_batches_different_references(batching: Engine) -> None:
    requests = [request(Mode.TXT2IMG_IP_ADAPTER, i, ip_adapter_type=IpAdapterType.CHARACTER) for i in range(3)]
    assert_batched_equals_alone(batching, requests)


def test_several_reference_images_per_request_batch_too(batching: Engine) -> None:
    requests = [
        request(
            Mode.IMG2IMG_IP_ADAPTER,
            i,
            ip_adapter_images=(picture(32, seed=60 + i), picture(32, seed=70 + i)),
            ip_adapter_scales=(0.8, 0.3),
        )
        for i in range(3)
    ]
    assert_batched_equals_alone(batching, requests)


def test_batched_equals_alone_with_lora_concepts(batching: Engine) -> None:
    concept = (Concept("tiny-sd15-lora", 0.8),)
    assert_batched_equals_alone(batching, [request(Mode.TXT2IMG, i, concepts=concept) for i in range(3)])
    assert_batched_equals_alone(batching, [request(Mode.INPAINT, i, concepts=concept) for i in range(2)])


def test_different_batch_keys_never_share_a_run(batching: Engine, caplog: pytest.LogCaptureFixture) -> None:
    requests = [
        request(Mode.TXT2IMG, 0),
        request(Mode.TXT2IMG, 1, guidance=3.0),
        request(Mode.TXT2IMG, 2, concepts=(Concept("tiny-sd15-lora", 1.0),)),
        request(Mode.TXT2IMG, 3),  # same key as the first
    ]
    with caplog.at_level(logging.INFO, logger="diffuserve.engine.engine"):
        batched = results(batching.generate_batch([(r, Callbacks()) for r in requests]))
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("batch started")]
    assert [s.split(" requests=")[1] for s in started] == ["2 images=3", "1 images=2", "1 images=1"]
    for req, got in zip(requests, batched, strict=True):
        assert max_diff(got.images[0].image, batching.generate(req).images[0].image) <= 1


def test_each_request_hears_its_own_progress_and_previews(batching: Engine) -> None:
    progress: dict[int, list[Progress]] = {0: [], 1: []}
    previews: dict[int, list[list[Image.Image]]] = {0: [], 1: []}

    def callbacks(i: int) -> Callbacks:
        return Callbacks(on_progress=progress[i].append, on_preview=previews[i].append)

    requests = [
        request(Mode.TXT2IMG, 0, num_samples=1, num_inference_steps=4, intermediate_images=True),
        request(Mode.TXT2IMG, 1, num_samples=3, num_inference_steps=4, intermediate_images=False),
    ]
    # 4 images in one call: each request sees the call's steps, and previews of its own rows only.
    results(batching.generate_batch([(r, callbacks(i)) for i, r in enumerate(requests)]))
    total = progress[0][-1].total  # the scheduler's step count (PNDM adds a warm-up step)
    assert total >= 4
    assert [p.done for p in progress[0]] == [p.done for p in progress[1]] == list(range(1, total + 1))
    assert previews[0] and all(len(batch) == 1 for batch in previews[0])
    assert previews[1] == []


def test_cancelling_one_request_stops_only_its_images(batching: Engine) -> None:
    steps: list[int] = []

    def cancel_after_two() -> bool:
        return len(steps) >= 2

    requests = [request(Mode.TXT2IMG, 0, num_inference_steps=6), request(Mode.TXT2IMG, 1, num_inference_steps=6)]
    outcomes = batching.generate_batch(
        [
            (requests[0], Callbacks(on_progress=lambda p: steps.append(p.done), should_cancel=cancel_after_two)),
            (requests[1], Callbacks()),
        ]
    )
    assert isinstance(outcomes[0], GenerationCanceled)
    assert steps == [1, 2]  # it heard nothing after its cancel
    other = outcomes[1]
    assert isinstance(other, GenerationResult)
    assert max_diff(other.images[0].image, batching.generate(requests[1]).images[0].image) <= 1


def test_the_run_stops_when_every_request_is_cancelled(batching: Engine) -> None:
    steps: list[int] = []
    requests = [request(Mode.TXT2IMG, i, num_inference_steps=150) for i in range(2)]
    outcomes = batching.generate_batch(
        [(r, Callbacks(on_progress=lambda p: steps.append(p.done), should_cancel=lambda: True)) for r in requests]
    )
    assert all(isinstance(o, GenerationCanceled) for o in outcomes)
    assert steps == []


def test_a_failing_member_does_not_fail_the_others(batching: Engine, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: Progress) -> None:
        raise RuntimeError("the progress store is down")

    requests = [request(Mode.IMG2IMG, i) for i in range(3)]
    invalid = request(Mode.IMG2IMG, 3, prompt=" ")
    with caplog.at_level(logging.WARNING, logger="diffuserve.engine.batch"):
        outcomes = batching.generate_batch(
            [
                (requests[0], Callbacks()),
                (requests[1], Callbacks(on_progress=broken)),
                (invalid, Callbacks()),
                (requests[2], Callbacks()),
            ]
        )
    assert isinstance(outcomes[1], RuntimeError) and "progress store" in str(outcomes[1])
    assert isinstance(outcomes[2], InvalidRequest) and outcomes[2].field == "prompt"
    for req, got in ((requests[0], outcomes[0]), (requests[2], outcomes[3])):
        assert isinstance(got, GenerationResult)
        assert max_diff(got.images[0].image, batching.generate(req).images[0].image) <= 1
    assert any("one by one" in r.getMessage() for r in caplog.records)


def test_prompt_and_reference_embeddings_are_cached(batching: Engine) -> None:
    req = request(Mode.TXT2IMG_IP_ADAPTER, 2, prompt="a cached prompt", ip_adapter_images=(picture(32, seed=99),))
    batching.generate(req)
    entry = batching.cache.get(batching.registry.get("tiny-sd15"))
    prompt_hits, image_hits = entry.prompt_cache.hits, batching.image_embeds.hits
    batching.generate(req)
    assert entry.prompt_cache.hits == prompt_hits + 1
    assert batching.image_embeds.hits == image_hits + 1


def test_out_of_memory_halves_the_call_and_retries(batching: Engine, caplog: pytest.LogCaptureFixture) -> None:
    rows_seen: list[int] = []

    def oom_once(_: Progress) -> None:
        if not rows_seen:
            rows_seen.append(1)
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    requests = [request(Mode.TXT2IMG, i, num_samples=2) for i in range(2)]
    with caplog.at_level(logging.WARNING, logger="diffuserve.engine.batch"):
        outcomes = batching.generate_batch([(requests[0], Callbacks(on_progress=oom_once)), (requests[1], Callbacks())])
    assert any("halving the batch rows=4->2,2" in r.getMessage() for r in caplog.records)
    for req, got in zip(requests, results(outcomes), strict=True):
        alone = batching.generate(req)
        assert all(max_diff(a.image, b.image) <= 1 for a, b in zip(got.images, alone.images, strict=True))
