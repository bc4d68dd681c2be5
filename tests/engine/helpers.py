"""Small image helpers shared by the engine tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def max_diff(a: Image.Image, b: Image.Image) -> int:
    return int(np.abs(pixels(a) - pixels(b)).max())


def mean_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


def picture(size: int = 64, seed: int = 0) -> Image.Image:
    """A deterministic test picture with shapes and a gradient, so img2img has structure to keep."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size, dtype=np.float32)
    arr = np.stack([np.tile(base, (size, 1)), np.tile(base[:, None], (1, size)), np.full((size, size), 90.0)], -1)
    image = Image.fromarray(arr.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = (int(v) for v in rng.integers(0, size - 16, 2))
        draw.rectangle((x, y, x + 14, y + 14), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return image


def center_mask(size: int = 64, margin: int = 20) -> Image.Image:
    """White square in the middle (replace), black border (keep)."""
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle((margin, margin, size - margin - 1, size - margin - 1), fill=255)
    return mask
