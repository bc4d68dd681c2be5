"""IP-Adapter guidance: loading adapter weights and image encoders once, one adapter copy per reference image.

diffusers scales per adapter, not per image, so a request with N reference images loads the set's weights N
times and gives each copy its image's scale. The adapters stay on the UNet while the next request uses the same
set and count; any other request unloads them, so plain requests run on the untouched UNet.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import torch
from diffusers import DiffusionPipeline
from safetensors import safe_open
from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

from diffuserve.catalog.registry import IpAdapterSet
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


def read_adapter_weights(ref: str) -> StateDict:
    """The h94 layout: `image_proj.*` and `ip_adapter.*` keys (safetensors) or the nested dict (.bin)."""
    path = _local_file(ref, "IP-Adapter weights")
    try:
        if path.suffix == ".safetensors":
            state: StateDict = {"image_proj": {}, "ip_adapter": {}}
            with safe_open(str(path), framework="pt", device="cpu") as f:
                for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                    group, _, rest = key.partition(".")
                    if group in state:
                        state[group][rest] = f.get_tensor(key)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"IP-Adapter weights {path}: cannot be read: {exc}") from exc
    if not isinstance(state, dict) or not state.get("image_proj") or not state.get("ip_adapter"):
        raise ModelLoadError(
            f"IP-Adapter weights {path}: expected `image_proj.*` and `ip_adapter.*` tensors (the h94/IP-Adapter layout)"
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

    def _weights_for(self, ref: str) -> StateDict:
        if ref not in self._weights:
            self._weights[ref] = read_adapter_weights(ref)
        return self._weights[ref]

    def apply(
        self,
        pipe: DiffusionPipeline,
        state: dict[str, Any],
        ip_set: IpAdapterSet | None,
        scales: tuple[float, ...],
    ) -> None:
        """Make `pipe` (and its shared UNet, whose adapter state is `state`) guide with `ip_set`, or not at all."""
        with self._lock:
            wanted = (ip_set.weights, len(scales)) if ip_set is not None else None
            if state.get("ip") != wanted and state.get("ip") is not None:
                pipe.unload_ip_adapter()
                state["ip"] = None
            if ip_set is None:
                return
            encoder, processor = self._encoder(ip_set.image_encoder)
            pipe.register_modules(image_encoder=encoder, feature_extractor=processor)
            if state.get("ip") != wanted:
                weights = self._weights_for(ip_set.weights)
                names = [f"ip_adapter_{i}" for i in range(len(scales))]
                try:
                    pipe.load_ip_adapter(
                        [weights] * len(scales), subfolder=None, weight_name=names, image_encoder_folder=None
                    )
                except (RuntimeError, ValueError, KeyError) as exc:
                    pipe.unload_ip_adapter()  # a half-loaded adapter must not reach the next request
                    raise ModelLoadError(
                        f"IP-Adapter weights {ip_set.weights} do not fit this model: {first_line(exc)}"
                    ) from exc
                pipe.unet.to(self.device)
                state["ip"] = wanted
            pipe.set_ip_adapter_scale(self._scale_config(pipe, ip_set, scales))

    @staticmethod
    def _scale_config(pipe: DiffusionPipeline, ip_set: IpAdapterSet, scales: tuple[float, ...]) -> list[Any]:
        if ip_set.scale_mode == "global":
            return list(scales)
        if ip_set.scale_blocks is not None:
            return [_times(ip_set.scale_blocks, s) for s in scales]
        # InstantStyle: the middle attention layer of the first up block carries style (notes/ip-adapter.md §2.3).
        n_layers = len(pipe.unet.up_blocks[0].attentions)
        middle = n_layers // 2
        return [{"up": {"block_0": [s if i == middle else 0.0 for i in range(n_layers)]}} for s in scales]


def _times(blocks: Any, scale: float) -> Any:
    """A per-block scale dict with every multiplier times `scale`."""
    if isinstance(blocks, dict):
        return {key: _times(value, scale) for key, value in blocks.items()}
    if isinstance(blocks, list):
        return [float(v) * scale for v in blocks]
    return float(blocks) * scale
