"""The pipeline cache: each model variant loaded once, least recently used evicted under a memory budget."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers import DiffusionPipeline

from diffuserve.catalog.registry import ModelSpec
from diffuserve.config import Settings
from diffuserve.engine.embeddings import LruCache
from diffuserve.engine.families import Variant, family
from diffuserve.engine.loading import load_pipeline, module_bytes
from diffuserve.engine.speed import apply_speed_settings

log = logging.getLogger(__name__)

PROMPT_CACHE_ENTRIES = 256


@dataclass
class LoadedModel:
    """A loaded pipeline, the spec it was loaded from, and the adapter state of its UNet."""

    spec: ModelSpec
    variant: Variant
    pipe: DiffusionPipeline
    size_bytes: int
    adapter_state: dict[str, Any] = field(default_factory=dict)
    # Prompt embeddings of this model's text encoders, by (prompt, negative prompt, CFG, active LoRAs).
    prompt_cache: LruCache[Any] = field(default_factory=lambda: LruCache(PROMPT_CACHE_ENTRIES))


class PipelineCache:
    """Loads pipelines on first use and keeps them, most recently used last, within `budget_bytes`."""

    def __init__(
        self, device: torch.device, dtype: torch.dtype, budget_bytes: int, *, speed: Settings | None = None
    ) -> None:
        self.device = device
        self.dtype = dtype
        self.budget_bytes = budget_bytes
        self.speed = speed  # the speed switches applied to each pipeline as it loads; None: none
        self._entries: OrderedDict[tuple[str, Variant], LoadedModel] = OrderedDict()
        self._lock = threading.RLock()

    def is_loaded(self, spec: ModelSpec, variant: Variant = "base") -> bool:
        with self._lock:
            entry = self._entries.get((spec.id, variant))
            return entry is not None and entry.spec == spec

    def get(
        self, spec: ModelSpec, variant: Variant = "base", on_loading: Callable[[], None] | None = None
    ) -> LoadedModel:
        """The loaded pipeline for `spec`; a spec edited since it was loaded is loaded again."""
        key = (spec.id, variant)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.spec == spec:
                self._entries.move_to_end(key)
                return entry
            if entry is not None:
                self._drop(key)
            if on_loading is not None:
                on_loading()
            entry = self._load(spec, variant)
            self._entries[key] = entry
            self._evict_to_fit(keep=key)
            return entry

    def _load(self, spec: ModelSpec, variant: Variant) -> LoadedModel:
        started = time.perf_counter()
        fam = family(spec.type.family)
        source = spec.inpaint_source if variant == "inpaint" else spec.source
        assert source is not None  # only models with weights of their own are loaded
        pipe = load_pipeline(
            spec.id, source, fam.load_class(variant), dtype=self.dtype, single_file_component=fam.single_file_component
        )
        pipe.to(self.device)
        apply_speed_settings(pipe, self.speed, fam.denoiser(pipe))
        size = module_bytes(pipe)
        log.info(
            "model loaded model_id=%s variant=%s bytes=%d seconds=%.2f",
            spec.id,
            variant,
            size,
            time.perf_counter() - started,
        )
        return LoadedModel(spec=spec, variant=variant, pipe=pipe, size_bytes=size)

    def _evict_to_fit(self, keep: tuple[str, Variant]) -> None:
        while sum(e.size_bytes for e in self._entries.values()) > self.budget_bytes:
            victim = next((k for k in self._entries if k != keep), None)
            if victim is None:
                break
            log.info("model evicted model_id=%s variant=%s", *victim)
            self._drop(victim)

    def _drop(self, key: tuple[str, Variant]) -> None:
        del self._entries[key]
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def loaded(self) -> list[tuple[str, Variant]]:
        with self._lock:
            return list(self._entries)
