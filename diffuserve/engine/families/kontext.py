"""FLUX.1 Kontext dev: FLUX.1's transformer trained to edit an input image from an instruction. img2img edits the
whole image (no strength); txt2img generates from the prompt alone, as Kontext allows; inpaint edits inside a mask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diffusers import FluxKontextInpaintPipeline, FluxKontextPipeline
from PIL import Image

from diffuserve.catalog.types import Mode, ResolvedRequest
from diffuserve.engine.families.flux1 import Flux1


class FluxKontext(Flux1):
    name = "flux1-kontext"
    pipelines = (FluxKontextPipeline, FluxKontextPipeline, FluxKontextInpaintPipeline)
    inpaint_variant_class = None

    def call_kwargs(
        self,
        resolved: ResolvedRequest,
        images: Sequence[Image.Image | None],
        masks: Sequence[Image.Image | None],
        *,
        cfg: bool,
    ) -> dict[str, Any]:
        kwargs = super().call_kwargs(resolved, images, masks, cfg=cfg)
        # The output has exactly the asked size: no snapping to Kontext's preferred resolutions, no area rescale.
        kwargs["_auto_resize"] = False
        kwargs["max_area"] = resolved.width * resolved.height
        if resolved.request.mode.base is Mode.IMG2IMG:
            kwargs.pop("strength", None)  # an edit keeps nothing of the input's noise schedule
        return kwargs


FAMILY = FluxKontext()
