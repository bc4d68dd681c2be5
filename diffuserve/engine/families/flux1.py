"""FLUX.1 (dev, schnell, Krea dev): a flow-matching MMDiT with distilled guidance, CLIP-L (pooled) and T5
text encoders, a 16-channel VAE; true classifier-free guidance through negativePromptStrength; the XLabs
IP-Adapter with a CLIP ViT-L image encoder; the Fill checkpoint as the inpaint variant."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Any

import torch
from diffusers import (
    DiffusionPipeline,
    FluxFillPipeline,
    FluxImg2ImgPipeline,
    FluxInpaintPipeline,
    FluxPipeline,
)
from PIL import Image

from diffuserve.catalog.registry import IpAdapterSet, ModelSpec
from diffuserve.catalog.types import Mode, ResolvedRequest
from diffuserve.engine.embeddings import LruCache, PromptTensors
from diffuserve.engine.families.base import Family, Prompts, StateDict, Variant

# The XLabs layout (XLabs-AI/flux-ip-adapter): `ip_adapter_proj_model.*` projects the CLIP image embedding to
# tokens; `double_blocks.{i}.processor.ip_adapter_double_stream_{k,v}_proj.*` per double-stream block.
_XLABS_BLOCK = re.compile(r"^double_blocks\.(\d+)\.processor\.ip_adapter_double_stream_([kv])_proj\.(weight|bias)$")
BLACK = Image.new("RGB", (64, 64))  # the pipelines' negative IP-Adapter image: all zeros


class Flux1(Family):
    name = "flux1"
    denoiser_name = "transformer"
    pipelines = (FluxPipeline, FluxImg2ImgPipeline, FluxInpaintPipeline)
    inpaint_variant_class = FluxFillPipeline
    single_file_component = "transformer"  # flux1-dev.safetensors & co. hold the transformer only
    max_sequence_length = 512  # T5 tokens; less when the T5 tokenizer's own limit is lower
    # ComfyUI latent_formats.Flux: 16 channels -> RGB.
    preview_factors = (
        [
            [-0.0346, 0.0244, 0.0681],
            [0.0034, 0.0210, 0.0687],
            [0.0275, -0.0668, -0.0433],
            [-0.0174, 0.0160, 0.0617],
            [0.0859, 0.0721, 0.0329],
            [0.0004, 0.0383, 0.0115],
            [0.0405, 0.0861, 0.0915],
            [-0.0236, -0.0185, -0.0259],
            [-0.0245, 0.0250, 0.1180],
            [0.1008, 0.0755, -0.0421],
            [-0.0515, 0.0201, 0.0011],
            [0.0428, -0.0012, -0.0036],
            [0.0817, 0.0765, 0.0749],
            [-0.1264, -0.0522, -0.1103],
            [-0.0280, -0.0881, -0.0499],
            [-0.1262, -0.0982, -0.0778],
        ],
        [-0.0329, -0.0718, -0.0851],
    )

    def variant(self, model: ModelSpec, mode: Mode) -> Variant:
        # FluxFillPipeline takes no IP-Adapter: inpaint-ip-adapter runs on the base checkpoint.
        if mode is Mode.INPAINT_IP_ADAPTER:
            return "base"
        return super().variant(model, mode)

    def uses_cfg(self, pipe: DiffusionPipeline, resolved: ResolvedRequest) -> bool:
        """True CFG (a second transformer pass on the negative prompt) when negativePromptStrength > 0."""
        return resolved.negative_prompt_strength > 0

    def encode_text(self, pipe: DiffusionPipeline, text: str) -> PromptTensors:
        length = min(self.max_sequence_length, int(pipe.tokenizer_2.model_max_length))
        embeds, pooled, _ = pipe.encode_prompt(
            text, prompt_2=None, device=pipe.device, num_images_per_prompt=1, max_sequence_length=length
        )
        return embeds, pooled

    def prompt_kwargs(
        self,
        pipe: DiffusionPipeline,
        cache: LruCache[PromptTensors],
        prompts: Prompts,
        *,
        cfg: bool,
        adapters: Hashable,
    ) -> dict[str, Any]:
        def encoded(text: str) -> PromptTensors:
            key = (self.name, text, adapters)
            tensors = cache.get(key)
            if tensors is None:
                tensors = self.encode_text(pipe, text)
                cache.put(key, tensors)
            return tensors

        rows = [encoded(prompt) for prompt, _ in prompts]
        kwargs = self.stack(rows, "")
        if cfg:  # true CFG: a request without a negative prompt pushes away from the empty prompt
            kwargs |= self.stack([encoded(negative or "") for _, negative in prompts], "negative_")
        return kwargs

    @staticmethod
    def stack(rows: Sequence[PromptTensors], prefix: str) -> dict[str, Any]:
        return {
            f"{prefix}prompt_embeds": torch.cat([r[0] for r in rows if r[0] is not None]),
            f"{prefix}pooled_prompt_embeds": torch.cat([r[1] for r in rows if r[1] is not None]),
        }

    def call_kwargs(
        self,
        resolved: ResolvedRequest,
        images: Sequence[Image.Image | None],
        masks: Sequence[Image.Image | None],
        *,
        cfg: bool,
    ) -> dict[str, Any]:
        mode = resolved.request.mode
        kwargs: dict[str, Any] = {
            "num_inference_steps": resolved.num_inference_steps,
            "guidance_scale": resolved.guidance,  # distilled guidance: an input of the transformer
            "num_images_per_prompt": 1,
            "width": resolved.width,
            "height": resolved.height,
        }
        if cfg:
            # negativePromptStrength s: noise = pos + s * (pos - neg), i.e. true_cfg_scale 1 + s.
            kwargs["true_cfg_scale"] = 1.0 + resolved.negative_prompt_strength
        if mode.uses_image:
            kwargs["image"] = list(images)
            kwargs["strength"] = resolved.strength
        if mode.uses_mask:
            kwargs["mask_image"] = list(masks)
        return kwargs

    def spatial_latents(self, latents: torch.Tensor, resolved: ResolvedRequest) -> torch.Tensor:
        """Packed (rows, h/16 * w/16, 64) -> (rows, 16, h/8, w/8)."""
        if latents.dim() != 3:
            return latents
        rows, _, channels = latents.shape
        h, w = resolved.height // 16, resolved.width // 16
        x = latents[:, : h * w].reshape(rows, h, w, channels // 4, 2, 2)
        return x.permute(0, 3, 1, 4, 2, 5).reshape(rows, channels // 4, h * 2, w * 2)

    # -- IP-Adapter --

    def convert_ip_adapter(self, state: dict[str, torch.Tensor]) -> StateDict:
        """XLabs keys to diffusers' {image_proj, ip_adapter}, as FluxIPAdapterMixin.load_ip_adapter reads them."""
        out: StateDict = {"image_proj": {}, "ip_adapter": {}}
        for key, value in state.items():
            head, _, rest = key.partition(".")
            if head in ("ip_adapter_proj_model", "image_proj"):
                out["image_proj"][rest] = value
            elif (match := _XLABS_BLOCK.match(key)) is not None:
                block, kv, param = match.groups()
                out["ip_adapter"][f"{block}.to_{kv}_ip.{param}"] = value
            elif head == "ip_adapter":
                out["ip_adapter"][rest] = value
        return out

    def load_ip_adapters(self, pipe: DiffusionPipeline, weights: list[StateDict]) -> None:
        names = [f"ip_adapter_{i}" for i in range(len(weights))]
        pipe.load_ip_adapter(
            weights, weight_name=names, subfolder=None, image_encoder_pretrained_model_name_or_path=None
        )

    def ip_scale_config(self, pipe: DiffusionPipeline, ip_set: IpAdapterSet, scales: tuple[float, ...]) -> list[Any]:
        if ip_set.scale_mode == "global" or ip_set.scale_blocks is None:
            return list(scales)
        # `blocks`: per double-stream block multipliers, {"double": [m0, m1, ...]} (missing blocks get 0).
        n = pipe.transformer.config.num_layers
        double = ip_set.scale_blocks.get("double", [])
        multipliers = [float(m) for m in double] if isinstance(double, list) else []
        padded = multipliers[:n] + [0.0] * max(0, n - len(multipliers))
        return [[m * s for m in padded] for s in scales]

    def encode_reference(
        self, pipe: DiffusionPipeline, image: Image.Image, layer: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        positive = pipe.encode_image(image, pipe.device, 1)
        negative = pipe.encode_image(BLACK, pipe.device, 1)
        return positive[None], negative[None]

    def ip_kwargs(
        self, positives: list[torch.Tensor], negatives: list[torch.Tensor], *, cfg: bool
    ) -> dict[str, list[torch.Tensor]]:
        # The negatives guide true CFG's second pass; passing them also spares the pipeline encoding a black image.
        return {"ip_adapter_image_embeds": positives, "negative_ip_adapter_image_embeds": negatives}


FAMILY = Flux1()
