"""Intermediate images: a cheap linear latent→RGB projection, no VAE decode (what ComfyUI and A1111 preview with)."""

from __future__ import annotations

import torch
from PIL import Image

# Least-squares factors from SD latents to RGB in [-1, 1] (ComfyUI latent_formats SD15 / SDXL).
_FACTORS = {
    "sd15": (
        [
            [0.3512, 0.2297, 0.3227],
            [0.3250, 0.4974, 0.2350],
            [-0.2829, 0.1762, 0.2721],
            [-0.2120, -0.2616, -0.7177],
        ],
        [0.0, 0.0, 0.0],
    ),
    "sdxl": (
        [
            [0.3651, 0.4232, 0.4341],
            [-0.2533, -0.0042, 0.1068],
            [0.1076, 0.1111, -0.0362],
            [-0.3165, -0.2492, -0.2188],
        ],
        [0.1084, -0.0175, -0.0011],
    ),
}


def latents_to_previews(latents: torch.Tensor, family: str) -> list[Image.Image]:
    """One small RGB image per latent in the batch (1/8 of the output size)."""
    factors, bias = _FACTORS[family]
    weight = torch.tensor(factors, dtype=torch.float32)
    rgb = latents[:, :4].detach().float().cpu().permute(0, 2, 3, 1) @ weight + torch.tensor(bias)
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    return [Image.fromarray(p, mode="RGB") for p in pixels]
