"""The README's picture of demo-shapes: prompt -> images, and each mode on one input, through the real engine.

`python -m diffuserve.demo_shapes.grid [--out docs/demo-shapes.png]`
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import IpAdapterType, Mode
from diffuserve.config import Settings
from diffuserve.demo_shapes import evaluate as ev
from diffuserve.demo_shapes.catalog import demo_shapes_specs
from diffuserve.demo_shapes.scenes import render
from diffuserve.engine.engine import Engine

DEMO_PROMPTS: tuple[str, ...] = (
    "a red circle on a blue background",
    "a yellow star on a black background",
    "a green square on a white background",
    "a small purple triangle top left on a yellow background",
    "a large orange circle on a green background",
    "a white star bottom right on a red background",
    "a red circle and a blue square on a white background",
)
SEEDS = 4
CELL = 128  # each 64x64 image drawn at 2x
LABEL = 330


def _row(label: str, images: list[Image.Image]) -> Image.Image:
    row = Image.new("RGB", (LABEL + CELL * len(images), CELL), "white")
    draw = ImageDraw.Draw(row)
    words, lines, line = label.split(), [], ""
    for word in words:
        if len(line) + len(word) > 40:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    lines.append(line)
    for i, text in enumerate(lines):
        draw.text((8, CELL // 2 - 8 * len(lines) + 16 * i), text, fill="black")
    for i, image in enumerate(images):
        row.paste(image.resize((CELL, CELL), Image.Resampling.NEAREST), (LABEL + CELL * i, 0))
    return row


def build(engine: Engine) -> Image.Image:
    seed = 1000
    rows = [_row(f'"{p}"', ev.batch(engine, Mode.TXT2IMG, seed, SEEDS, p)) for p in DEMO_PROMPTS]
    source = render(ev.INPUT)
    rows.append(
        _row(
            "img2img input (then strength 0.2, 0.9; prompt 1st row)",
            [
                source,
                *ev.batch(engine, Mode.IMG2IMG, seed, 1, image=source, strength=0.2),
                *ev.batch(engine, Mode.IMG2IMG, seed, 2, image=source, strength=0.9),
            ],
        )
    )
    masked = source.copy()
    masked.paste((128, 128, 128), ev.MASK_BOX)
    rows.append(
        _row(
            'inpaint the grey box: "a red circle on a white background"',
            [
                masked,
                *ev.batch(
                    engine,
                    Mode.INPAINT,
                    seed,
                    3,
                    "a red circle on a white background",
                    image=source,
                    mask=ev.mask_image(),
                    strength=1.0,
                ),
            ],
        )
    )
    for kind, ref, prompt in (
        (IpAdapterType.STYLE, ev.STYLE_REFERENCE, ev.STYLE_PROMPT),
        (IpAdapterType.CHARACTER, ev.CHARACTER_REFERENCE, ev.CHARACTER_PROMPT),
    ):
        reference = render(ref)
        rows.append(
            _row(
                f'IP-Adapter {kind.value}, scale 1 (reference first): "{prompt}"',
                [
                    reference,
                    *ev.batch(
                        engine,
                        Mode.TXT2IMG_IP_ADAPTER,
                        seed,
                        3,
                        prompt,
                        ip_adapter_images=(reference,),
                        ip_adapter_scales=(1.0,),
                        ip_adapter_type=kind,
                    ),
                ],
            )
        )
    rows.append(
        _row(
            "demo-shapes-lora (outlines), prompt 1st row",
            ev.batch(engine, Mode.TXT2IMG, seed, SEEDS, model_id="demo-shapes-lora"),
        )
    )
    grid = Image.new("RGB", (max(r.width for r in rows), CELL * len(rows) + 4 * len(rows)), "white")
    for i, row in enumerate(rows):
        grid.paste(row, (0, i * (CELL + 4)))
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/demo-shapes.png"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), demo_models=False)
        registry = Registry(settings.resolved_registry_path)
        for spec in demo_shapes_specs():
            registry.add(spec)
        grid = build(Engine(registry, settings))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
