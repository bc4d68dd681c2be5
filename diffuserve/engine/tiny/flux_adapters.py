"""Tiny FLUX.1 adapters: an XLabs-layout IP-Adapter with a CLIP ViT-L-architecture image encoder, and a LoRA
trained for three epochs (one diffusers LoRA file per epoch)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from diffusers import FluxPipeline, FluxTransformer2DModel
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

IMAGE_SIZE = 32  # the encoder's input: ViT-L/14 takes 224 px; the tiny one 32 px in 4 px patches
ENCODER_WIDTH = 32
IP_WEIGHT_STD = 0.5  # large enough that scale 1 visibly changes a tiny image
LORA_B_STD = 0.2
EPOCHS = ("000001", "000002", "000003")
NUM_TOKENS = 4  # XLabs' projection makes 4 tokens (16 would be the Plus variant)


def build_vit_l_encoder(folder: Path, *, seed: int) -> None:
    """CLIPVisionModelWithProjection, ViT-L/14's architecture (pre-LN ViT, class token, projection) at toy size."""
    torch.manual_seed(seed)
    config = CLIPVisionConfig(
        hidden_size=ENCODER_WIDTH,
        projection_dim=ENCODER_WIDTH,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=IMAGE_SIZE,
        patch_size=4,
        hidden_act="quick_gelu",
    )
    CLIPVisionModelWithProjection(config).eval().save_pretrained(folder, safe_serialization=True)


def save_xlabs_ip_adapter(path: Path, transformer: FluxTransformer2DModel, *, seed: int) -> None:
    """`ip_adapter_proj_model.{proj,norm}.*` and `double_blocks.{i}.processor.ip_adapter_double_stream_{k,v}_proj.*`."""
    gen = torch.Generator().manual_seed(seed)
    cfg = transformer.config
    text_dim = cfg.joint_attention_dim
    inner = cfg.num_attention_heads * cfg.attention_head_dim

    def randn(*shape: int, std: float = 0.2) -> torch.Tensor:
        return torch.randn(shape, generator=gen) * std

    tensors = {
        "ip_adapter_proj_model.proj.weight": randn(NUM_TOKENS * text_dim, ENCODER_WIDTH),
        "ip_adapter_proj_model.proj.bias": randn(NUM_TOKENS * text_dim),
        "ip_adapter_proj_model.norm.weight": torch.ones(text_dim),
        "ip_adapter_proj_model.norm.bias": torch.zeros(text_dim),
    }
    for i in range(cfg.num_layers):
        for kv in ("k", "v"):
            prefix = f"double_blocks.{i}.processor.ip_adapter_double_stream_{kv}_proj"
            tensors[f"{prefix}.weight"] = randn(inner, text_dim, std=IP_WEIGHT_STD)
            tensors[f"{prefix}.bias"] = randn(inner, std=0.05)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})


def build_flux_ip_adapter(root: Path, transformer: FluxTransformer2DModel) -> None:
    """`root/image_encoder/` and two adapters: `ip_adapter.safetensors` (style), `ip_adapter_face.safetensors`."""
    build_vit_l_encoder(root / "image_encoder", seed=60)
    save_xlabs_ip_adapter(root / "ip_adapter.safetensors", transformer, seed=61)
    save_xlabs_ip_adapter(root / "ip_adapter_face.safetensors", transformer, seed=62)


def build_flux_lora(folder: Path, transformer: Any, *, seed: int, pipeline_cls: Any = FluxPipeline) -> dict[str, Path]:
    """One rank-4 LoRA file per epoch (`epoch-000001.safetensors`, ...), each a little further trained; saved in
    `pipeline_cls`'s LoRA format (FLUX.1's by default, Flux2KleinPipeline for FLUX.2)."""
    torch.manual_seed(seed)
    model = copy.deepcopy(transformer)
    model.add_adapter(
        LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_k", "to_q", "to_v", "to_out.0"])
    )
    files: dict[str, Path] = {}
    with torch.no_grad():
        for epoch in EPOCHS:
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.add_(torch.randn_like(param) * LORA_B_STD)
            layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(model))
            weight_name = f"epoch-{epoch}.safetensors"
            pipeline_cls.save_lora_weights(
                folder, transformer_lora_layers=layers, weight_name=weight_name, safe_serialization=True
            )
            files[epoch] = folder / weight_name
    return files
