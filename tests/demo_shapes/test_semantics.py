"""What the engine's modes mean, checked on pictures: demo-shapes is asked for something, and a detector of colour
and shape reads the result. Each check runs 8 fixed seeds; `python bench/demo_shapes.py` measures the same checks
over 48 (the closing note of issue 11 and the README give those figures and the margins).

Asserted here, with the 48-seed figures of the shipped weights in brackets: the prompt's foreground colour,
background colour and shape (red/blue/circle 100/100/65 %, yellow star on black 100/92/100 %, blue triangle on
yellow 100/94/100 %); img2img at strength 0.9 follows the prompt (100 %); inpainting with merging keeps the outside
and removes what the mask covered; the IP-Adapters at scale 0 leave the prompt in charge (100 %); the LoRA leaves
no trace at scale 0 and after it; a negative prompt removes its colour (0 % red vs 25 % without). Not yet met by
these weights, so measured by the bench and not asserted: img2img at 0.2 keeping the input (classifier-free
guidance at 7.5 repaints a 16x16 latent even at low noise), the inpainted colour (69 % of seeds), IP-Adapter
transfer at scale 1 and the LoRA's outlines (29 %) — issue 11 stays open on them.
"""

from __future__ import annotations

from diffuserve.catalog.types import Concept, IpAdapterType, Mode
from diffuserve.demo_shapes import evaluate as ev
from diffuserve.demo_shapes.catalog import SIZE
from diffuserve.engine.engine import Engine
from tests.engine.helpers import max_diff

N = 8  # seeds per check
SEED = 1000


def test_the_prompt_is_followed_colour_background_and_shape(shapes_engine: Engine) -> None:
    rows = ev.txt2img(shapes_engine, SEED, N)  # "a red circle on a blue background"
    assert ev.share(rows, foreground="red") >= 0.75
    assert ev.share(rows, background="blue") >= 0.75
    assert ev.share(rows, foreground="red", shape="circle", background="blue") >= 0.5  # chance: 1/224


def test_stars_and_triangles_come_out_as_asked(shapes_engine: Engine) -> None:
    for prompt, foreground, shape, background in (
        ("a yellow star on a black background", "yellow", "star", "black"),
        ("a blue triangle on a yellow background", "blue", "triangle", "yellow"),
    ):
        rows = ev.txt2img(shapes_engine, SEED, N, prompt)
        assert ev.share(rows, foreground=foreground, shape=shape, background=background) >= 0.75, prompt


def test_img2img_at_high_strength_follows_the_prompt(shapes_engine: Engine) -> None:
    rows = ev.img2img(shapes_engine, SEED, N, 0.9)  # a green square on white, asked for a red circle on blue
    assert ev.share(rows, foreground="red", background="blue") >= 0.75


def test_ip_adapters_at_scale_zero_leave_the_prompt_in_charge(shapes_engine: Engine) -> None:
    for kind in (IpAdapterType.STYLE, IpAdapterType.CHARACTER):
        rows = ev.ip_adapter(shapes_engine, SEED, N, kind, 0.0)
        assert ev.share(rows, foreground="red", background="blue") >= 0.75, kind


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
    plain = ev.txt2img(shapes_engine, SEED, 2 * N, "a circle")
    negative = ev.txt2img(shapes_engine, SEED, 2 * N, "a circle", negative_prompt="red")
    assert ev.share(negative, foreground="red") <= 1 / 16
    assert ev.share(plain, foreground="red") > ev.share(negative, foreground="red")


def test_images_are_the_trained_size(shapes_engine: Engine) -> None:
    assert ev.batch(shapes_engine, Mode.TXT2IMG, SEED, 1)[0].size == (SIZE, SIZE)
