"""FLUX.2 [dev]: FLUX.2 [klein]'s transformer and VAE at full size, conditioned on a Mistral Small 3 text encoder
(Mistral3ForConditionalGeneration, hidden states 10, 20 and 30) and run by Flux2Pipeline. Guidance is distilled
(an input of the transformer): one pass per step and no negative prompt. References as for klein."""

from __future__ import annotations

from diffusers import DiffusionPipeline, Flux2Pipeline

from diffuserve.catalog.types import ResolvedRequest
from diffuserve.engine.families.flux2 import Flux2


class Flux2Dev(Flux2):
    name = "flux2-dev"
    pipelines = (Flux2Pipeline, Flux2Pipeline, Flux2Pipeline)
    text_layers = (10, 20, 30)

    def uses_cfg(self, pipe: DiffusionPipeline, resolved: ResolvedRequest) -> bool:
        return False  # distilled guidance: the pipeline has no negative branch


FAMILY = Flux2Dev()
