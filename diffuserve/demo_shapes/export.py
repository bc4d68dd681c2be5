"""Writing trained demo-shapes components in the formats users' checkpoints come in: diffusers folders, an SD 1.x
single file, IP-Adapters in the h94 layout, a LoRA in the diffusers LoRA format.

Weights are stored as float16 (half the size; the engine loads them at its own dtype).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from diffusers.models.embeddings import ImageProjection, IPAdapterPlusImageProjection
from safetensors.torch import save_file
from transformers import CLIPTextModel, CLIPTokenizer

from diffuserve.demo_shapes import models
from diffuserve.demo_shapes.tokenizer import save_tokenizer
from diffuserve.engine.tiny.single_file import save_sd15_single_file

STORE_DTYPE = torch.float16
_PLUS_RENAMES = {
    "ln0": "0.norm1",
    "ln1": "0.norm2",
    "attn.to_q": "0.to_q",
    "attn.to_out.0": "0.to_out",
    "ff.0": "1.0",
    "ff.1.net.0.proj": "1.1",
    "ff.1.net.2": "1.3",
}


def _half(module: torch.nn.Module) -> torch.nn.Module:
    return copy.deepcopy(module).to(STORE_DTYPE).eval()


def save_pipeline(
    folder: Path,
    *,
    unet: UNet2DConditionModel,
    vae: AutoencoderKL,
    text_encoder: CLIPTextModel,
    tokenizer: CLIPTokenizer,
    inpaint: bool = False,
) -> None:
    """A diffusers folder (`from_pretrained` loads it); `inpaint` for the 9-channel UNet."""
    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    pipe = cls(
        vae=_half(vae),
        text_encoder=_half(text_encoder),
        tokenizer=tokenizer,
        unet=_half(unet),
        scheduler=models.sample_scheduler(),
        safety_checker=None,
        feature_extractor=models.feature_extractor(),
        image_encoder=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(tokenizer, folder / "tokenizer")
    for config in folder.glob("*/config.json"):  # diffusers records the folder each part was loaded from
        fields = json.loads(config.read_text())
        if fields.pop("_name_or_path", None) is not None:
            config.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n")


def save_single_file(
    path: Path, *, unet: UNet2DConditionModel, vae: AutoencoderKL, text_encoder: CLIPTextModel
) -> None:
    save_sd15_single_file(_half(unet), _half(vae), _half(text_encoder), path)  # type: ignore[arg-type]


def ip_attention_h94(unet: UNet2DConditionModel, index: int) -> dict[str, torch.Tensor]:
    """`{1,3,5,...}.to_{k,v}_ip.weight` of adapter `index` from a UNet with IP-Adapter processors loaded."""
    out: dict[str, torch.Tensor] = {}
    key_id = 1
    for processor in unet.attn_processors.values():
        if not hasattr(processor, "to_k_ip"):
            continue  # self-attention, and the Plus resampler's own attention
        out[f"{key_id}.to_k_ip.weight"] = processor.to_k_ip[index].weight
        out[f"{key_id}.to_v_ip.weight"] = processor.to_v_ip[index].weight
        key_id += 2
    return out


def attention_init_h94(unet: UNet2DConditionModel) -> dict[str, torch.Tensor]:
    """IP-Adapter's initialisation: each `to_k_ip`/`to_v_ip` starts as a copy of its layer's text `to_k`/`to_v`."""
    out: dict[str, torch.Tensor] = {}
    key_id = 1
    for name, module in unet.named_modules():
        if name.endswith("attn2"):
            out[f"{key_id}.to_k_ip.weight"] = module.to_k.weight.detach().clone()
            out[f"{key_id}.to_v_ip.weight"] = module.to_v.weight.detach().clone()
            key_id += 2
    return out


def basic_projection_h94(module: ImageProjection) -> dict[str, torch.Tensor]:
    return {k.replace("image_embeds", "proj"): v for k, v in module.state_dict().items()}


def plus_projection_h94(module: IPAdapterPlusImageProjection) -> dict[str, torch.Tensor]:
    """diffusers' Resampler keys back in the original naming (to_k and to_v joined as to_kv)."""
    state = module.state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] != "layers":
            out[key] = value
            continue
        rest = ".".join(parts[2:])
        module_name, _, param = rest.rpartition(".")
        if module_name == "attn.to_k":
            out[f"layers.{parts[1]}.0.to_kv.{param}"] = torch.cat([value, state[key.replace("to_k", "to_v")]], dim=0)
        elif module_name != "attn.to_v":
            out[f"layers.{parts[1]}.{_PLUS_RENAMES[module_name]}.{param}"] = value
    return out


def save_ip_adapter(path: Path, image_proj: dict[str, torch.Tensor], attention: dict[str, torch.Tensor]) -> None:
    tensors = {f"image_proj.{k}": v for k, v in image_proj.items()}
    tensors |= {f"ip_adapter.{k}": v for k, v in attention.items()}
    save_file(
        {k: v.detach().to(STORE_DTYPE).contiguous() for k, v in tensors.items()},
        str(path),
        metadata={"format": "pt"},
    )
