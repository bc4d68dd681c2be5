"""Diffusers -> original (LDM / CompVis) single-file checkpoint, driven by each model's config.

The inverse of diffusers' `convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint` and
`convert_ldm_clip_checkpoint` (diffusers/loaders/single_file_utils.py); diffusers ships no converter this way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextModel

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
TEXT_PREFIX = "cond_stage_model.transformer.text_model."

_UNET_LAYERS = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _unet_prefixes(config: Any) -> dict[str, str]:
    """Diffusers module prefix -> LDM module prefix, laid out from the block structure in `config`."""
    lpb = config.layers_per_block
    n_down, n_up = len(config.down_block_types), len(config.up_block_types)
    prefixes = dict(_UNET_LAYERS)
    i = 1
    for b in range(n_down):
        for j in range(lpb):
            prefixes[f"down_blocks.{b}.resnets.{j}"] = f"input_blocks.{i}.0"
            prefixes[f"down_blocks.{b}.attentions.{j}"] = f"input_blocks.{i}.1"
            i += 1
        if b < n_down - 1:
            prefixes[f"down_blocks.{b}.downsamplers.0.conv"] = f"input_blocks.{i}.0.op"
            i += 1
    prefixes["mid_block.resnets.0"] = "middle_block.0"
    prefixes["mid_block.attentions.0"] = "middle_block.1"
    prefixes["mid_block.resnets.1"] = "middle_block.2"
    o = 0
    for b in range(n_up):
        has_attention = config.up_block_types[b].startswith("CrossAttn")
        for j in range(lpb + 1):
            prefixes[f"up_blocks.{b}.resnets.{j}"] = f"output_blocks.{o}.0"
            prefixes[f"up_blocks.{b}.attentions.{j}"] = f"output_blocks.{o}.1"
            if j == lpb and b < n_up - 1:
                prefixes[f"up_blocks.{b}.upsamplers.0.conv"] = f"output_blocks.{o}.{2 if has_attention else 1}.conv"
            o += 1
    return prefixes


def _vae_prefixes(config: Any) -> dict[str, str]:
    n_down, n_up = len(config.down_block_types), len(config.up_block_types)
    prefixes = {"encoder.conv_norm_out": "encoder.norm_out", "decoder.conv_norm_out": "decoder.norm_out"}
    for i in range(n_down):
        for j in range(config.layers_per_block):
            prefixes[f"encoder.down_blocks.{i}.resnets.{j}"] = f"encoder.down.{i}.block.{j}"
        prefixes[f"encoder.down_blocks.{i}.downsamplers.0.conv"] = f"encoder.down.{i}.downsample.conv"
    for i in range(n_up):  # the decoder's blocks are numbered from the bottom in LDM
        for j in range(config.layers_per_block + 1):
            prefixes[f"decoder.up_blocks.{i}.resnets.{j}"] = f"decoder.up.{n_up - 1 - i}.block.{j}"
        prefixes[f"decoder.up_blocks.{i}.upsamplers.0.conv"] = f"decoder.up.{n_up - 1 - i}.upsample.conv"
    for part in ("encoder", "decoder"):
        for k in range(2):
            prefixes[f"{part}.mid_block.resnets.{k}"] = f"{part}.mid.block_{k + 1}"
        prefixes[f"{part}.mid_block.attentions.0"] = f"{part}.mid.attn_1"
    return prefixes


def _rename(key: str, prefixes: dict[str, str]) -> tuple[str, str, str] | None:
    """Split `key` at its longest known module prefix: (diffusers prefix, LDM prefix, rest)."""
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:n])
        if head in prefixes:
            return head, prefixes[head], ".".join(parts[n:])
    return None


def unet_to_ldm(unet: UNet2DConditionModel) -> dict[str, torch.Tensor]:
    prefixes = _unet_prefixes(unet.config)
    out: dict[str, torch.Tensor] = {}
    for key, value in unet.state_dict().items():
        split = _rename(key, prefixes)
        if split is None:
            raise ValueError(f"no LDM name for UNet weight {key}")
        head, ldm, rest = split
        if ".resnets." in head:
            module, _, param = rest.rpartition(".")
            rest = f"{_UNET_RESNET.get(module, module)}.{param}"
        out[f"{UNET_PREFIX}{ldm}.{rest}"] = value
    return out


def vae_to_ldm(vae: AutoencoderKL) -> dict[str, torch.Tensor]:
    prefixes = _vae_prefixes(vae.config)
    prefixes.update({k: k for k in ("encoder.conv_in", "encoder.conv_out", "decoder.conv_in", "decoder.conv_out")})
    prefixes.update({k: k for k in ("quant_conv", "post_quant_conv")})
    out: dict[str, torch.Tensor] = {}
    for key, value in vae.state_dict().items():
        split = _rename(key, prefixes)
        if split is None:
            raise ValueError(f"no LDM name for VAE weight {key}")
        head, ldm, rest = split
        if head.endswith("attentions.0"):
            module, _, param = rest.rpartition(".")
            rest = f"{_VAE_ATTENTION[module]}.{param}"
            if module != "group_norm" and param == "weight":
                value = value[:, :, None, None]  # LDM's attention projections are 1x1 convolutions
        elif ".resnets." in head:
            rest = rest.replace("conv_shortcut", "nin_shortcut")
        out[f"{VAE_PREFIX}{ldm}.{rest}"] = value
    return out


def text_encoder_to_ldm(text_encoder: CLIPTextModel) -> dict[str, torch.Tensor]:
    """The CLIP text weights under `cond_stage_model.transformer.text_model.`, as SD 1.x checkpoints have."""
    out = {f"{TEXT_PREFIX}{k.removeprefix('text_model.')}": v for k, v in text_encoder.state_dict().items()}
    positions = text_encoder.config.max_position_embeddings
    out[f"{TEXT_PREFIX}embeddings.position_ids"] = torch.arange(positions, dtype=torch.int64)[None]
    return out


def save_sd15_single_file(
    unet: UNet2DConditionModel, vae: AutoencoderKL, text_encoder: CLIPTextModel, path: Path
) -> None:
    """Write an SD 1.x original-format `.safetensors` checkpoint of these components."""
    state = {**unet_to_ldm(unet), **vae_to_ldm(vae), **text_encoder_to_ldm(text_encoder)}
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})
