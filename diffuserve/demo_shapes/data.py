"""Training sets for each stage, drawn from seeds: rendered scenes as tensors, masks for inpainting, reference
pairs for the IP-Adapters, and captions whose words the reference overrides."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from PIL import Image

from diffuserve.demo_shapes.scenes import (
    COLOURS,
    SHAPES,
    SIZE,
    Scene,
    random_caption,
    random_scene,
    random_shape,
    render,
)


def to_tensor(images: list[Image.Image]) -> torch.Tensor:
    """RGB images as an (N, 3, H, W) tensor in [-1, 1], as the VAE takes them."""
    arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2) / 127.5 - 1.0


def scenes(seed: int, n: int, *, two_shapes: float = 0.15) -> list[Scene]:
    rng = np.random.default_rng(seed)
    return [random_scene(rng, two_shapes=two_shapes) for _ in range(n)]


def vae_images(seed: int, n: int) -> torch.Tensor:
    """What the VAE must encode: filled scenes, outlines (the LoRA's style) and grey holes (masked inpaint inputs)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        scene = random_scene(rng)
        u = rng.random()
        image = render(scene, outline=u < 0.3)
        if u > 0.85:
            x0, y0 = (int(v) for v in rng.integers(0, SIZE - 12, 2))
            x1, y1 = x0 + int(rng.integers(12, SIZE - x0 + 1)), y0 + int(rng.integers(12, SIZE - y0 + 1))
            image.paste((128, 128, 128), (x0, y0, x1, y1))
        images.append(image)
    return to_tensor(images)


def foreground(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): 1 where a pixel differs from its image's background (the median of its border), else 0."""
    border = torch.cat([images[..., :2, :].flatten(2), images[..., -2:, :].flatten(2)], dim=2)
    background = border.median(dim=2).values[..., None, None]
    return (((images - background) ** 2).sum(1, keepdim=True).sqrt() > 0.3).float()


def inpaint_mask(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """A binary 64x64 mask (1 = repaint): mostly (80 %) a box around the first shape, so the model learns to draw
    the prompted shape into the hole and nowhere else; sometimes a random box or the whole image."""
    mask = np.zeros((SIZE, SIZE), dtype=np.float32)
    u = rng.random()
    if u < 0.8:
        shape = scene.shapes[0]
        cx, cy = shape.centre
        half = shape.radius * 1.1 + rng.uniform(1, 10)
        x0, x1 = int(max(0, cx - half)), int(min(SIZE, cx + half + 1))
        y0, y1 = int(max(0, cy - half)), int(min(SIZE, cy + half + 1))
    elif u < 0.95:
        w, h = (int(v) for v in rng.integers(12, 49, 2))
        x0, y0 = int(rng.integers(0, SIZE - w + 1)), int(rng.integers(0, SIZE - h + 1))
        x1, y1 = x0 + w, y0 + h
    else:
        x0, y0, x1, y1 = 0, 0, SIZE, SIZE
    mask[y0:y1, x0:x1] = 1.0
    return mask


def style_pair(rng: np.random.Generator) -> tuple[Scene, Scene, Scene]:
    """(target, reference, scene the caption describes): the reference shares the target's colours only; the
    caption names the target's shape and place with colours that are usually wrong."""
    target = random_scene(rng, two_shapes=0.0)
    shape = target.shapes[0]
    other = random_shape(rng, exclude={target.background})
    reference = Scene(shapes=(replace(other, colour=shape.colour),), background=target.background)
    if rng.random() < 0.25:
        return target, reference, target
    background = str(rng.choice(list(COLOURS)))
    colour = str(rng.choice([c for c in COLOURS if c != background]))
    described = Scene(shapes=(replace(shape, colour=colour),), background=background)
    return target, reference, described


def character_pair(rng: np.random.Generator) -> tuple[Scene, Scene, Scene]:
    """(target, reference, described): the reference shares the target's shape only (any colour, size, place);
    the caption names the target's colours and place with a shape that is usually wrong."""
    target = random_scene(rng, two_shapes=0.0)
    shape = target.shapes[0]
    background = str(rng.choice(list(COLOURS)))
    other = random_shape(rng, exclude={background})
    reference = Scene(shapes=(replace(other, kind=shape.kind),), background=background)
    if rng.random() < 0.25:
        return target, reference, target
    described = Scene(shapes=(replace(shape, kind=str(rng.choice(SHAPES))),), background=target.background)
    return target, reference, described


__all__ = [
    "character_pair",
    "foreground",
    "inpaint_mask",
    "random_caption",
    "render",
    "scenes",
    "style_pair",
    "to_tensor",
    "vae_images",
]
