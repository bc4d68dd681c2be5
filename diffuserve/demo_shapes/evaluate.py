"""The semantic checks of demo-shapes, run through a real Engine: what the tests assert and what
`bench/demo_shapes.py` measures over many seeds. Each check returns one score row per seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, Mode
from diffuserve.demo_shapes.catalog import SIZE
from diffuserve.demo_shapes.detector import Detection, colour_fraction, detect
from diffuserve.demo_shapes.scenes import Scene, Shape, render
from diffuserve.engine.engine import Engine

MODEL = "demo-shapes"
LORA = "demo-shapes-lora"
STEPS = 20
PROMPT = "a red circle on a blue background"
INPUT = Scene(shapes=(Shape("square", "green", "large", "center"),), background="white")  # img2img / inpaint input
STYLE_REFERENCE = Scene(shapes=(Shape("square", "yellow", "medium", "top left"),), background="black")
CHARACTER_REFERENCE = Scene(shapes=(Shape("star", "yellow", "large", "center"),), background="black")
MASK_BOX = (12, 12, 52, 52)  # covers INPUT's square with a margin
# The IP-Adapter checks' prompts leave to the reference what it brings: the colours (style), the shape (character).
STYLE_PROMPT = "a circle"
CHARACTER_PROMPT = "a red shape on a blue background"


def batch(engine: Engine, mode: Mode, seed: int, n: int, prompt: str = PROMPT, **fields: Any) -> list[Image.Image]:
    """n images of one request (seeds seed..seed+n-1): the same images as n requests, in fewer pipeline calls."""
    request = GenerationRequest(
        mode=mode,
        model_id=fields.pop("model_id", MODEL),
        prompt=prompt,
        num_samples=n,
        num_inference_steps=STEPS,
        width=SIZE,
        height=SIZE,
        seed=seed,
        **fields,
    )
    return [im.image for im in engine.generate(request).images]


def mask_image() -> Image.Image:
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).rectangle((MASK_BOX[0], MASK_BOX[1], MASK_BOX[2] - 1, MASK_BOX[3] - 1), fill=255)
    return mask


def mask_region(grow: int = 0) -> np.ndarray:
    """Boolean pixels of the mask box, grown by `grow` pixels on each side."""
    region = np.zeros((SIZE, SIZE), dtype=bool)
    x0, y0, x1, y1 = MASK_BOX
    region[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = True
    return region


@dataclass(frozen=True)
class Row:
    """One seed's outcome of one check."""

    seed: int
    detection: Detection
    extra: dict[str, float]


def txt2img(engine: Engine, seed: int, n: int, prompt: str = PROMPT, **fields: Any) -> list[Row]:
    images = batch(engine, Mode.TXT2IMG, seed, n, prompt, **fields)
    return [Row(seed + i, detect(im), {}) for i, im in enumerate(images)]


def img2img(engine: Engine, seed: int, n: int, strength: float) -> list[Row]:
    images = batch(engine, Mode.IMG2IMG, seed, n, image=render(INPUT), strength=strength)
    return [Row(seed + i, detect(im), {}) for i, im in enumerate(images)]


def inpaint(engine: Engine, seed: int, n: int, *, disable_merging: bool, strength: float = 1.0) -> list[Row]:
    """Input: a green square on white; the mask covers the square; the prompt asks for a red circle on white."""
    source = render(INPUT)
    images = batch(
        engine,
        Mode.INPAINT,
        seed,
        n,
        "a red circle on a white background",
        image=source,
        mask=mask_image(),
        strength=strength,
        disable_merging=disable_merging,
    )
    outside = ~mask_region(grow=3)  # beyond the merge's soft edge
    src = np.asarray(source, dtype=np.int16)
    rows = []
    for i, im in enumerate(images):
        out = np.asarray(im, dtype=np.int16)
        diff = np.abs(out - src)[outside]
        rows.append(
            Row(
                seed + i,
                detect(im),
                {
                    "red_in_mask": colour_fraction(im, "red", mask_region()),
                    "green_in_mask": colour_fraction(im, "green", mask_region()),
                    "outside_max_diff": float(diff.max()),
                    "outside_mean_diff": float(diff.mean()),
                },
            )
        )
    return rows


def ip_adapter(
    engine: Engine, seed: int, n: int, kind: IpAdapterType, scale: float, prompt: str | None = None
) -> list[Row]:
    """The reference of `kind` at `scale`; `prompt` defaults to the one that leaves the reference's part open."""
    style = kind is IpAdapterType.STYLE
    reference = render(STYLE_REFERENCE if style else CHARACTER_REFERENCE)
    images = batch(
        engine,
        Mode.TXT2IMG_IP_ADAPTER,
        seed,
        n,
        prompt or (STYLE_PROMPT if style else CHARACTER_PROMPT),
        ip_adapter_images=(reference,),
        ip_adapter_scales=(scale,),
        ip_adapter_type=kind,
    )
    return [Row(seed + i, detect(im), {}) for i, im in enumerate(images)]


def lora(engine: Engine, seed: int, n: int, scale: float | None) -> list[Row]:
    """`scale` None: no concept at all."""
    concepts = () if scale is None else (Concept(LORA, scale),)
    images = batch(engine, Mode.TXT2IMG, seed, n, concepts=concepts)
    return [Row(seed + i, detect(im), {}) for i, im in enumerate(images)]


def share(rows: Sequence[Row], **expected: str) -> float:
    """Share of rows whose detection has every expected attribute (foreground=, shape=, background=)."""
    if not rows:
        return 0.0
    hits = [all(getattr(r.detection, k) == v for k, v in expected.items()) for r in rows]
    return float(np.mean(hits))
