"""Choosing the torch device and dtype: CUDA, then MPS, then CPU; half precision on accelerators."""

from __future__ import annotations

import torch

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(name: str = "auto") -> torch.device:
    """`auto` picks the best available device; anything else is passed to torch as is."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """`auto` is float16 on an accelerator and float32 on the CPU (half precision is slow or unsupported there)."""
    if name != "auto":
        return _DTYPES[name]
    return torch.float32 if device.type == "cpu" else torch.float16
