"""FLUX.2 [klein]: a flow-matching transformer conditioned on a Qwen3 text encoder's intermediate layers, a
32-channel VAE, and reference images as extra tokens. img2img is reference editing: the input image conditions the
generation (strength is not used); the -ip-adapter modes add the IP-Adapter images as further references, in
order, after the input image. Klein base runs classifier-free guidance with the negative prompt; the
step-distilled Klein ignores guidance (the pipeline's `is_distilled`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import torch
from diffusers import DiffusionPipeline, Flux2KleinPipeline
from PIL import Image

from diffuserve.catalog.types import ResolvedRequest
from diffuserve.engine.embeddings import LruCache, PromptTensors
from diffuserve.engine.families.base import Family, Prompts
from diffuserve.engine.images import fit_reference


class Flux2(Family):
    name = "flux2"
    denoiser_name = "transformer"
    pipelines = (Flux2KleinPipeline, Flux2KleinPipeline, Flux2KleinPipeline)
    takes_references = True
    max_sequence_length = 512
    text_layers: tuple[int, ...] = (9, 18, 27)  # Klein reads these Qwen3 hidden states
    reference_multiple = 16  # 8x VAE, then 2x2 patches

    def uses_cfg(self, pipe: DiffusionPipeline, resolved: ResolvedRequest) -> bool:
        return resolved.guidance > 1 and not pipe.config.is_distilled

    def prompt_kwargs(
        self,
        pipe: DiffusionPipeline,
        cache: LruCache[PromptTensors],
        prompts: Prompts,
        *,
        cfg: bool,
        adapters: Hashable,
    ) -> dict[str, Any]:
        # FLUX.2 [dev]'s tokenizer component is a processor (PixtralProcessor) holding the tokenizer.
        tokenizer = getattr(pipe.tokenizer, "tokenizer", pipe.tokenizer)
        length = min(self.max_sequence_length, int(tokenizer.model_max_length))

        def encoded(text: str) -> torch.Tensor:
            key = (self.name, text, adapters)
            tensors = cache.get(key)
            if tensors is None:
                embeds, _ = pipe.encode_prompt(
                    text, pipe.device, 1, max_sequence_length=length, text_encoder_out_layers=self.text_layers
                )
                tensors = (embeds,)
                cache.put(key, tensors)
            found = tensors[0]
            assert found is not None
            return found

        kwargs: dict[str, Any] = {"prompt_embeds": torch.cat([encoded(p) for p, _ in prompts])}
        if cfg:
            kwargs["negative_prompt_embeds"] = torch.cat([encoded(n or "") for _, n in prompts])
        return kwargs

    def call_kwargs(
        self,
        resolved: ResolvedRequest,
        images: Sequence[Image.Image | None],
        masks: Sequence[Image.Image | None],
        *,
        cfg: bool,
    ) -> dict[str, Any]:
        """`resolved` is the call's own request (one request per call): its input image, then its IP-Adapter
        images, are the references."""
        kwargs: dict[str, Any] = {
            "num_inference_steps": resolved.num_inference_steps,
            "guidance_scale": resolved.guidance,  # klein: classifier-free; dev: distilled, an input of the model
            "num_images_per_prompt": 1,
            "width": resolved.width,
            "height": resolved.height,
            "text_encoder_out_layers": self.text_layers,
        }
        references = self.references(resolved, images[0] if images else None)
        if references:
            kwargs["image"] = references
        return kwargs

    def references(self, resolved: ResolvedRequest, image: Image.Image | None) -> list[Image.Image]:
        """The input image (already at the output size), then every IP-Adapter image in request order."""
        request = resolved.request
        found = [image] if request.mode.uses_image and image is not None else []
        if request.mode.uses_ip_adapter:
            w, h, m = resolved.width, resolved.height, self.reference_multiple
            found += [fit_reference(im, w, h, m) for use in request.ip_adapter_uses() for im in use.images]
        return found

    def spatial_latents(self, latents: torch.Tensor, resolved: ResolvedRequest) -> torch.Tensor:
        """Packed (rows, h/16 * w/16, 128) -> (rows, 128, h/16, w/16)."""
        if latents.dim() != 3:
            return latents
        rows, _, channels = latents.shape
        h, w = resolved.height // 16, resolved.width // 16
        return latents[:, : h * w].reshape(rows, h, w, channels).permute(0, 3, 1, 2)


FAMILY = Flux2()
