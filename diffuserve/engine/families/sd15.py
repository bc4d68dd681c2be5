"""SD 1.5: UNet with classifier-free guidance, one CLIP text encoder, h94 IP-Adapters, the 9-channel inpainting
checkpoint as the inpaint variant. SDXL extends it (`sdxl.py`)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import torch
from diffusers import (
    DiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
)
from diffusers.models.embeddings import ImageProjection
from PIL import Image

from diffuserve.catalog.types import ResolvedRequest
from diffuserve.engine.embeddings import LruCache, PromptTensors
from diffuserve.engine.families.base import Family, Prompts


class StableDiffusion15(Family):
    name = "sd15"
    denoiser_name = "unet"
    pipelines = (StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline)
    # Least-squares factors from SD latents to RGB in [-1, 1] (ComfyUI latent_formats SD15).
    preview_factors = (
        [
            [0.3512, 0.2297, 0.3227],
            [0.3250, 0.4974, 0.2350],
            [-0.2829, 0.1762, 0.2721],
            [-0.2120, -0.2616, -0.7177],
        ],
        [0.0, 0.0, 0.0],
    )
    prompt_names: tuple[str, ...] = ("prompt_embeds", "negative_prompt_embeds")

    def uses_cfg(self, pipe: DiffusionPipeline, resolved: ResolvedRequest) -> bool:
        """The pipelines' own rule for classifier-free guidance (two UNet rows per image)."""
        return resolved.guidance > 1 and pipe.unet.config.time_cond_proj_dim is None

    def encode_one(self, pipe: DiffusionPipeline, prompt: str, negative: str | None, cfg: bool) -> PromptTensors:
        return tuple(pipe.encode_prompt(prompt, pipe.device, 1, cfg, negative_prompt=negative))

    def prompt_kwargs(
        self,
        pipe: DiffusionPipeline,
        cache: LruCache[PromptTensors],
        prompts: Prompts,
        *,
        cfg: bool,
        adapters: Hashable,
    ) -> dict[str, Any]:
        rows: list[PromptTensors] = []
        for prompt, negative in prompts:
            key = (prompt, negative, cfg, adapters)
            tensors = cache.get(key)
            if tensors is None:
                tensors = self.encode_one(pipe, prompt, negative, cfg)
                cache.put(key, tensors)
            rows.append(tensors)
        kwargs: dict[str, Any] = {}
        for i, name in enumerate(self.prompt_names):
            parts = [row[i] for row in rows]
            if all(p is not None for p in parts):
                kwargs[name] = torch.cat([p for p in parts if p is not None])
        return kwargs

    # -- IP-Adapter (h94 layout: basic projection or Plus resampler, CLIP ViT-H/bigG image encoder) --

    def encode_reference(
        self, pipe: DiffusionPipeline, image: Image.Image, layer: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = not isinstance(layer, ImageProjection)  # the Plus resampler reads the encoder's hidden states
        positive, negative = pipe.encode_image(image, pipe.device, 1, hidden)
        return positive[None], negative[None]

    def ip_kwargs(
        self, positives: list[torch.Tensor], negatives: list[torch.Tensor], *, cfg: bool
    ) -> dict[str, list[torch.Tensor]]:
        # Per adapter: the negative rows then the positive rows (with CFG), as the pipelines lay them out.
        embeds = [torch.cat([n, p]) if cfg else p for p, n in zip(positives, negatives, strict=True)]
        return {"ip_adapter_image_embeds": embeds}

    def ip_scale_config(self, pipe: DiffusionPipeline, ip_set: Any, scales: tuple[float, ...]) -> list[Any]:
        if ip_set.scale_mode == "global":
            return list(scales)
        if ip_set.scale_blocks is not None:
            return [_times(ip_set.scale_blocks, s) for s in scales]
        # InstantStyle: the middle attention layer of the first up block carries style (notes/ip-adapter.md §2.3).
        n_layers = len(pipe.unet.up_blocks[0].attentions)
        middle = n_layers // 2
        return [{"up": {"block_0": [s if i == middle else 0.0 for i in range(n_layers)]}} for s in scales]


def _times(blocks: Any, scale: float) -> Any:
    """A per-block scale dict with every multiplier times `scale`."""
    if isinstance(blocks, dict):
        return {key: _times(value, scale) for key, value in blocks.items()}
    if isinstance(blocks, list):
        return [float(v) * scale for v in blocks]
    return float(blocks) * scale


FAMILY = StableDiffusion15()
