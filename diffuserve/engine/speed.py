"""Speed switches for a loaded pipeline (compile, channels-last, fused QKV, VAE slicing and tiling,
LoRA hot-swap), each chosen in Settings and applied once, when the pipeline cache loads the pipeline."""

from __future__ import annotations

import logging
from typing import Any

import torch
from diffusers import DiffusionPipeline

from diffuserve.config import Settings

log = logging.getLogger(__name__)


def apply_speed_settings(pipe: DiffusionPipeline, settings: Settings | None, denoiser: Any = None) -> list[str]:
    """Apply the switches `settings` turns on to `pipe`, already on its device; return their names in order.

    Fusing creates new projection layers and hot-swap preparation must happen before the first LoRA and before
    compiling, so compile comes last. `torch.compile` is lazy: the first generation of each shape pays for it.
    """
    if settings is None:
        return []
    denoiser = pipe.unet if denoiser is None else denoiser  # the UNet, or a FLUX transformer
    applied: list[str] = []
    if settings.fuse_qkv:
        if hasattr(pipe, "fuse_qkv_projections"):
            pipe.fuse_qkv_projections()
        else:
            denoiser.fuse_qkv_projections()
        applied.append("fuse_qkv")
    if settings.channels_last:
        if denoiser.__class__.__name__.startswith("UNet"):  # a transformer has no convolutions to reorder
            denoiser.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    if settings.vae_slicing:
        pipe.vae.enable_slicing()
        applied.append("vae_slicing")
    if settings.vae_tiling:
        pipe.vae.enable_tiling()
        applied.append("vae_tiling")
    if settings.lora_hotswap_rank > 0:
        pipe.enable_lora_hotswap(target_rank=settings.lora_hotswap_rank)
        applied.append("lora_hotswap")
    if settings.compile:
        # Regional compilation: each BasicTransformerBlock is compiled once and the code reused by every copy.
        mode = None if settings.compile_mode == "default" else settings.compile_mode
        denoiser.compile_repeated_blocks(fullgraph=True, mode=mode)
        applied.append("compile")
    if applied:
        log.info(
            "speed switches applied pipeline=%s device=%s switches=%s compile_mode=%s lora_hotswap_rank=%d",
            type(pipe).__name__,
            pipe.device,
            ",".join(applied),
            settings.compile_mode if settings.compile else "-",
            settings.lora_hotswap_rank,
        )
    return applied
