"""What repeats across requests, encoded once: prompt embeddings and IP-Adapter image embeddings, in LRU caches.

Rows of a batch are encoded one prompt (or reference image) at a time, exactly as a request alone would be, and
concatenated; so image i of a request does not depend on the batch it ran in.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import torch
from diffusers import DiffusionPipeline
from PIL import Image

if TYPE_CHECKING:
    from diffuserve.engine.families.base import Family

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
    if not hasattr(pipe, "prepare_ip_adapter_image_embeds"):
        return  # a pipeline without IP-Adapter support (FLUX Fill)
    original = pipe.prepare_ip_adapter_image_embeds

    def prepare(image: Any, embeds: Any, device: torch.device, *args: Any) -> list[torch.Tensor]:
        if isinstance(embeds, RowEmbeds):
            return [e.to(device) for e in embeds]
        result: list[torch.Tensor] = original(image, embeds, device, *args)
        return result

    pipe.prepare_ip_adapter_image_embeds = prepare


def ip_adapter_embeds(
    pipe: DiffusionPipeline,
    family: Family,
    cache: LruCache[tuple[torch.Tensor, torch.Tensor]],
    encoders: Sequence[tuple[str, Callable[[], None]]],
    references: Sequence[Sequence[Image.Image]],
    *,
    cfg: bool,
) -> dict[str, RowEmbeds]:
    """The call's IP-Adapter arguments for rows whose reference images are `references[row][copy]`.

    Adapter copy k is encoded with `encoders[k]`: (its encoder's reference, a function that registers that
    encoder on `pipe`), so sets with different image encoders work together."""
    layers = family.ip_projection_layers(pipe)
    positives, negatives = RowEmbeds(), RowEmbeds()
    for k, layer in enumerate(layers):
        encoder_ref, register = encoders[k]
        registered = False
        pos_rows, neg_rows = [], []
        for row in references:
            image = row[k].convert("RGB")
            key = (image_digest(image), encoder_ref, type(layer).__name__)
            pair = cache.get(key)
            if pair is None:
                if not registered:
                    register()
                    registered = True
                pair = family.encode_reference(pipe, image, layer)
                cache.put(key, pair)
            pos_rows.append(pair[0])
            neg_rows.append(pair[1])
        positives.append(torch.cat(pos_rows))
        negatives.append(torch.cat(neg_rows))
    return {name: RowEmbeds(value) for name, value in family.ip_kwargs(positives, negatives, cfg=cfg).items()}
