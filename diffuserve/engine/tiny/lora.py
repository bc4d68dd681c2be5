"""Tiny UNet LoRAs in the diffusers LoRA file format (`pytorch_lora_weights.safetensors`)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

from diffuserve.catalog.demo import LORA_WEIGHT_NAME as WEIGHT_NAME

LORA_B_STD = 0.2  # peft zero-initialises lora_B (no effect); random lora_B makes the effect visible


def build_lora(
    folder: Path,
    unet: UNet2DConditionModel,
    pipeline_cls: type[StableDiffusionPipeline] | type[StableDiffusionXLPipeline],
    *,
    seed: int,
) -> Path:
    """Save a rank-4 LoRA on the attention projections of a copy of `unet`; return the weights file."""
    torch.manual_seed(seed)
    model = copy.deepcopy(unet)
    config = LoraConfig(
        r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_k", "to_q", "to_v", "to_out.0"]
    )
    model.add_adapter(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, LORA_B_STD)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(model))
    pipeline_cls.save_lora_weights(folder, unet_lora_layers=layers, weight_name=WEIGHT_NAME, safe_serialization=True)
    return folder / WEIGHT_NAME
