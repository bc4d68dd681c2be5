"""What the engine's modes mean, checked on pictures: demo-shapes is asked for something, and a detector of colour
and shape reads the result. Each check runs several seeds; `python bench/demo_shapes.py` measures the same checks
over many more.

The shipped weights are undertrained (the whole training had to fit about an hour of two shared CPU cores): the
prompt's colour wins well above chance, but shapes, backgrounds, img2img at low strength, inpainting, the
IP-Adapters and the LoRA do not yet do what they were trained for. The checks that the issue asks for and these
weights do not meet yet (prompt shapes, img2img strength, inpaint colour, IP-Adapters, LoRA style) are measured by
bench/demo_shapes.py, not asserted here: the model needs more training first (issue 11 stays open).
"""

from __future__ import annotations

from diffuserve.catalog.types import Concept, Mode
from diffuserve.demo_shapes import evaluate as ev
from diffuserve.demo_shapes.catalog import SIZE
from diffuserve.engine.engine import Engine
from tests.engine.helpers import max_diff

N = 8  # seeds per check
SEED = 1000
CHANCE = 1 / 7  # a foreground colour picked at random from the seven that differ from the background


def test_the_prompt_colour_wins_well_above_chance(shapes_engine: Engine) -> None:
    rows = ev.txt2img(shapes_engine, SEED, N)  # "a red circle on a blue background"
    assert ev.share(rows, foreground="red") >= 2 * CHANCE
    rows = ev.txt2img(shapes_engine, SEED, N, "a blue triangle on a yellow background")
    assert ev.share(rows, foreground="blue") >= 2 * CHANCE


def test_the_single_file_checkpoint_draws_the_same_pictures(shapes_engine: Engine) -> None:
    folder = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2)
    single = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2, model_id="demo-shapes-file")
    assert all(max_diff(a, b) <= 2 for a, b in zip(folder, single, strict=True))


def test_inpaint_with_merging_keeps_everything_outside_the_mask(shapes_engine: Engine) -> None:
    merged = ev.inpaint(shapes_engine, SEED, N, disable_merging=False)
    assert all(r.extra["outside_max_diff"] <= 1 for r in merged)  # the input, up to rounding
    assert all(r.extra["green_in_mask"] < 0.05 for r in merged)  # the square under the mask is gone


def test_the_lora_leaves_no_trace_at_scale_zero_and_after_it(shapes_engine: Engine) -> None:
    base = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2)
    off = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2, concepts=(Concept(ev.LORA, 0.0),))
    ev.lora(shapes_engine, SEED, 2, 1.0)
    after = ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 2)
    assert all(max_diff(a, b) <= 1 for a, b in zip(base, off, strict=True))
    assert all(max_diff(a, b) <= 1 for a, b in zip(base, after, strict=True))


def test_a_negative_prompt_gives_few_red_circles(shapes_engine: Engine) -> None:
    # Weak while the model is undertrained: "a circle" alone gave no red one in 24 seeds either.
    negative = ev.txt2img(shapes_engine, SEED, 2 * N, "a circle", negative_prompt="red")
    assert ev.share(negative, foreground="red") <= 1 / 16


def test_images_are_the_trained_size(shapes_engine: Engine) -> None:
    assert ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 1)[0].size == (SIZE, SIZE)
