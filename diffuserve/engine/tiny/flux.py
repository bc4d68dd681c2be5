"""Tiny FLUX.1-architecture pipelines (dev, schnell, Fill, Kontext), random weights from fixed seeds.

The real classes at toy widths: FluxTransformer2DModel (1 double + 1 single block, 2 heads of 16), a CLIP text
encoder (pooled, 32 wide) and a T5 encoder (32 wide) with their tokenizers, the 16-channel 8x VAE, the
FlowMatchEulerDiscreteScheduler of FLUX.1-dev. Plus the transformer alone as a single `.safetensors` file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxFillPipeline,
    FluxKontextPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
)
from safetensors.torch import save_file
from transformers import CLIPTextModel, T5Config, T5EncoderModel, T5Tokenizer

from diffuserve.engine.tiny.sd15 import text_config
from diffuserve.engine.tiny.tokenizer import build_tokenizer, save_tokenizer

LATENT_CHANNELS = 16
TEXT_WIDTH = 32  # CLIP hidden/pooled and T5 d_model: the transformer's pooled_projection_dim and joint_attention_dim
T5_MAX_LENGTH = 64  # FLUX.1 reads up to 512 T5 tokens; a tiny model needs fewer to test the same path
_T5_SPECIALS = ("<pad>", "</s>", "<unk>")
_T5_PIECES = [chr(c) for c in range(33, 127)]


def build_t5_tokenizer(max_length: int = T5_MAX_LENGTH) -> T5Tokenizer:
    """A Unigram (sentencepiece-style) tokenizer over printable ASCII, words marked with '▁' as T5's are."""
    vocab: list[tuple[str, float]] = [(s, 0.0) for s in _T5_SPECIALS]
    vocab += [("▁", -2.0)] + [("▁" + c, -3.0) for c in _T5_PIECES] + [(c, -4.0) for c in _T5_PIECES]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=max_length)


def build_vae(*, seed: int) -> AutoencoderKL:
    """FLUX's VAE shape: 16 latent channels, 8x, no quant convs, FLUX.1's scaling and shift."""
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=8,
        block_out_channels=(8, 16, 32, 32),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        use_quant_conv=False,
        use_post_quant_conv=False,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        sample_size=64,
    )


def build_transformer(*, seed: int, guidance: bool = True, fill: bool = False) -> FluxTransformer2DModel:
    """`fill`: FLUX Fill's input, packed latents + packed masked-image latents + the packed 8x8 mask (384 = 64 +
    64 + 256 channels at full size; here 64 + 64 + 256 too, as the VAE is 8x with 16 channels)."""
    torch.manual_seed(seed)
    packed = LATENT_CHANNELS * 4
    return FluxTransformer2DModel(
        patch_size=1,
        in_channels=packed * 2 + 8 * 8 * 4 if fill else packed,
        out_channels=packed,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=TEXT_WIDTH,
        guidance_embeds=guidance,
        axes_dims_rope=(4, 4, 8),
    )


def scheduler(*, dynamic: bool = True) -> FlowMatchEulerDiscreteScheduler:
    """FLUX.1-dev's scheduler config (schnell: no resolution-dependent shift)."""
    return FlowMatchEulerDiscreteScheduler(
        shift=3.0 if dynamic else 1.0,
        use_dynamic_shifting=dynamic,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )


class _TextEncoders:
    def __init__(self, seed: int) -> None:
        self.tokenizer = build_tokenizer()
        self.tokenizer_2 = build_t5_tokenizer()
        torch.manual_seed(seed)
        self.text_encoder = CLIPTextModel(text_config(self.tokenizer)).eval()
        torch.manual_seed(seed + 1)
        config = T5Config(
            vocab_size=len(self.tokenizer_2),
            d_model=TEXT_WIDTH,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            is_encoder_decoder=False,
            use_cache=False,
            pad_token_id=0,
            eos_token_id=1,
        )
        self.text_encoder_2 = T5EncoderModel(config).eval()

    def save_tokenizers(self, folder: Path) -> None:
        save_tokenizer(self.tokenizer, folder / "tokenizer")


def build_flux(out: Path) -> FluxPipeline:
    """Under `out`: tiny-flux/ (dev), tiny-flux-schnell/, tiny-flux-fill/, tiny-flux-kontext/ and
    tiny-flux-file.safetensors (tiny-flux's transformer alone, diffusers key names); returns the dev pipeline."""
    text = _TextEncoders(seed=50)
    vae = build_vae(seed=52)
    common = {
        "vae": vae,
        "text_encoder": text.text_encoder,
        "tokenizer": text.tokenizer,
        "text_encoder_2": text.text_encoder_2,
        "tokenizer_2": text.tokenizer_2,
    }
    dev = FluxPipeline(transformer=build_transformer(seed=53), scheduler=scheduler(), **common)
    variants: list[tuple[str, object]] = [
        ("tiny-flux", dev),
        (
            "tiny-flux-schnell",
            FluxPipeline(
                transformer=build_transformer(seed=54, guidance=False), scheduler=scheduler(dynamic=False), **common
            ),
        ),
        (
            "tiny-flux-fill",
            FluxFillPipeline(transformer=build_transformer(seed=55, fill=True), scheduler=scheduler(), **common),
        ),
        (
            "tiny-flux-kontext",
            FluxKontextPipeline(transformer=build_transformer(seed=56), scheduler=scheduler(), **common),
        ),
    ]
    for name, pipe in variants:
        pipe.save_pretrained(out / name, safe_serialization=True)  # type: ignore[attr-defined]
        text.save_tokenizers(out / name)
    state = {k: v.detach().contiguous() for k, v in dev.transformer.state_dict().items()}
    save_file(state, str(out / "tiny-flux-file.safetensors"), metadata={"format": "pt"})
    return dev
