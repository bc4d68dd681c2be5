"""The demo-shapes components: SD 1.5's classes (AutoencoderKL, UNet2DConditionModel, CLIPTextModel, and a CLIP
vision encoder for the IP-Adapters) at a tiny size for 64x64 images.

The VAE downsamples 4x (three blocks), so a 64x64 image is a 16x16x4 latent: enough room for a shape's outline,
and still cheap to denoise on a CPU.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, DDPMScheduler, DPMSolverMultistepScheduler, UNet2DConditionModel
from transformers import CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPVisionConfig

from diffuserve.demo_shapes.tokenizer import MAX_LENGTH

TEXT_WIDTH = 64
VISION_SIZE = 64  # the image encoder's input side: the whole 64x64 reference, in 8x8 patches
VISION_WIDTH = 64
LATENT_SIDE = 16
# SD 1.5's noise schedule, for training (DDPM) and sampling.
SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}


def vae(seed: int) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=8,
        block_out_channels=(16, 32, 64),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        mid_block_add_attention=False,  # flat shapes need no global attention to be encoded
        sample_size=64,
    )


def unet(seed: int, in_channels: int = 4) -> UNet2DConditionModel:
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=LATENT_SIDE,
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=(16, 32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=4,
        norm_num_groups=8,
    )


def text_config(vocab_size: int, bos: int, eos: int, pad: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=TEXT_WIDTH,
        intermediate_size=128,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=MAX_LENGTH,
        projection_dim=TEXT_WIDTH,
        hidden_act="gelu",
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=pad,
    )


def text_encoder(seed: int, vocab_size: int, bos: int, eos: int, pad: int) -> CLIPTextModel:
    torch.manual_seed(seed)
    return CLIPTextModel(text_config(vocab_size, bos, eos, pad))


def vision_config() -> CLIPVisionConfig:
    return CLIPVisionConfig(
        hidden_size=VISION_WIDTH,
        projection_dim=VISION_WIDTH,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=128,
        image_size=VISION_SIZE,
        patch_size=8,
    )


def feature_extractor() -> CLIPImageProcessor:
    """What the engine builds for an encoder of this size (diffuserve.engine.ip_adapter), so training sees the
    same pixels."""
    return CLIPImageProcessor(
        size={"shortest_edge": VISION_SIZE}, crop_size={"height": VISION_SIZE, "width": VISION_SIZE}
    )


def train_scheduler() -> DDPMScheduler:
    return DDPMScheduler(**SCHEDULE)


def sample_scheduler() -> DPMSolverMultistepScheduler:
    """The shipped default: DPM++ 2M, good in 20 steps."""
    return DPMSolverMultistepScheduler(**SCHEDULE, steps_offset=1, timestep_spacing="leading")
