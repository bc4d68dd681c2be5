"""The engine: validate requests, pick the pipeline, run requests that share a batch key together with per-image
seeds, report progress per request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from diffusers import DiffusionPipeline

from diffuserve.catalog import validation
from diffuserve.catalog.batching import BatchKey, batch_key
from diffuserve.catalog.registry import ModelSpec, Registry
from diffuserve.catalog.types import (
    Callbacks,
    GenerationRequest,
    GenerationResult,
    Mode,
    ResolvedRequest,
)
from diffuserve.config import Settings
from diffuserve.engine.batch import BatchItem, BatchRun, Row
from diffuserve.engine.cache import LoadedModel, PipelineCache
from diffuserve.engine.device import pick_device, pick_dtype
from diffuserve.engine.embeddings import LruCache, accept_row_embeds, ip_adapter_embeds
from diffuserve.engine.families import Family, Variant, family
from diffuserve.engine.ip_adapter import IpAdapters
from diffuserve.engine.lora import Loras
from diffuserve.engine.quiet import quiet_libraries
from diffuserve.engine.schedulers import make_scheduler
from diffuserve.errors import DiffuserveError

log = logging.getLogger(__name__)


class Engine:
    """Runs generation requests on one device, one batch at a time; models load lazily and stay cached."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.device = pick_device(settings.device)
        self.dtype = pick_dtype(settings.dtype, self.device)
        self.cache = PipelineCache(self.device, self.dtype, settings.cache_budget_mb * 1024 * 1024, speed=settings)
        self.ip_adapters = IpAdapters(self.device, self.dtype)
        self.loras = Loras()
        self.image_embeds: LruCache[Any] = LruCache(settings.image_embed_cache_size)
        self._lock = threading.Lock()
        quiet_libraries()

    def validate(self, request: GenerationRequest) -> ResolvedRequest:
        """Every rule checked and every default filled, before any work; raises InvalidRequest or NotFound."""
        return validation.validate(self.registry, request)

    def is_loaded(self, model_id: str, mode: Mode = Mode.TXT2IMG) -> bool:
        """Whether a request for this model and mode would start without loading weights."""
        model = self.registry.get(model_id)
        if model.type.runs_on_base:
            model = validation.base_model(self.registry, model)
        return self.cache.is_loaded(model, self._variant(model, mode))

    def preload(self, model_id: str) -> None:
        """Loads a model (a LoRA's base) now, so its first request starts warm."""
        model = self.registry.get(model_id)
        if model.type.runs_on_base:
            model = validation.base_model(self.registry, model)
        self.cache.get(model)

    @staticmethod
    def _variant(model: ModelSpec, mode: Mode) -> Variant:
        return family(model.type.family).variant(model, mode)

    def generate(self, request: GenerationRequest, callbacks: Callbacks | None = None) -> GenerationResult:
        """Run one request to the end (or until cancelled) and return its images in order: a batch of one."""
        outcome = self.generate_batch([(request, callbacks or Callbacks())])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def generate_batch(
        self, requests: Sequence[tuple[GenerationRequest, Callbacks]]
    ) -> list[GenerationResult | BaseException]:
        """Run several requests, those with equal batch keys in shared pipeline calls; one outcome per request,
        in order: its result, or the error (GenerationCanceled when cancelled) that stopped it alone."""
        outcomes: list[GenerationResult | BaseException | None] = [None] * len(requests)
        groups: dict[BatchKey, list[tuple[int, BatchItem]]] = {}
        # 1. Check inputs and fill defaults, request by request.
        for i, (request, callbacks) in enumerate(requests):
            try:
                resolved = self.validate(request)
            except DiffuserveError as exc:
                outcomes[i] = exc
                continue
            groups.setdefault(batch_key(resolved), []).append((i, BatchItem(resolved, callbacks)))
        # 2. One run per batch key.
        for key, members in groups.items():
            items = [item for _, item in members]
            log.info("batch started key=%s requests=%d images=%d", key, len(items), _images(items))
            try:
                self._run(items)
            except Exception as exc:  # loading the model or its adapters: shared by every request of the key
                for item in items:
                    item.error = exc
            for i, item in members:
                outcomes[i] = item.outcome()
        return [o for o in outcomes if o is not None]

    def _run(self, items: list[BatchItem]) -> None:
        first = items[0].resolved
        model = self.registry.get(first.request.model_id)
        fam = family(model.type.family)

        def on_loading() -> None:
            for item in items:
                if item.callbacks.on_loading is not None:
                    item.callbacks.on_loading()

        with self._lock:
            # 2. The loaded pipeline, re-wrapped for this mode with a scheduler of its own.
            variant = self._variant(model, first.request.mode)
            entry = self.cache.get(model, variant, on_loading=on_loading)
            pipe = self._request_pipeline(fam, entry, variant, first)
            # 3. Adapters: exactly this key's LoRAs and IP-Adapter sets.
            loras = [(self.registry.get(c.model_id), c.scale, c.model_epoch) for c in first.concepts]
            try:
                self.loras.apply(pipe, fam, entry.adapter_state, loras)
                sets = () if fam.takes_references else first.ip_adapters
                uses = [(model.ip_adapters[a.type], a.scales) for a in sets]
                encoders = self.ip_adapters.apply(pipe, fam, entry.adapter_state, uses)
                adapters = tuple((c.model_id, c.scale, c.model_epoch) for c in first.concepts)
                prompt_hits, image_hits = entry.prompt_cache.hits, self.image_embeds.hits

                def encode(rows: Sequence[Row], cfg: bool) -> dict[str, Any]:
                    requests = [item.resolved.request for item, _ in rows]
                    kwargs = fam.prompt_kwargs(
                        pipe,
                        entry.prompt_cache,
                        [(r.prompt, r.negative_prompt or None) for r in requests],
                        cfg=cfg,
                        adapters=adapters,
                    )
                    if encoders:
                        # Row by row, every copy's reference: the sets in order, each set's images in order.
                        refs = [[im for use in r.ip_adapter_uses() for im in use.images] for r in requests]
                        kwargs |= ip_adapter_embeds(pipe, fam, self.image_embeds, encoders, refs, cfg=cfg)
                    return kwargs

                # 4. Denoise, call by call, each image with its own seed.
                BatchRun(
                    pipe,
                    fam,
                    items,
                    max_images=self.settings.max_batch_images,
                    preview_every=self.settings.preview_every,
                    encode=encode,
                ).run()
                log.info(
                    "batch done model_id=%s prompt_cache_hits=%d image_embed_cache_hits=%d prompt_cache_size=%d",
                    model.id,
                    entry.prompt_cache.hits - prompt_hits,
                    self.image_embeds.hits - image_hits,
                    len(entry.prompt_cache),
                )
            finally:
                self.loras.deactivate(pipe, entry.adapter_state)

    def _request_pipeline(
        self, fam: Family, entry: LoadedModel, variant: Variant, resolved: ResolvedRequest
    ) -> DiffusionPipeline:
        cls = fam.pipeline_class(resolved.request.mode, variant)
        scheduler = make_scheduler(resolved.scheduler, entry.pipe.scheduler.config)
        # from_pipe casts the shared components to `dtype`, float32 unless told: keep the loaded dtype.
        pipe = cls.from_pipe(entry.pipe, scheduler=scheduler, dtype=self.dtype)
        pipe.set_progress_bar_config(disable=True)
        accept_row_embeds(pipe)
        return pipe


def _images(items: Sequence[BatchItem]) -> int:
    return sum(item.resolved.request.num_samples for item in items)
