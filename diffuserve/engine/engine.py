"""The engine: validate a request, pick the pipeline, run it in batches with per-image seeds, report progress."""

from __future__ import annotations

import logging
import threading
from typing import Any

import torch
from diffusers import DiffusionPipeline

from diffuserve.config import Settings
from diffuserve.engine import validation
from diffuserve.engine.cache import LoadedModel, PipelineCache, Variant
from diffuserve.engine.device import pick_device, pick_dtype
from diffuserve.engine.images import fit_image, fit_mask, merge_inpaint
from diffuserve.engine.ip_adapter import IpAdapters
from diffuserve.engine.loading import default_scheduler_name, pipeline_class
from diffuserve.engine.lora import Loras
from diffuserve.engine.previews import latents_to_previews
from diffuserve.engine.quiet import quiet_libraries
from diffuserve.engine.registry import ModelSpec, Registry
from diffuserve.engine.schedulers import make_scheduler
from diffuserve.engine.types import (
    Callbacks,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Mode,
    Progress,
    ResolvedRequest,
)
from diffuserve.errors import GenerationCanceled

log = logging.getLogger(__name__)


class _StepTracker:
    """Turns diffusers' per-step callback into progress, previews and cancellation across all batches."""

    def __init__(self, callbacks: Callbacks, n_batches: int, family: str, preview_every: int, previews: bool):
        self.cb = callbacks
        self.n_batches = n_batches
        self.family = family
        self.preview_every = preview_every
        self.previews = previews
        self.batch = 0

    def __call__(self, pipe: DiffusionPipeline, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if self.cb.should_cancel is not None and self.cb.should_cancel():
            raise GenerationCanceled("generation canceled")
        per_batch = int(pipe.num_timesteps)
        done = self.batch * per_batch + step + 1
        if self.cb.on_progress is not None:
            self.cb.on_progress(Progress(done=done, total=self.n_batches * per_batch))
        last = step + 1 == per_batch
        if self.previews and self.cb.on_preview is not None and not last and (step + 1) % self.preview_every == 0:
            self.cb.on_preview(latents_to_previews(tensors["latents"], self.family))
        return tensors


class Engine:
    """Runs generation requests on one device, one at a time; models load lazily and stay cached."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.device = pick_device(settings.device)
        self.dtype = pick_dtype(settings.dtype, self.device)
        self.cache = PipelineCache(self.device, self.dtype, settings.cache_budget_mb * 1024 * 1024)
        self.ip_adapters = IpAdapters(self.device, self.dtype)
        self.loras = Loras()
        self._lock = threading.Lock()
        quiet_libraries()

    def validate(self, request: GenerationRequest) -> ResolvedRequest:
        """Every rule checked and every default filled, before any work; raises InvalidRequest or NotFound."""
        return validation.validate(self.registry, request, default_scheduler_name)

    def is_loaded(self, model_id: str, mode: Mode = Mode.TXT2IMG) -> bool:
        """Whether a request for this model and mode would start without loading weights."""
        model = self.registry.get(model_id)
        if model.type.is_lora:
            model = validation.base_model(self.registry, model)
        return self.cache.is_loaded(model, self._variant(model, mode))

    @staticmethod
    def _variant(model: ModelSpec, mode: Mode) -> Variant:
        return "inpaint" if mode.uses_mask and model.inpaint_source is not None else "base"

    def generate(self, request: GenerationRequest, callbacks: Callbacks | None = None) -> GenerationResult:
        """Run a request to the end (or until cancelled) and return its images in order."""
        callbacks = callbacks or Callbacks()
        # 1. Check inputs and fill defaults.
        resolved = self.validate(request)
        request = resolved.request
        model = self.registry.get(request.model_id)
        with self._lock:
            # 2. The loaded pipeline, re-wrapped for this mode with a scheduler of its own.
            entry = self.cache.get(
                model,
                self._variant(model, request.mode),
                on_loading=callbacks.on_loading,
            )
            pipe = self._request_pipeline(entry, resolved)
            # 3. Adapters: exactly this request's LoRAs and IP-Adapter set.
            loras = [(self.registry.get(c.model_id), c.scale) for c in resolved.concepts]
            try:
                self.loras.apply(pipe, entry.adapter_state, loras)
                ip_set = model.ip_adapters[request.ip_adapter_type] if request.mode.uses_ip_adapter else None
                self.ip_adapters.apply(pipe, entry.adapter_state, ip_set, resolved.ip_adapter_scales)
                # 4. Denoise, batch by batch, each image with its own seed.
                inputs = self._pipeline_inputs(resolved)
                images = self._run_batches(pipe, model, resolved, inputs, callbacks)
            finally:
                self.loras.deactivate(pipe, entry.adapter_state)
        # 5. Inpaint: put the generated region back into the original (both already fitted to the output size).
        if request.mode.uses_mask and not request.disable_merging:
            images = [merge_inpaint(inputs["image"], image, inputs["mask_image"]) for image in images]
        return GenerationResult(
            images=tuple(
                GeneratedImage(image=im, seed=s, index=i)
                for i, (im, s) in enumerate(zip(images, resolved.seeds, strict=True))
            ),
            resolved=resolved,
        )

    def _request_pipeline(self, entry: LoadedModel, resolved: ResolvedRequest) -> DiffusionPipeline:
        cls = pipeline_class(entry.spec.type.family, resolved.request.mode)
        scheduler = make_scheduler(resolved.scheduler, entry.pipe.scheduler.config)
        # from_pipe casts the shared components to `dtype`, float32 unless told: keep the loaded dtype.
        pipe = cls.from_pipe(entry.pipe, scheduler=scheduler, dtype=self.dtype)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _pipeline_inputs(self, resolved: ResolvedRequest) -> dict[str, Any]:
        r = resolved.request
        kwargs: dict[str, Any] = {
            "prompt": r.prompt,
            "negative_prompt": r.negative_prompt or None,
            "num_inference_steps": resolved.num_inference_steps,
            "guidance_scale": resolved.guidance,
        }
        if r.mode.uses_image:
            assert r.image is not None
            kwargs["image"] = fit_image(r.image, resolved.width, resolved.height)
            kwargs["strength"] = resolved.strength
        if r.mode.base is not Mode.IMG2IMG:
            kwargs["width"], kwargs["height"] = resolved.width, resolved.height
        if r.mode.uses_mask:
            assert r.mask is not None
            kwargs["mask_image"] = fit_mask(r.mask, resolved.width, resolved.height)
        if r.mode.uses_ip_adapter:
            kwargs["ip_adapter_image"] = [im.convert("RGB") for im in r.ip_adapter_images]
        return kwargs

    def _run_batches(
        self,
        pipe: DiffusionPipeline,
        model: ModelSpec,
        resolved: ResolvedRequest,
        inputs: dict[str, Any],
        callbacks: Callbacks,
    ) -> list[Any]:
        seeds = resolved.seeds
        size = self.settings.max_batch_size
        batches = [seeds[i : i + size] for i in range(0, len(seeds), size)]
        tracker = _StepTracker(
            callbacks,
            len(batches),
            model.type.family,
            self.settings.preview_every,
            resolved.request.intermediate_images,
        )
        images: list[Any] = []
        for index, batch in enumerate(batches):
            tracker.batch = index
            generators = [torch.Generator("cpu").manual_seed(seed) for seed in batch]
            with torch.inference_mode():
                output = pipe(
                    **inputs,
                    num_images_per_prompt=len(batch),
                    generator=generators,
                    callback_on_step_end=tracker,
                    callback_on_step_end_tensor_inputs=["latents"],
                )
            images.extend(output.images)
            log.debug("batch done model_id=%s batch=%d/%d", model.id, index + 1, len(batches))
        return images
