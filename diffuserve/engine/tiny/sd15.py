"""Tiny SD 1.5-architecture pipelines (txt2img and 9-channel inpainting), random weights from fixed seeds."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    PNDMScheduler,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from diffuserve.engine.tiny.tokenizer import build_tokenizer, save_tokenizer

IMAGE_SIZE = 32  # the image encoder's input size, so the feature extractor crops to it


def text_config(tokenizer: CLIPTokenizer) -> CLIPTextConfig:
    """A 2-layer, 32-wide CLIP text encoder config over the tokenizer's vocabulary."""
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=77,
        projection_dim=32,
        hidden_act="gelu",
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_vae(*, seed: int, scaling_factor: float) -> AutoencoderKL:
    """A 4-block VAE that downsamples 8x like SD's, so latents have SD's shape for a given image size."""
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=8,
        block_out_channels=(8, 16, 32, 32),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        scaling_factor=scaling_factor,
        sample_size=64,
    )


def build_unet(*, seed: int, in_channels: int) -> UNet2DConditionModel:
    """A 2-level SD 1.5-style UNet; `in_channels=9` makes the inpainting variant."""
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=(2, 4),
    )


def _scheduler() -> PNDMScheduler:
    return PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
        set_alpha_to_one=False,
    )


def _feature_extractor() -> CLIPImageProcessor:
    size = {"shortest_edge": IMAGE_SIZE}
    return CLIPImageProcessor(size=size, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def build_sd15(folder: Path, inpaint_folder: Path) -> StableDiffusionPipeline:
    """Save the txt2img pipeline to `folder` and its 9-channel inpainting twin (same VAE/text encoder) to
    `inpaint_folder`; return the txt2img pipeline."""
    tokenizer = build_tokenizer()
    torch.manual_seed(10)
    text_encoder = CLIPTextModel(text_config(tokenizer)).eval()
    vae = build_vae(seed=11, scaling_factor=0.18215)
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=build_unet(seed=12, in_channels=4),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=_feature_extractor(),
        image_encoder=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(tokenizer, folder / "tokenizer")
    inpaint = StableDiffusionInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=build_unet(seed=13, in_channels=9),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=_feature_extractor(),
        image_encoder=None,
        requires_safety_checker=False,
    )
    inpaint.save_pretrained(inpaint_folder, safe_serialization=True)
    save_tokenizer(tokenizer, inpaint_folder / "tokenizer")
    return pipe
