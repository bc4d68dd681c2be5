"""LoRA concepts: each LoRA (epoch) loaded once per denoiser as a named adapter, active only for the request that
asks."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

import torch
from diffusers import DiffusionPipeline
from safetensors.torch import load_file

from diffuserve.catalog.registry import ModelSpec
from diffuserve.engine.families.base import Family
from diffuserve.engine.loading import is_local, split_hub_ref
from diffuserve.errors import ModelLoadError, first_line

log = logging.getLogger(__name__)


def adapter_name(model_id: str, epoch: str | None = None) -> str:
    name = "lora_" + re.sub(r"[^A-Za-z0-9_]", "_", model_id)
    return name if epoch is None else f"{name}__{re.sub(r'[^A-Za-z0-9_]', '_', epoch)}"


def lora_ref(model: ModelSpec, epoch: str | None) -> str:
    """The weights of a LoRA: the epoch's file, the last epoch's, or the model's source."""
    if model.epochs:
        return model.epochs[epoch or model.epoch_names[-1]]
    if model.source is None:
        raise ModelLoadError(f"LoRA {model.id!r} has no weights (no source and no epochs)")
    return model.source.path


def _read_lora(model: ModelSpec, epoch: str | None = None) -> dict[str, torch.Tensor]:
    ref = lora_ref(model, epoch)
    if is_local(ref):
        path = Path(ref).expanduser()
        if path.is_dir():
            path = path / "pytorch_lora_weights.safetensors"
        if not path.is_file():
            raise ModelLoadError(f"LoRA {model.id!r}: file {path} does not exist (expected a .safetensors LoRA file)")
    else:
        from huggingface_hub import hf_hub_download

        repo, filename = split_hub_ref(ref)
        try:
            path = Path(hf_hub_download(repo, filename or "pytorch_lora_weights.safetensors"))
        except Exception as exc:  # network and hub errors have no common base class
            raise ModelLoadError(f"LoRA {model.id!r}: could not download {ref}: {exc}") from exc
    try:
        state: dict[str, torch.Tensor] = load_file(str(path))
        return state
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"LoRA {model.id!r}: {path} is not a readable safetensors file: {exc}") from exc


class Loras:
    """Loads LoRAs into pipelines on first use and switches them on and off per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def apply(
        self,
        pipe: DiffusionPipeline,
        family: Family,
        state: dict[str, Any],
        loras: list[tuple[ModelSpec, float, str | None]],
    ) -> None:
        """Activate exactly `loras` (model, scale, epoch) on `pipe`; `state` tracks what this denoiser has loaded."""
        with self._lock:
            denoiser = family.denoiser(pipe)
            if loras and getattr(denoiser, "original_attn_processors", None) is not None:
                # Fused q/k/v projections (the fuse_qkv speed switch) bypass the to_q/to_k/to_v layers that a
                # LoRA patches: unfuse this denoiser for good, or part of every LoRA would be silently ignored.
                log.warning("LoRA requested on a %s with fused QKV projections: unfusing it", family.denoiser_name)
                denoiser.unfuse_qkv_projections()
            loaded: set[str] = state.setdefault("loras", set())
            for model, _, epoch in loras:
                name = adapter_name(model.id, epoch)
                if name in loaded:
                    continue
                try:
                    pipe.load_lora_weights(_read_lora(model, epoch), adapter_name=name)
                except (ValueError, KeyError, RuntimeError) as exc:
                    if name in family.lora_adapter_names(pipe):
                        pipe.delete_adapters(name)  # a half-loaded LoRA must not reach the next request
                    raise ModelLoadError(f"LoRA {model.id!r} does not fit this model: {first_line(exc)}") from exc
                loaded.add(name)
            if loras:
                pipe.enable_lora()
                pipe.set_adapters([adapter_name(m.id, e) for m, _, e in loras], [scale for _, scale, _ in loras])
            elif loaded:
                pipe.disable_lora()

    def deactivate(self, pipe: DiffusionPipeline, state: dict[str, Any]) -> None:
        """After a request: switch every LoRA off so the next request sees the base weights."""
        with self._lock:
            if state.get("loras"):
                pipe.disable_lora()
