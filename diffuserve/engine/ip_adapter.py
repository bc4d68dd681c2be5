"""IP-Adapter guidance: loading adapter weights and image encoders once, one adapter copy per reference image.

diffusers scales per adapter, not per image, so a request with N reference images loads the set's weights N
times and gives each copy its image's scale. Several sets at once (a face for `character` and style images for
`style`) load one after the other, each set's copies with its own encoder. The adapters stay on the denoiser
while the next request uses the same sets and counts; any other request unloads them, so plain requests run on
the untouched denoiser.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from diffusers import DiffusionPipeline
from safetensors import safe_open
from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

from diffuserve.catalog.registry import IpAdapterSet
from diffuserve.engine.families.base import Family
from diffuserve.engine.loading import is_local, split_hub_ref
from diffuserve.errors import ModelLoadError, first_line

log = logging.getLogger(__name__)

StateDict = dict[str, dict[str, torch.Tensor]]


def _local_file(ref: str, what: str) -> Path:
    if is_local(ref):
        path = Path(ref).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"{what} {path} does not exist (expected a .safetensors or .bin file)")
        return path
    from huggingface_hub import hf_hub_download

    repo, filename = split_hub_ref(ref)
    try:
        return Path(hf_hub_download(repo, filename))
    except Exception as exc:  # network and hub errors have no common base class
        raise ModelLoadError(f"{what} {ref}: could not download: {first_line(exc)}") from exc


def read_adapter_weights(ref: str, family: Family) -> StateDict:
    """A safetensors file in the family's layout (h94 `image_proj.*` / `ip_adapter.*`, XLabs for FLUX) or a
    torch-saved nested dict (.bin), as diffusers' {image_proj, ip_adapter}."""
    path = _local_file(ref, "IP-Adapter weights")
    try:
        if path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt", device="cpu") as f:
                state = family.convert_ip_adapter({key: f.get_tensor(key) for key in f.keys()})  # noqa: SIM118
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"IP-Adapter weights {path}: cannot be read: {exc}") from exc
    if not isinstance(state, dict) or not state.get("image_proj") or not state.get("ip_adapter"):
        raise ModelLoadError(
            f"IP-Adapter weights {path}: expected `image_proj.*` and `ip_adapter.*` tensors (the h94/IP-Adapter "
            f"layout; for FLUX the XLabs layout `ip_adapter_proj_model.*` and `double_blocks.*`)"
        )
    return state


class IpAdapters:
    """Caches adapter weights and image encoders; puts the right adapters on a pipeline for each request."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device = device
        self.dtype = dtype
        self._weights: dict[str, StateDict] = {}
        self._encoders: dict[str, tuple[Any, CLIPImageProcessor]] = {}
        self._lock = threading.Lock()

    def _encoder(self, ref: str) -> tuple[Any, CLIPImageProcessor]:
        if ref not in self._encoders:
            try:
                if is_local(ref):
                    path = Path(ref).expanduser()
                    if not (path / "config.json").is_file():
                        raise ModelLoadError(
                            f"image encoder {path}: config.json is missing (expected a CLIPVisionModelWithProjection "
                            "folder, e.g. h94/IP-Adapter models/image_encoder)"
                        )
                    encoder = CLIPVisionModelWithProjection.from_pretrained(str(path), dtype=self.dtype)
                else:
                    repo, sub = split_hub_ref(ref)
                    encoder = CLIPVisionModelWithProjection.from_pretrained(repo, subfolder=sub, dtype=self.dtype)
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"image encoder {ref}: could not load: {first_line(exc)}") from exc
            size = int(encoder.config.image_size)
            processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
            self._encoders[ref] = (encoder.to(self.device), processor)
        return self._encoders[ref]

    def _weights_for(self, ref: str, family: Family) -> StateDict:
        if ref not in self._weights:
            self._weights[ref] = read_adapter_weights(ref, family)
        return self._weights[ref]

    def apply(
        self,
        pipe: DiffusionPipeline,
        family: Family,
        state: dict[str, Any],
        uses: Sequence[tuple[IpAdapterSet, tuple[float, ...]]],
    ) -> list[tuple[str, Callable[[], None]]]:
        """Make `pipe` (and its shared denoiser, whose adapter state is `state`) guide with `uses`, each set with
        one adapter copy per scale, or not at all; returns, per copy, its image encoder's reference and a
        function that registers that encoder on `pipe` (for encoding that copy's reference images)."""
        with self._lock:
            wanted = tuple((ip_set.weights, len(scales)) for ip_set, scales in uses) or None
            if state.get("ip") != wanted and state.get("ip") is not None:
                pipe.unload_ip_adapter()
                state["ip"] = None
            if not uses:
                return []
            registrations: list[tuple[str, Callable[[], None]]] = []
            for ip_set, scales in uses:
                encoder, processor = self._encoder(ip_set.image_encoder)

                def register(encoder: Any = encoder, processor: CLIPImageProcessor = processor) -> None:
                    pipe.register_modules(image_encoder=encoder, feature_extractor=processor)

                registrations += [(ip_set.image_encoder, register)] * len(scales)
            registrations[0][1]()  # loading looks for a registered encoder
            if state.get("ip") != wanted:
                weights = [self._weights_for(ip_set.weights, family) for ip_set, scales in uses for _ in scales]
                try:
                    family.load_ip_adapters(pipe, weights)
                except (RuntimeError, ValueError, KeyError) as exc:
                    pipe.unload_ip_adapter()  # a half-loaded adapter must not reach the next request
                    names = ", ".join(dict.fromkeys(ip_set.weights for ip_set, _ in uses))
                    raise ModelLoadError(
                        f"IP-Adapter weights {names} do not fit this model: {first_line(exc)}"
                    ) from exc
                family.denoiser(pipe).to(self.device)
                state["ip"] = wanted
            config = [c for ip_set, scales in uses for c in family.ip_scale_config(pipe, ip_set, scales)]
            pipe.set_ip_adapter_scale(config)
            return registrations
