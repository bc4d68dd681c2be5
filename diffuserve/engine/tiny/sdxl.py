"""A tiny SDXL-architecture pipeline: two text encoders and text_time added conditioning."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection

from diffuserve.engine.tiny.sd15 import build_vae, text_config
from diffuserve.engine.tiny.tokenizer import build_tokenizer, save_tokenizer


def build_sdxl_unet(*, seed: int, text_hidden: int, pooled_dim: int) -> UNet2DConditionModel:
    """A 2-level UNet whose cross-attention takes both encoders' hidden states concatenated."""
    time_embed_dim = 8
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=2 * text_hidden,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 2),
        addition_embed_type="text_time",
        addition_time_embed_dim=time_embed_dim,
        # 6 micro-conditioning numbers (original size, crop, target size), each time-embedded, + pooled text
        projection_class_embeddings_input_dim=6 * time_embed_dim + pooled_dim,
    )


def build_sdxl(folder: Path) -> StableDiffusionXLPipeline:
    """Save the SDXL pipeline to `folder` and return it."""
    tokenizer = build_tokenizer()
    config = text_config(tokenizer)
    torch.manual_seed(20)
    text_encoder = CLIPTextModel(config).eval()
    torch.manual_seed(21)
    text_encoder_2 = CLIPTextModelWithProjection(config).eval()
    pipe = StableDiffusionXLPipeline(
        vae=build_vae(seed=22, scaling_factor=0.13025),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=build_sdxl_unet(seed=23, text_hidden=config.hidden_size, pooled_dim=config.projection_dim),
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            timestep_spacing="leading",
            steps_offset=1,
        ),
        image_encoder=None,
        feature_extractor=None,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(tokenizer, folder / "tokenizer")
    save_tokenizer(tokenizer, folder / "tokenizer_2")
    return pipe
