"""What repeats across requests, encoded once: prompt embeddings and IP-Adapter image embeddings, in LRU caches.

Rows of a batch are encoded one prompt (or reference image) at a time, exactly as a request alone would be, and
concatenated; so image i of a request does not depend on the batch it ran in.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

import torch
from diffusers import DiffusionPipeline
from diffusers.models.embeddings import ImageProjection
from PIL import Image

log = logging.getLogger(__name__)

V = TypeVar("V")


class LruCache(Generic[V]):
    """A bounded mapping, least recently used evicted first, counting hits and misses."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


PromptTensors = tuple[torch.Tensor | None, ...]


def uses_cfg(pipe: DiffusionPipeline, guidance: float) -> bool:
    """The pipelines' own rule for classifier-free guidance (two UNet rows per image)."""
    return guidance > 1 and pipe.unet.config.time_cond_proj_dim is None


def prompt_kwargs(
    pipe: DiffusionPipeline,
    family: str,
    cache: LruCache[PromptTensors],
    prompts: Sequence[tuple[str, str | None]],
    *,
    cfg: bool,
    adapters: Hashable,
) -> dict[str, Any]:
    """`prompt_embeds` & co. for one row per (prompt, negative prompt); `adapters` names the active LoRAs, which
    may change what the text encoders output."""
    names: tuple[str, ...] = ("prompt_embeds", "negative_prompt_embeds")
    if family == "sdxl":
        names += ("pooled_prompt_embeds", "negative_pooled_prompt_embeds")
    rows: list[PromptTensors] = []
    for prompt, negative in prompts:
        key = (prompt, negative, cfg, adapters)
        tensors = cache.get(key)
        if tensors is None:
            if family == "sdxl":
                tensors = tuple(
                    pipe.encode_prompt(
                        prompt, device=pipe.device, do_classifier_free_guidance=cfg, negative_prompt=negative
                    )
                )
            else:
                tensors = tuple(pipe.encode_prompt(prompt, pipe.device, 1, cfg, negative_prompt=negative))
            cache.put(key, tensors)
        rows.append(tensors)
    kwargs: dict[str, Any] = {}
    for i, name in enumerate(names):
        parts = [row[i] for row in rows]
        if all(p is not None for p in parts):
            kwargs[name] = torch.cat([p for p in parts if p is not None])
    return kwargs


def image_digest(image: Image.Image) -> str:
    """A key for an image's content (mode, size and pixels)."""
    digest = hashlib.sha256(f"{image.mode}{image.size}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class RowEmbeds(list[torch.Tensor]):
    """IP-Adapter image embeddings already laid out one row per image (negatives, then positives)."""


def accept_row_embeds(pipe: DiffusionPipeline) -> None:
    """diffusers repeats given `ip_adapter_image_embeds` batch-size times (one reference for every row); a batch
    carries one row per image, so this request-scoped pipeline takes RowEmbeds as they are."""
    original = pipe.prepare_ip_adapter_image_embeds

    def prepare(image: Any, embeds: Any, device: torch.device, *args: Any) -> list[torch.Tensor]:
        if isinstance(embeds, RowEmbeds):
            return [e.to(device) for e in embeds]
        result: list[torch.Tensor] = original(image, embeds, device, *args)
        return result

    pipe.prepare_ip_adapter_image_embeds = prepare


def ip_adapter_embeds(
    pipe: DiffusionPipeline,
    cache: LruCache[tuple[torch.Tensor, torch.Tensor]],
    encoder_ref: str,
    references: Sequence[Sequence[Image.Image]],
    *,
    cfg: bool,
) -> RowEmbeds:
    """`ip_adapter_image_embeds` for rows whose reference images are `references[row][adapter]`: per adapter,
    the negative rows then the positive rows (with CFG), as the pipelines expect."""
    layers = pipe.unet.encoder_hid_proj.image_projection_layers
    out = RowEmbeds()
    for k, layer in enumerate(layers):
        hidden = not isinstance(layer, ImageProjection)
        positives, negatives = [], []
        for row in references:
            image = row[k].convert("RGB")
            key = (image_digest(image), encoder_ref, hidden)
            pair = cache.get(key)
            if pair is None:
                pair = pipe.encode_image(image, pipe.device, 1, hidden)
                cache.put(key, pair)
            positives.append(pair[0][None])
            negatives.append(pair[1][None])
        out.append(torch.cat(negatives + positives) if cfg else torch.cat(positives))
    return out
