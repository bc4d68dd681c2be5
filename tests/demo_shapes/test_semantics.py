"""What the engine's modes mean, checked on pictures: demo-shapes draws what it is told, and a detector of colour
and shape reads the result. Each check runs several seeds and asks for a clear majority; the margins measured
over many more seeds are in bench/demo_shapes.py's output (and the README)."""

from __future__ import annotations

import numpy as np
import pytest

from diffuserve.catalog.types import IpAdapterType, Mode
from diffuserve.demo_shapes import evaluate as ev
from diffuserve.demo_shapes.catalog import SIZE
from diffuserve.engine.engine import Engine
from tests.engine.helpers import max_diff

N = 8  # seeds per check
SEED = 1000


def test_the_prompt_is_followed(shapes_engine: Engine) -> None:
    rows = ev.txt2img(shapes_engine, SEED, N)
    assert ev.share(rows, foreground="red") >= 0.75
    assert ev.share(rows, background="blue") >= 0.75
    assert ev.share(rows, shape="circle") >= 0.6


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a yellow star on a black background", {"foreground": "yellow", "shape": "star", "background": "black"}),
        ("a green square on a white background", {"foreground": "green", "shape": "square", "background": "white"}),
    ],
)
def test_other_prompts_are_followed(shapes_engine: Engine, prompt: str, expected: dict[str, str]) -> None:
    rows = ev.txt2img(shapes_engine, SEED, N, prompt)
    for key, value in expected.items():
        assert ev.share(rows, **{key: value}) >= 0.6, key


def test_the_single_file_checkpoint_draws_the_same_pictures(shapes_engine: Engine) -> None:
    folder = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2)
    single = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2, model_id="demo-shapes-file")
    assert all(max_diff(a, b) <= 2 for a, b in zip(folder, single, strict=True))


def test_img2img_keeps_the_input_at_low_strength_and_follows_the_prompt_at_high(shapes_engine: Engine) -> None:
    # input: a green square on white; prompt: a red circle on blue
    low = ev.img2img(shapes_engine, SEED, N, strength=0.2)
    assert ev.share(low, foreground="green", shape="square", background="white") >= 0.75
    high = ev.img2img(shapes_engine, SEED, N, strength=0.9)
    assert ev.share(high, foreground="red") >= 0.6
    assert ev.share(high, background="blue") >= 0.6


def test_inpaint_paints_the_mask_and_keeps_the_rest(shapes_engine: Engine) -> None:
    merged = ev.inpaint(shapes_engine, SEED, N, disable_merging=False)
    assert np.mean([r.extra["red_in_mask"] > 0.15 for r in merged]) >= 0.75
    assert np.mean([r.extra["green_in_mask"] < 0.05 for r in merged]) >= 0.75
    assert all(r.extra["outside_max_diff"] == 0 for r in merged)  # merging: the input, exactly
    unmerged = ev.inpaint(shapes_engine, SEED, N, disable_merging=True)
    assert np.mean([r.extra["red_in_mask"] > 0.15 for r in unmerged]) >= 0.75
    assert all(r.extra["outside_mean_diff"] < 12 for r in unmerged)  # disableMerging: the VAE's round trip, close


def test_style_ip_adapter_takes_the_reference_colour(shapes_engine: Engine) -> None:
    # prompt: a red circle on blue; reference: a yellow square on black
    on = ev.ip_adapter(shapes_engine, SEED, N, IpAdapterType.STYLE, 1.0)
    assert ev.share(on, foreground="yellow") >= 0.6
    off = ev.ip_adapter(shapes_engine, SEED, N, IpAdapterType.STYLE, 0.0)
    assert ev.share(off, foreground="red") >= 0.75


def test_character_ip_adapter_keeps_the_reference_shape(shapes_engine: Engine) -> None:
    # prompt: a red circle on blue; reference: a yellow star on black
    on = ev.ip_adapter(shapes_engine, SEED, N, IpAdapterType.CHARACTER, 1.0)
    assert ev.share(on, shape="star") >= 0.6
    off = ev.ip_adapter(shapes_engine, SEED, N, IpAdapterType.CHARACTER, 0.0)
    assert ev.share(off, shape="circle") >= 0.6


def test_the_lora_draws_outlines_at_scale_one_only_and_leaves_no_trace(shapes_engine: Engine) -> None:
    base = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, N)
    on = ev.lora(shapes_engine, SEED, N, 1.0)
    assert np.median([r.detection.fill for r in on]) < 0.8
    off = ev.lora(shapes_engine, SEED, N, 0.0)
    after = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, N)
    assert np.median([r.detection.fill for r in off]) > 0.95
    assert all(max_diff(a, b) <= 1 for a, b in zip(base, after, strict=True))


def test_a_negative_prompt_steers_away_from_its_words(shapes_engine: Engine) -> None:
    plain = ev.txt2img(shapes_engine, SEED, 2 * N, "a circle")
    negative = ev.txt2img(shapes_engine, SEED, 2 * N, "a circle", negative_prompt="red")
    assert ev.share(negative, foreground="red") <= 1 / 16
    assert ev.share(negative, foreground="red") <= ev.share(plain, foreground="red")
    told = ev.txt2img(shapes_engine, SEED, N, "a red circle")
    told_not = ev.txt2img(shapes_engine, SEED, N, "a red circle", negative_prompt="red")
    assert ev.share(told_not, foreground="red") < ev.share(told, foreground="red")


def test_images_are_the_trained_size(shapes_engine: Engine) -> None:
    assert ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 1)[0].size == (SIZE, SIZE)
