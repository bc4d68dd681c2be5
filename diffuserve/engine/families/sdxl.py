"""SDXL: SD 1.5's UNet family with two text encoders (pooled embeddings) and added size conditioning."""

from __future__ import annotations

from diffusers import (
    DiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from diffuserve.engine.embeddings import PromptTensors
from diffuserve.engine.families.sd15 import StableDiffusion15


class StableDiffusionXL(StableDiffusion15):
    name = "sdxl"
    pipelines = (StableDiffusionXLPipeline, StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline)
    # ComfyUI latent_formats SDXL.
    preview_factors = (
        [
            [0.3651, 0.4232, 0.4341],
            [-0.2533, -0.0042, 0.1068],
            [0.1076, 0.1111, -0.0362],
            [-0.3165, -0.2492, -0.2188],
        ],
        [0.1084, -0.0175, -0.0011],
    )
    prompt_names = (
        "prompt_embeds",
        "negative_prompt_embeds",
        "pooled_prompt_embeds",
        "negative_pooled_prompt_embeds",
    )

    def encode_one(self, pipe: DiffusionPipeline, prompt: str, negative: str | None, cfg: bool) -> PromptTensors:
        return tuple(
            pipe.encode_prompt(prompt, device=pipe.device, do_classifier_free_guidance=cfg, negative_prompt=negative)
        )


FAMILY = StableDiffusionXL()
