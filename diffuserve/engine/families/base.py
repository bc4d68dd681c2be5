"""The engine's half of a model family: what it loads, how it encodes prompts and reference images for a batch,
how it calls its pipelines, and how LoRA and IP-Adapter attach. One subclass per family module.

The torch-free half (limits, defaults, schedulers) is `diffuserve.catalog.families`; both are keyed by
`ModelType.family`. Every method sees whole batches: row i of every tensor belongs to image i of the call.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Literal

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from diffuserve.catalog.registry import IpAdapterSet, ModelSpec
from diffuserve.catalog.types import Mode, ResolvedRequest
from diffuserve.engine.embeddings import LruCache, PromptTensors

Variant = Literal["base", "inpaint"]
StateDict = dict[str, dict[str, torch.Tensor]]
# Per-row inputs of one pipeline call: (prompt, negative prompt or None).
Prompts = Sequence[tuple[str, str | None]]


class Family:
    """Defaults shared by every family; a family module overrides what differs."""

    name: ClassVar[str]
    denoiser_name: ClassVar[str] = "unet"  # the pipeline attribute of the denoising network
    # Pipeline classes per base mode: txt2img, img2img, inpaint.
    pipelines: ClassVar[tuple[type[DiffusionPipeline], type[DiffusionPipeline], type[DiffusionPipeline]]]
    # The class that loads and runs a model's `inpaint_source` (SD's 9-channel UNet, FLUX Fill); None: `inpaint`.
    inpaint_variant_class: ClassVar[type[DiffusionPipeline] | None] = None
    # True: the model reads reference images itself (FLUX.2: the input image and the IP-Adapter images, as tokens
    # in `call_kwargs`); they condition every row of a call, so a call holds one request, and no IP-Adapter loads.
    takes_references: ClassVar[bool] = False
    # The component a single-file checkpoint of this family holds alone (the rest from its config); None: all.
    single_file_component: ClassVar[str | None] = None
    # Latent channels -> RGB in [-1, 1] for previews (weights, bias); None: the first three channels.
    preview_factors: ClassVar[tuple[list[list[float]], list[float]] | None] = None

    # -- loading and pipelines --

    def denoiser(self, pipe: DiffusionPipeline) -> Any:
        return getattr(pipe, self.denoiser_name)

    def variant(self, model: ModelSpec, mode: Mode) -> Variant:
        """Which loaded weights run `mode`: the inpainting checkpoint for masks when the model has one."""
        return "inpaint" if mode.uses_mask and model.inpaint_source is not None else "base"

    def load_class(self, variant: Variant) -> type[DiffusionPipeline]:
        if variant == "inpaint":
            return self.inpaint_variant_class or self.pipelines[2]
        return self.pipelines[0]

    def pipeline_class(self, mode: Mode, variant: Variant) -> type[DiffusionPipeline]:
        txt2img, img2img, inpaint = self.pipelines
        base = mode.base
        if base is Mode.INPAINT:
            return self.inpaint_variant_class or inpaint if variant == "inpaint" else inpaint
        return txt2img if base is Mode.TXT2IMG else img2img

    # -- one pipeline call --

    def uses_cfg(self, pipe: DiffusionPipeline, resolved: ResolvedRequest) -> bool:
        """Whether the call runs two denoiser rows per image (negative, positive)."""
        return False

    def prompt_kwargs(
        self,
        pipe: DiffusionPipeline,
        cache: LruCache[PromptTensors],
        prompts: Prompts,
        *,
        cfg: bool,
        adapters: Hashable,
    ) -> dict[str, Any]:
        """`prompt_embeds` & co. for one row per (prompt, negative prompt), each encoded alone and cached;
        `adapters` names the active LoRAs, which may change what the text encoders output."""
        raise NotImplementedError

    def call_kwargs(
        self,
        resolved: ResolvedRequest,
        images: Sequence[Image.Image | None],
        masks: Sequence[Image.Image | None],
        *,
        cfg: bool,
    ) -> dict[str, Any]:
        """Everything but prompts, references and generators: steps, guidance, sizes and the rows' images."""
        mode = resolved.request.mode
        kwargs: dict[str, Any] = {
            "num_inference_steps": resolved.num_inference_steps,
            "guidance_scale": resolved.guidance,
            "num_images_per_prompt": 1,
        }
        if mode.uses_image:
            kwargs["image"] = list(images)
            kwargs["strength"] = resolved.strength
        if mode.base is not Mode.IMG2IMG:
            kwargs["width"], kwargs["height"] = resolved.width, resolved.height
        if mode.uses_mask:
            kwargs["mask_image"] = list(masks)
        return kwargs

    def previews(self, latents: torch.Tensor, resolved: ResolvedRequest) -> list[Image.Image]:
        """One small RGB image per row, from the latents a step callback sees (no VAE decode)."""
        return latents_to_rgb(self.spatial_latents(latents, resolved), self.preview_factors)

    def spatial_latents(self, latents: torch.Tensor, resolved: ResolvedRequest) -> torch.Tensor:
        """The step latents as (rows, channels, h, w)."""
        return latents

    # -- LoRA --

    def lora_adapter_names(self, pipe: DiffusionPipeline) -> list[str]:
        names: list[str] = pipe.get_list_adapters().get(self.denoiser_name, [])
        return names

    # -- IP-Adapter --

    def convert_ip_adapter(self, state: dict[str, torch.Tensor]) -> StateDict:
        """A weights file's tensors in diffusers' {image_proj, ip_adapter} layout (the h94 layout here)."""
        out: StateDict = {"image_proj": {}, "ip_adapter": {}}
        for key, value in state.items():
            group, _, rest = key.partition(".")
            if group in out:
                out[group][rest] = value
        return out

    def load_ip_adapters(self, pipe: DiffusionPipeline, weights: list[StateDict]) -> None:
        """Put one adapter per entry of `weights` on the denoiser (the image encoder is registered already)."""
        names = [f"ip_adapter_{i}" for i in range(len(weights))]
        pipe.load_ip_adapter(weights, subfolder=None, weight_name=names, image_encoder_folder=None)

    def ip_scale_config(self, pipe: DiffusionPipeline, ip_set: IpAdapterSet, scales: tuple[float, ...]) -> list[Any]:
        """`set_ip_adapter_scale` entries for the copies of one set, one per reference image."""
        return list(scales)

    def encode_reference(
        self, pipe: DiffusionPipeline, image: Image.Image, layer: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(positive, negative) embeddings of one reference image for one adapter copy, each (1, ...)."""
        raise NotImplementedError

    def ip_kwargs(
        self, positives: list[torch.Tensor], negatives: list[torch.Tensor], *, cfg: bool
    ) -> dict[str, list[torch.Tensor]]:
        """The call's IP-Adapter arguments from per-copy tensors, each one row per image."""
        raise NotImplementedError

    def ip_projection_layers(self, pipe: DiffusionPipeline) -> list[Any]:
        return list(self.denoiser(pipe).encoder_hid_proj.image_projection_layers)


def latents_to_rgb(latents: torch.Tensor, factors: tuple[list[list[float]], list[float]] | None) -> list[Image.Image]:
    """A linear latent -> RGB projection per row (what ComfyUI and A1111 preview with)."""
    x = latents.detach().float().cpu()
    if factors is None:
        rgb = x[:, :3].permute(0, 2, 3, 1)
        rgb = rgb / rgb.abs().amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    else:
        weight, bias = factors
        channels = len(weight)
        rgb = x[:, :channels].permute(0, 2, 3, 1) @ torch.tensor(weight) + torch.tensor(bias)
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    return [Image.fromarray(p, mode="RGB") for p in pixels]
