"""Tiny IP-Adapter weights and image encoders in the h94/IP-Adapter layout and key format.

- models/image_encoder/: ViT-H stand-in (32 px)
- models/ip-adapter_sd15.safetensors: basic projection
- models/ip-adapter-plus-face_sd15.safetensors: Plus resampler
- sdxl_models/image_encoder/: bigG stand-in, wider, so it does NOT fit the *_vit-h files (as for real)
- sdxl_models/ip-adapter-plus_sdxl_vit-h.safetensors: Plus, needs models/image_encoder
- sdxl_models/ip-adapter-plus-face_sdxl_vit-h.safetensors: Plus, needs models/image_encoder
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.embeddings import ImageProjection, IPAdapterPlusImageProjection
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from diffuserve.engine.tiny.sd15 import IMAGE_SIZE

VIT_H_WIDTH = 32  # hidden size and projection dim of the ViT-H stand-in
BIG_G_WIDTH = 48  # the bigG stand-in differs, so pairing it with a *_vit-h adapter fails as it does for real
IP_WEIGHT_STD = 0.5  # large enough that scale 1 visibly changes a 64x64 image


def build_image_encoder(folder: Path, *, seed: int, width: int) -> None:
    torch.manual_seed(seed)
    config = CLIPVisionConfig(
        hidden_size=width,
        projection_dim=width,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=IMAGE_SIZE,
        patch_size=4,
    )
    CLIPVisionModelWithProjection(config).eval().save_pretrained(folder, safe_serialization=True)


def _attention_weights(unet: UNet2DConditionModel, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """`ip_adapter.{1,3,5,...}.to_{k,v}_ip.weight`, one pair per cross-attention layer in processor order."""
    cfg = unet.config
    out: dict[str, torch.Tensor] = {}
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = cfg.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(cfg.block_out_channels))[int(name.split(".")[1])]
        else:
            hidden = cfg.block_out_channels[int(name.split(".")[1])]
        for proj in ("to_k_ip", "to_v_ip"):
            shape = (hidden, cfg.cross_attention_dim)
            out[f"{key_id}.{proj}.weight"] = torch.randn(shape, generator=gen) * IP_WEIGHT_STD
        key_id += 2
    return out


def _basic_projection(cross_dim: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """IP-Adapter's `image_proj`: a linear layer to 4 tokens and a LayerNorm (`proj.*`, `norm.*`)."""
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    module = ImageProjection(cross_attention_dim=cross_dim, image_embed_dim=VIT_H_WIDTH, num_image_text_embeds=4)
    return {k.replace("image_embeds", "proj"): v for k, v in module.state_dict().items()}


def _plus_key(key: str) -> str:
    """A diffusers `IPAdapterPlusImageProjection` key in the original Resampler's naming."""
    parts = key.split(".")
    if parts[0] != "layers":
        return key
    i, rest = parts[1], ".".join(parts[2:])
    renames = {
        "ln0": "0.norm1",
        "ln1": "0.norm2",
        "attn.to_q": "0.to_q",
        "attn.to_out.0": "0.to_out",
        "ff.0": "1.0",
        "ff.1.net.0.proj": "1.1",
        "ff.1.net.2": "1.3",
    }
    module, _, param = rest.rpartition(".")
    return f"layers.{i}.{renames[module]}.{param}"


def _plus_projection(cross_dim: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The Plus Resampler. diffusers' loader hard-codes depth 4 and infers heads as to_q rows // 64."""
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    module = IPAdapterPlusImageProjection(
        embed_dims=VIT_H_WIDTH,
        output_dims=cross_dim,
        hidden_dims=64,
        depth=4,
        dim_head=64,
        heads=1,
        num_queries=16,
    )
    state = module.state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if ".attn.to_k." in key:
            out[key.replace("attn.to_k", "0.to_kv")] = torch.cat([value, state[key.replace("to_k", "to_v")]], dim=0)
        elif ".attn.to_v." not in key:
            out[_plus_key(key)] = value
    return out


def _save_adapter(path: Path, unet: UNet2DConditionModel, *, plus: bool, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    cross_dim = unet.config.cross_attention_dim
    image_proj = _plus_projection(cross_dim, gen) if plus else _basic_projection(cross_dim, gen)
    tensors = {f"image_proj.{k}": v for k, v in image_proj.items()}
    tensors |= {f"ip_adapter.{k}": v for k, v in _attention_weights(unet, gen).items()}
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})


def build_ip_adapters(root: Path, sd15_unet: UNet2DConditionModel, sdxl_unet: UNet2DConditionModel) -> None:
    """Write the whole `tiny-ip-adapter/` tree under `root`."""
    models, sdxl_models = root / "models", root / "sdxl_models"
    build_image_encoder(models / "image_encoder", seed=30, width=VIT_H_WIDTH)
    build_image_encoder(sdxl_models / "image_encoder", seed=31, width=BIG_G_WIDTH)
    _save_adapter(models / "ip-adapter_sd15.safetensors", sd15_unet, plus=False, seed=32)
    _save_adapter(models / "ip-adapter-plus-face_sd15.safetensors", sd15_unet, plus=True, seed=33)
    _save_adapter(sdxl_models / "ip-adapter-plus_sdxl_vit-h.safetensors", sdxl_unet, plus=True, seed=34)
    _save_adapter(sdxl_models / "ip-adapter-plus-face_sdxl_vit-h.safetensors", sdxl_unet, plus=True, seed=35)
